#!/bin/sh
# Installs what gilscope needs to build and test on Debian/Ubuntu, when it
# is missing.  A no-op when everything is there; needs root otherwise.
set -e
need=""
# debootstrap: the sid root of test Pythons; libffi-dev, xz-utils: the nogil build;
# python3-numpy, python3-flask: real software the Python-stack tests run
for p in make gcc clang llvm libclang-rt-dev libbpf-dev libelf-dev zlib1g-dev libzydis-dev bpftool python3 valgrind strace \
	 debootstrap libffi-dev xz-utils python3-numpy python3-flask; do
	case "$p" in
	bpftool) command -v bpftool >/dev/null 2>&1 || need="$need $p" ;;
	*) dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p" ;;
	esac
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "gilscope: missing packages:$need -- run 'sudo make deps' or install them" >&2
	exit 1
fi
echo "installing:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $need
