#!/bin/sh
# check-symbols.sh - the shared library exports only ferry_* symbols (and no
# internal ferry__ ones), and it exports the public API it promises.
set -u
bld=${top_builddir:-.}
so=$(ls "$bld"/src/.libs/libferry.so.* 2>/dev/null | head -n 1)
if [ -z "$so" ]; then
	echo "check-symbols: SKIP, no shared library built"
	exit 77
fi
syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u)
bad=$(printf '%s\n' "$syms" | grep -v '^ferry_[a-z0-9]' | grep -v '^$' || true)
if [ -n "$bad" ]; then
	echo "check-symbols: FAILED, exported symbols outside the ferry_ namespace:"
	printf '  %s\n' $bad
	exit 1
fi
for want in ferry_strerror ferry_errname ferry_version; do
	printf '%s\n' "$syms" | grep -qx "$want" || { echo "check-symbols: FAILED, $want not exported"; exit 1; }
done
echo "check-symbols: $(printf '%s\n' "$syms" | wc -l) symbols, all ferry_*"
