#!/usr/bin/env bash
# scale.sh - N clients in one process, ferry beside Paho C MQTTAsync and
# libmosquitto: threads, RSS per client, time to connect all.
#
#   bench/scale.sh PATH/scale_ferry [COUNT...]      (default counts: 1000 10000)
#
# scale_paho and scale_mosquitto are expected next to scale_ferry. A private
# mosquitto is started on 127.0.0.1 (a free port, generated config with
# max_connections -1), `ulimit -n` is raised as far as allowed (1048576, else
# the hard limit; the script stops if that is below COUNT + 200), every
# program runs once per COUNT with --keepalive 5 --hold 10, and a table with
# ferry's ratios to each peer is printed. libmosquitto runs twice: its
# threaded API (one thread per client; its select() stops near 340 clients)
# and one thread of ours driving all clients (lib=libmosquitto-1thr). A
# program that needs more descriptors than allowed (libmosquitto: 3 per
# client) is skipped with the reason. The broker is stopped by its PID.
# Raw SCALE lines go to $SCALE_OUT (default: scale-results.txt next to
# scale_ferry). Needs the Debian package mosquitto.
set -euo pipefail

die() {
	echo "scale: $*" >&2
	exit 2
}

[ $# -ge 1 ] || die "usage: $0 PATH/scale_ferry [COUNT...]"
bin=$(cd "$(dirname "$1")" && pwd)
ferry=$bin/$(basename "$1")
shift
counts=${*:-1000 10000}
keepalive=5
hold=10
raw=${SCALE_OUT:-$bin/scale-results.txt}
for p in "$ferry" "$bin/scale_paho" "$bin/scale_mosquitto"; do
	[ -x "$p" ] || die "not built: $p"
done
mosq=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$mosq" ] || die "mosquitto not found (apt-get install mosquitto)"

# ---- descriptors --------------------------------------------------------------
max=0
for n in $counts; do
	case $n in '' | *[!0-9]*) die "not a count: $n" ;; esac
	[ "$n" -gt "$max" ] && max=$n
done
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
[ "$nofile" = unlimited ] && nofile=1048576
if [ "$nofile" -lt $((max + 200)) ]; then
	die "ulimit -n is $nofile (hard limit $(ulimit -Hn)); $max clients need at least $((max + 200)).
Run as root or raise the hard limit (limits.conf, systemd LimitNOFILE, docker --ulimit nofile=...)."
fi
echo "# ulimit -n $nofile (hard $(ulimit -Hn))"

# ---- broker -------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-scale.XXXXXX")
broker_pid=""
stop_broker() {
	if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
		kill "$broker_pid"
		wait "$broker_pid" 2>/dev/null || true
	fi
	broker_pid=""
}
cleanup() {
	stop_broker
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_broker() {
	local attempt i
	for attempt in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 40000))
		if port_open "$port"; then continue; fi
		cat >"$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_connections -1
max_inflight_messages 0
max_queued_messages 0
log_dest stderr
log_type error
log_type warning
CONF
		"$mosq" -c "$work/mosquitto.conf" 2>>"$work/broker.log" &
		broker_pid=$!
		for i in $(seq 50); do
			if port_open "$port"; then return 0; fi
			kill -0 "$broker_pid" 2>/dev/null || break
			sleep 0.1
		done
		stop_broker
	done
	cat "$work/broker.log" >&2
	die "could not start mosquitto"
}

start_broker
echo "# broker: $mosq pid $broker_pid on 127.0.0.1:$port"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cpus, $(uname -sr)" | tee "$raw"

# ---- runs ---------------------------------------------------------------------
# run LIB FDS_PER_CLIENT N PROGRAM [ARGS...]: one SCALE line (or a FAIL/SKIP line) to $raw.
run() {
	local lib=$1 per=$2 n=$3 line rc
	shift 3
	if [ $((per * n + 100)) -gt "$nofile" ]; then
		line="SKIP lib=$lib clients=$n reason=needs_${per}_fds_per_client_ulimit_n_$nofile"
	else
		rc=0
		line=$("$@" --host 127.0.0.1 --port "$port" --clients "$n" --keepalive $keepalive \
			--hold $hold 2>>"$work/$lib-$n.err" | grep '^SCALE ') || rc=$?
		[ -n "$line" ] || line="FAIL lib=$lib clients=$n"
		if [ "$rc" -ne 0 ]; then
			line="$line exit=fail"
			why=$(grep -v '^# connection lost' "$work/$lib-$n.err" | sort | uniq -c | sort -rn | head -3 | tr '\n' ';' || true)
			[ -z "$why" ] || echo "# $lib $n: $why"
		fi
	fi
	echo "$line" | tee -a "$raw"
	sleep 2 # let the broker close the previous run's sessions
}

for n in $counts; do
	run ferry 1 "$n" "$ferry"
	run paho 1 "$n" "$bin/scale_paho"
	run libmosquitto 3 "$n" "$bin/scale_mosquitto" --loop threads --timeout 20
	run libmosquitto-1thr 3 "$n" "$bin/scale_mosquitto" --loop single
done
stop_broker

# ---- table --------------------------------------------------------------------
echo
awk '
function f(k) { return (k in kv) ? kv[k] : "-" }
function ratio(a, b) { return (a == "" || b == "" || b + 0 <= 0 || a + 0 < 0) ? "-" : sprintf("%.2f", a / b) }
/^(SCALE|FAIL|SKIP) / {
	delete kv
	for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
	n = kv["clients"]; lib = kv["lib"]
	if (!(n in seen)) { seen[n] = 1; ns[++nn] = n }
	ok = $1 == "SCALE" && !/exit=fail/
	st[n, lib] = $1 == "SKIP" ? "skipped (" kv["reason"] ")" : ok ? "ok" : "FAIL"
	conn[n, lib] = f("connected") "/" f("subscribed") "/" f("still_connected")
	thr[n, lib] = f("threads"); rss[n, lib] = f("rss_kb"); per[n, lib] = ok ? kv["rss_kb_per_client"] : ""
	cs[n, lib] = ok ? kv["connect_all_s"] : ""
	libs[lib] = 1; order[++no] = lib
}
END {
	print "| clients | library | result | connected/subscribed/still | threads | RSS kB | kB per client | connect all, s | ferry/peer kB per client | ferry/peer connect time |"
	print "|---:|---|---|---|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nn; i++) {
		n = ns[i]; delete done
		for (j = 1; j <= no; j++) {
			lib = order[j]
			if (!((n, lib) in st) || (lib in done)) continue
			done[lib] = 1
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n, lib, st[n, lib], conn[n, lib],
			    thr[n, lib], rss[n, lib], per[n, lib] == "" ? "-" : per[n, lib], cs[n, lib] == "" ? "-" : cs[n, lib],
			    lib == "ferry" ? "" : ratio(per[n, "ferry"], per[n, lib]),
			    lib == "ferry" ? "" : ratio(cs[n, "ferry"], cs[n, lib])
		}
	}
}' "$raw"
echo
echo "# raw: $raw"
