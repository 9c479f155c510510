#!/usr/bin/env bash
# run.sh - `make bench`: ferry beside Eclipse Paho C (MQTTAsync) and
# libmosquitto, on the same private mosquitto broker, in the same run.
#
#   bench/run.sh FERRY_BENCH [run-peers.sh options...]   run, then report
#   bench/run.sh --report RAWFILE                        report a saved run
#
# The harness (its peers, broker script and tables) is not part of ferry: it
# is found at $FERRY_BENCH_HARNESS, else at ../shared/bench beside the
# repository. It is copied to a scratch directory beside FERRY_BENCH (the
# original may be read-only: the harness builds its peers into bin/) and its
# run-peers.sh runs the matrix with `--extra FERRY_BENCH` and the options
# given (default: --reps 3). Afterwards this script prints ferry's ratios to
# the best peer per cell, writes the raw results with every table to
# $FERRY_BENCH_OUT/bench-results.txt and a chart of msgs/s at 64 bytes to
# $FERRY_BENCH_OUT/bench.png (gnuplot; skipped if absent). FERRY_BENCH_OUT
# defaults to doc/ of the source tree. It installs nothing; see
# bench/README.md for the Debian packages it needs.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out_dir=${FERRY_BENCH_OUT:-$top/doc}

die() {
	echo "bench: $*" >&2
	exit 2
}

usage() {
	sed -n '2,18s/^# \{0,1\}//p' "$0"
}

