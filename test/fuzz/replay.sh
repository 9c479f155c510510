#!/bin/sh
# replay.sh - make check: run each fuzz target's seed corpus through its replay build.
set -e
src=${top_srcdir:-.}
bld=${top_builddir:-.}
for t in decode props utf8 topic ws tunnel client; do
	echo "replay $t: $src/test/fuzz/corpus/$t"
	"$bld/test/fuzz/replay_$t" "$src/test/fuzz/corpus/$t"
done
