#!/bin/sh
# check-purity.sh [FILE...] - the pure modules (codec, topics, session logic)
# must not touch sockets, threads, SQLite, OpenSSL, the transport or the clock.
# With no arguments it checks the pure modules of src/; exits 1 naming each
# offending line. test/check-purity.sh is also run on a doctored copy by
# itself (--self-test) to prove that it can fail.
set -u
src=${top_srcdir:-$(dirname "$0")/..}/src

# The pure modules. Add session.c, keepalive.c, backoff.c here as they land.
PURE="cursor utf8 props props_api reason decode encode frame topic topic_index dump session keepalive uri backoff base64 tunnel"

# Forbidden: headers for threads, sockets, SQLite, OpenSSL, the transport,
# and clock reads.
FORBIDDEN='#[[:space:]]*include[[:space:]]*[<"](pthread\.h|sqlite3\.h|openssl/[^>"]*|transport\.h|sys/socket\.h|netinet/[^>"]*|arpa/[^>"]*|netdb\.h|sys/epoll\.h|sys/eventfd\.h|unistd\.h|time\.h|sys/time\.h)[>"]|clock_gettime|gettimeofday|[^_a-z]time[[:space:]]*\('

check() {
	bad=0
	for f in "$@"; do
		[ -f "$f" ] || { echo "check-purity: missing $f"; bad=1; continue; }
		if grep -nE "$FORBIDDEN" "$f" | sed "s|^|$f:|" | grep .; then
			bad=1
		fi
	done
	return $bad
}

if [ "${1:-}" = "--self-test" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	printf '#include <pthread.h>\nint x;\n' >"$tmp/codec.c"
	printf '#include "sqlite3.h"\n' >"$tmp/props.c"
	printf 'static long t(void) { return (long)time(NULL); }\n' >"$tmp/keepalive.c"
	printf '#include <stdint.h>\nint ok;\n' >"$tmp/clean.c"
	for f in codec props keepalive; do
		if check "$tmp/$f.c" >/dev/null; then
			echo "check-purity self-test: $f.c with a forbidden include passed"
			exit 1
		fi
	done
	check "$tmp/clean.c" || { echo "check-purity self-test: clean file failed"; exit 1; }
	echo "check-purity self-test: ok"
	exit 0
fi

if [ $# -gt 0 ]; then
	check "$@"
	exit $?
fi

"$0" --self-test || exit 1
files=""
for m in $PURE; do
	files="$files $src/$m.c"
	[ -f "$src/$m.h" ] && files="$files $src/$m.h"
done
[ -f "$src/codec.h" ] && files="$files $src/codec.h $src/codec_rules.h $src/cursor.h"
if check $files; then
	echo "check-purity: $(echo $PURE | wc -w) pure modules clean"
else
	echo "check-purity: FAILED, a pure module includes a forbidden header or reads the clock"
	exit 1
fi
