#!/bin/sh
# Installs what gilscope needs to build and test on Debian/Ubuntu, when it
# is missing.  A no-op when everything is there; needs root otherwise.
set -e
need=""
want=""
# debootstrap: the sid root of test Pythons; libffi-dev, xz-utils: the nogil build;
# python3-numpy, python3-flask: real software the Python-stack tests run
for p in make gcc clang llvm libclang-rt-dev libbpf-dev libelf-dev libdw-dev zlib1g-dev libzydis-dev \
	 bpftool python3 valgrind strace debootstrap libffi-dev xz-utils python3-numpy python3-flask; do
	case "$p" in
	bpftool) command -v bpftool >/dev/null 2>&1 || need="$need $p" ;;
	*) dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p" ;;
	esac
done
# the debug files of Debian's glibc and python3 (names from /usr/lib/debug):
# where the release has them; the tests that need them skip without
for p in libc6-dbg python3.11-dbg; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want="$want $p"
done
[ -z "$need$want" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "$need" ]; then
		echo "gilscope: missing packages:$need -- run 'sudo make deps' or install them" >&2
		exit 1
	fi
	echo "gilscope: not installed:$want (the tests of names from debug files skip)" >&2
	exit 0
fi
echo "installing:$need$want"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
[ -z "$need" ] || apt-get install -y -qq $need
for p in $want; do
	apt-get install -y -qq "$p" || echo "gilscope: $p not available here: the tests that need it skip" >&2
done