# ---- the ratio table -----------------------------------------------------------
#
# From RESULT lines: per cell (qos, size, persisted or not) the median of each
# library over the repetitions, then ferry / each peer and ferry / the best
# peer (highest msgs/s; lowest CPU per message and latency). Ratios above 1
# mean ferry is faster for msgs/s, slower for CPU and latency.
ratio_table() {
	awk -v me=ferry '
function med(list,   a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function ratio(x, y) { return (x == "" || y == "" || y + 0 == 0) ? "-" : sprintf("%.2f", x / y) }
function fmt(v, f) { return v == "" ? "-" : sprintf(f, v) }
/^RESULT / {
	delete kv
	for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
	lib = kv["lib"]
	if (lib != me && !(lib in peer)) { peer[lib] = 1; peers[++np] = lib }
	pers = kv["persist"] == "none" ? "none" : "durable"
	if (kv["mode"] == "latency") {
		k = "L" SUBSEP kv["qos"] SUBSEP pers
		add(k, lib, "p50", kv["p50_us"]); add(k, lib, "p99", kv["p99_us"])
	} else {
		k = "T" SUBSEP kv["qos"] SUBSEP sprintf("%06d", kv["size"]) SUBSEP pers
		add(k, lib, "rate", kv["msgs_per_s"]); add(k, lib, "cpu", kv["cpu_us_per_msg"])
	}
}
function add(k, lib, f, v) {
	if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
	vals[k, lib, f] = vals[k, lib, f] " " v
}
function m(k, lib, f) { return (k, lib, f) in vals ? med(vals[k, lib, f]) : "" }
# best of the peers: highest (hi=1) or lowest value
function best(k, f, hi,   i, v, b) {
	b = ""
	for (i = 1; i <= np; i++) {
		v = m(k, peers[i], f)
		if (v != "" && (b == "" || (hi ? v + 0 > b + 0 : v + 0 < b + 0))) b = v
	}
	return b
}
function header(title, unit,   i, s) {
	s = sprintf("%-3s %5s %-7s %10s", "qos", "size", "persist", me)
	for (i = 1; i <= np; i++) s = s sprintf(" %12s", peers[i])
	s = s sprintf(" | %6s", "x best")
	for (i = 1; i <= np; i++) s = s sprintf(" %8s", "x " substr(peers[i], 1, 6))
	printf "\n%s (%s; ratios = %s / peer)\n%s\n", title, unit, me, s
}
function row(k, f, hi, label, vf,   i, s, v) {
	s = label sprintf(" %10s", fmt(m(k, me, f), vf))
	for (i = 1; i <= np; i++) s = s sprintf(" %12s", fmt(m(k, peers[i], f), vf))
	s = s sprintf(" | %6s", ratio(m(k, me, f), best(k, f, hi)))
	for (i = 1; i <= np; i++) s = s sprintf(" %8s", ratio(m(k, me, f), m(k, peers[i], f)))
	print s
}
function rows(kind, f, hi, vf,   i, kk, lab) {
	n = 0
	for (i = 1; i <= nk; i++) {
		split(keys[i], kk, SUBSEP)
		if (kk[1] != kind || !((keys[i], me, f) in vals)) continue
		if (kind == "T") lab = sprintf("%-3s %5d %-7s", kk[2], kk[3] + 0, kk[4])
		else lab = sprintf("%-3s %5s %-7s", kk[2], 64, kk[3])
		line[++n] = lab SUBSEP keys[i]
	}
	for (i = 2; i <= n; i++) { t = line[i]; for (j = i - 1; j >= 1 && line[j] > t; j--) line[j + 1] = line[j]; line[j + 1] = t }
	for (i = 1; i <= n; i++) { split(line[i], kk, SUBSEP); row(substr(line[i], length(kk[1]) + 2), f, hi, kk[1], vf) }
	return n
}
END {
	if (!nk) { print "no RESULT lines"; exit 1 }
	header("THROUGHPUT msgs/s, medians", "higher is better")
	if (!rows("T", "rate", 1, "%.0f")) print "(no ferry results)"
	header("CPU us per message, whole process, medians", "lower is better")
	rows("T", "cpu", 0, "%.2f")
	header("LATENCY p50 us, publish -> delivery, medians", "lower is better")
	if (!rows("L", "p50", 0, "%.1f")) print "(no latency results)"
	header("LATENCY p99 us, medians", "lower is better")
	rows("L", "p99", 0, "%.1f")
}' "$1"
}

# ---- the chart ------------------------------------------------------------------

# chart RAWFILE PNG: median msgs/s per library per QoS at 64 bytes, no persistence.
chart() {
	local raw=$1 png=$2 dat
	if ! command -v gnuplot >/dev/null; then
		echo "# gnuplot not found (Debian: gnuplot-nox): no chart written"
		return 0
	fi
	dat=$(mktemp "${TMPDIR:-/tmp}/ferry-chart.XXXXXX")
	awk '
function med(list,   a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^RESULT / && !/mode=latency/ && / persist=none / && / size=64 / {
	delete kv
	for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
	if (!(kv["lib"] in isl)) { isl[kv["lib"]] = 1; libs[++nl] = kv["lib"] }
	v[kv["qos"], kv["lib"]] = v[kv["qos"], kv["lib"]] " " kv["msgs_per_s"]
}
END {
	printf "qos"; for (i = 1; i <= nl; i++) printf " %s", libs[i]; print ""
	for (q = 0; q <= 2; q++) {
		printf "%d", q
		for (i = 1; i <= nl; i++) printf " %s", ((q, libs[i]) in v) ? med(v[q, libs[i]]) : "NaN"
		print ""
	}
}' "$raw" >"$dat"
	if [ "$(head -1 "$dat" | wc -w)" -lt 2 ]; then
		echo "# no 64-byte throughput results: no chart written"
		rm -f "$dat"
		return 0
	fi
	gnuplot <<EOF
set terminal pngcairo size 800,480 font "sans,10"
set output "$png"
set title "MQTT clients against one local mosquitto: msgs/s at 64 bytes (median; higher is better)\n{/*0.8 $(date -u +%Y-%m-%d), $(nproc) cpus, no client persistence}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top right
set ylabel "messages per second"
set yrange [0:*]
set grid ytics
set datafile missing "NaN"
plot for [i=2:$(head -1 "$dat" | wc -w)] "$dat" using i:xtic("QoS " . strcol(1)) title columnheader(i) noenhanced
EOF
	rm -f "$dat"
	echo "# chart: $png"
}

# report RAWFILE: ratio table on stdout; raw lines, tables and ratios to the results file.
report() {
	local raw=$1 harness=${2:-} res="$out_dir/bench-results.txt"
	mkdir -p "$out_dir"
	ratio_table "$raw"
	{
		echo "# ferry benchmark beside Paho C MQTTAsync and libmosquitto (bench/run.sh)"
		echo "# date: $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "# machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr)"
		echo "# ferry: $(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)"
		echo "# loadavg when reported: $(cut -d' ' -f1-3 /proc/loadavg) (other load on the machine skews every library)"
		echo
		if [ -n "$harness" ] && [ -x "$harness/tools/table.sh" ]; then
			"$harness/tools/table.sh" "$raw"
		fi
		ratio_table "$raw"
		echo
		echo "RAW RESULTS"
		cat "$raw"
	} >"$res"
	echo "# results: $res"
	chart "$raw" "$out_dir/bench.png"
}

# ---- finding and running the harness -------------------------------------------

find_harness() {
	local h=${FERRY_BENCH_HARNESS:-$top/../shared/bench}
	if [ ! -x "$h/run-peers.sh" ]; then
		die "benchmark harness not found at $h (expected run-peers.sh there).
Set FERRY_BENCH_HARNESS to the directory of the shared bench harness (run-peers.sh, peers/, tools/)."
	fi
	(cd "$h" && pwd)
}

# What the harness needs to build the peers and start a broker.
check_prereqs() {
	local missing=""
	command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing="$missing mosquitto"
	[ -f /usr/include/MQTTAsync.h ] || missing="$missing libpaho-mqtt-dev"
	[ -f /usr/include/mosquitto.h ] || missing="$missing libmosquitto-dev"
	command -v cc >/dev/null || missing="$missing build-essential"
	if [ -n "$missing" ]; then
		die "missing Debian packages:$missing (install them: apt-get install$missing)"
	fi
}

main() {
	if [ "${1:-}" = "--report" ]; then
		if [ $# -ne 2 ] || [ ! -f "$2" ]; then die "usage: $0 --report RAWFILE"; fi
		report "$2" "$(find_harness 2>/dev/null || true)"
		return
	fi
	if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
		usage
		return 0
	fi
	local bench harness work raw arg prev=""
	bench=$(realpath "$1")
	shift
	[ -x "$bench" ] || die "not executable: $bench"
	[ $# -gt 0 ] || set -- --reps 3
	harness=$(find_harness)
	check_prereqs
	# A writable copy: the harness builds bin/ and writes results/ beside itself.
	work="$(dirname "$bench")/harness"
	mkdir -p "$work"
	cp -Rp "$harness/." "$work/"
	chmod -R u+w "$work"
	raw=""
	for arg in "$@"; do
		if [ "$prev" = "--out" ]; then raw=$arg; fi
		prev=$arg
	done
	if [ -z "$raw" ]; then
		raw="$work/results/ferry-$(date +%Y%m%d-%H%M%S).txt"
		set -- "$@" --out "$raw"
	fi
	echo "# harness: $harness (run from $work)"
	"$work/run-peers.sh" --extra "$bench" "$@"
	echo
	report "$raw" "$work"
}

main "$@"
