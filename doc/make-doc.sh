#!/bin/sh
# make-doc.sh - build the HTML API reference of ferry with Doxygen.
#
# Usage: make-doc.sh SRCDIR OUTDIR       (what `make doc` runs)
#        make-doc.sh [--filter] FILE     (Doxygen's filter for the headers, see below)
#
# Reads the public headers SRCDIR/include/ferry/{ferry,error,store}.h, the
# generated ferry/version.h (from the build tree OUTDIR/../../include when
# OUTDIR is BUILDDIR/doc/api, as `make doc` passes it; otherwise made here
# from version.h.in and configure.ac) and the guides of doc/ listed in
# doc/Doxyfile, and writes OUTDIR/html/index.html. Doxygen's warnings go to
# OUTDIR/doxygen-warnings.log; they are printed and make this script exit 1,
# so `make doc` fails on any warning.
#
# The headers are plain C: their comments start with "/*", not "/**", and
# Doxygen reads only the latter. The filter mode (one argument, or --filter
# FILE; Doxygen splits filter commands at spaces, hence both) prints FILE
# with its comments marked for Doxygen, keeping every line where it was:
#  - the first comment of the file describes the file (@file);
#  - a comment, or a run of comments, on lines of its own directly followed
#    by a declaration (no blank line between) documents that declaration;
#  - a comment after code on the same line documents that member ("/**<");
#  - every other comment (section rulers, notes followed by a blank line)
#    stays an ordinary comment.
set -u

if [ "${1-}" = "--filter" ] && [ $# -eq 2 ]; then
	shift
fi
if [ $# -eq 1 ]; then
	exec awk '
	{ line[NR] = $0 }
	function standalone(s) { return s ~ /^[ \t]*\/\*/ }
	function ends(s) { return index(s, "*/") > 0 }
	function blank(s) { return s ~ /^[ \t]*$/ }
	# the line after the comment that starts at line i
	function after(i) { while (i <= NR && !ends(line[i])) i++; return i + 1 }
	END {
		first = 1
		i = 1
		while (i <= NR) {
			s = line[i]
			if (standalone(s)) {
				# a run of comments on lines of their own
				start = i; j = i
				while (j <= NR && standalone(line[j])) j = after(j)
				next_code = (j <= NR) ? line[j] : ""
				doc = !blank(next_code) && next_code !~ /^[ \t]*(#[ \t]*(if|ifdef|ifndef|endif|include)|})/
				if (first) {
					sub(/\/\*/, "/** @file", line[start]); doc = 0
				}
				first = 0
				for (k = start; k < j; k = after(k))
					if (doc) sub(/\/\*/, "/**", line[k])
				i = j
				continue
			}
			p = index(s, "/*")
			if (p > 0 && !blank(substr(s, 1, p - 1))) {
				# a comment after code: documents the member before it
				line[i] = substr(s, 1, p - 1) "/**<" substr(s, p + 2)
				first = 0
				i = after(i)
				continue
			}
			if (!blank(s)) first = 0
			i++
		}
		for (i = 1; i <= NR; i++) print line[i]
	}' "$1"
fi

if [ $# -ne 2 ]; then
	echo "usage: $0 SRCDIR OUTDIR   (or: $0 [--filter] HEADER)" >&2
	exit 2
fi
src=$(cd "$1" && pwd) || exit 2
out=$2
doxygen=${DOXYGEN:-doxygen}
if ! command -v "$doxygen" >/dev/null 2>&1; then
	echo "make-doc.sh: doxygen not found (Debian: apt-get install doxygen)" >&2
	exit 1
fi
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd) || exit 1

# ferry/version.h: the one configure made, else one made from version.h.in
# with the numbers in configure.ac (the same substitution configure does).
vdir=${out%/doc/api}/include
if [ "$vdir" = "$out/include" ] || [ ! -f "$vdir/ferry/version.h" ]; then
	vdir=$out/version-include
	mkdir -p "$vdir/ferry" || exit 1
	ac=$src/configure.ac
	val() { sed -n "s/^AC_SUBST(\[$1\], *\[\([0-9]*\)\])$/\1/p" "$ac"; }
	ver=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$ac")
	sed -e "s/@FERRY_VERSION_MAJOR@/$(val FERRY_VERSION_MAJOR)/" \
	    -e "s/@FERRY_VERSION_MINOR@/$(val FERRY_VERSION_MINOR)/" \
	    -e "s/@FERRY_VERSION_PATCH@/$(val FERRY_VERSION_PATCH)/" \
	    -e "s/@PACKAGE_VERSION@/$ver/" \
	    "$src/include/ferry/version.h.in" >"$vdir/ferry/version.h" || exit 1
fi
version=$(sed -n 's/^#define FERRY_VERSION_STRING "\(.*\)"$/\1/p' "$vdir/ferry/version.h")

log=$out/doxygen-warnings.log
rm -rf "$out/html"
FERRY_SRC=$src FERRY_OUT=$out FERRY_VERSION_INCLUDE=$vdir FERRY_VERSION=$version \
FERRY_WARN_LOG=$log FERRY_FILTER=$src/doc/make-doc.sh \
	"$doxygen" "$src/doc/Doxyfile" >"$out/doxygen.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	cat "$out/doxygen.log" >&2
	echo "make-doc.sh: doxygen failed (exit $rc)" >&2
	exit 1
fi
# Configuration problems are reported on Doxygen's own output, not in the log.
grep -i 'warning:\|error:' "$out/doxygen.log" >>"$log"
if [ -s "$log" ]; then
	cat "$log" >&2
	echo "make-doc.sh: $(grep -ci 'warning:\|error:' "$log") Doxygen warning(s), see $log" >&2
	exit 1
fi
echo "API reference: $out/html/index.html"
