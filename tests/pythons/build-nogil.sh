#!/bin/sh
# Builds (once) nogil, Sam Gross's free-threaded CPython 3.9.10 that the
# seed articles benchmark, from ../shared/pythons/nogil-3.9.10.tar.xz (or
# $NOGIL_TARBALL) into a cache directory outside the clone.  About 8
# minutes on 2 CPUs the first time, nothing after.
#
#   tests/pythons/build-nogil.sh [DIR]   default: $GILSCOPE_CACHE/nogil
#
# Prints the interpreter's path on success.
set -e
here=$(cd "$(dirname "$0")" && pwd)
cache=${GILSCOPE_CACHE:-/var/cache/gilscope}
prefix=${1:-$cache/nogil}
tarball=${NOGIL_TARBALL:-}
if [ -z "$tarball" ]; then
	for t in "$here/../../../shared/pythons/nogil-3.9.10.tar.xz" \
		 "$here/../../../../shared/pythons/nogil-3.9.10.tar.xz"; do
		[ -f "$t" ] && tarball=$t && break
	done
fi

if [ -x "$prefix/bin/python3.9" ] && [ -e "$prefix/.gilscope-complete" ]; then
	echo "$prefix/bin/python3.9"
	exit 0
fi
[ -n "$tarball" ] && [ -f "$tarball" ] || {
	echo "build-nogil: no nogil-3.9.10.tar.xz (set NOGIL_TARBALL)" >&2
	exit 1
}
for p in zlib1g-dev libffi-dev make gcc xz-utils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		need="$need $p"
done
if [ -n "$need" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "build-nogil: missing packages:$need" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq $need >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/nogil-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xJf "$tarball" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1)
log="$work/build.log"
rm -rf "$prefix"
mkdir -p "$prefix"
( cd "$src" && ./configure --prefix="$prefix" --without-ensurepip &&
  make -j"$(nproc)" && make install ) >"$log" 2>&1 || {
	tail -n 30 "$log" >&2
	rm -rf "$prefix"
	echo "build-nogil: the build failed (last lines above)" >&2
	exit 1
}
"$prefix/bin/python3.9" -c 'import sys; assert sys.flags.nogil' || {
	rm -rf "$prefix"
	echo "build-nogil: the built python is not nogil (sys.flags.nogil is False)" >&2
	exit 1
}
touch "$prefix/.gilscope-complete"
echo "$prefix/bin/python3.9"
