#!/bin/bash
# run-fuzz.sh BUILDDIR SRCDIR SECONDS RUNS TARGET... - run libFuzzer targets for
# a bounded time or number of executions each, with the seed corpus, and print
# how many inputs each executed. Exits non-zero when a target finds a crash.
set -euo pipefail
bld=$1 src=$2 secs=$3 runs=$4
shift 4
for t in "$@"; do
	work="$bld/fuzz-work/$t"
	mkdir -p "$work"
	echo "== fuzz_$t: max ${secs}s, runs ${runs}"
	rc=0
	"$bld/test/fuzz/fuzz_$t" -max_total_time="$secs" -runs="$runs" -print_final_stats=1 \
		-artifact_prefix="$work/" "$work" "$src/test/fuzz/corpus/$t" >"$work/log" 2>&1 || rc=$?
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|Done [0-9]+ runs' "$work/log" || true
	if [ "$rc" != 0 ]; then
		tail -n 40 "$work/log"
		echo "fuzz_$t FAILED (exit $rc)"
		exit 1
	fi
done
