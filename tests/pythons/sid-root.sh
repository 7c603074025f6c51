#!/bin/sh
# Makes (once) a minimal Debian sid root holding today's Pythons
# (python3.13, python3.14, python3.15: stripped distro builds, GCC 16,
# glibc 2.43), for the tests and demos to run targets in as a container
# or a chroot would.  Signatures are checked with the machine's keyring.
#
#   tests/pythons/sid-root.sh [DIR]    default: $GILSCOPE_CACHE/sid-root
#
# DIR is outside the clone and kept between runs: about a minute the
# first time, nothing after.  Prints DIR on success.
set -e
cache=${GILSCOPE_CACHE:-/var/cache/gilscope}
root=${1:-$cache/sid-root}
pkgs=python3.13,python3.14,python3.15

if [ -x "$root/usr/bin/python3.15" ] && [ -e "$root/.gilscope-complete" ]; then
	echo "$root"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "sid-root: debootstrap needs root: run it with sudo" >&2
	exit 1
fi
command -v debootstrap >/dev/null 2>&1 || {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
}
# the Debian mirror this machine's apt uses
url=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
[ -n "$url" ] || url=$(sed -n 's/^deb \(\[[^]]*\] \)\?\(http[^ ]*\/debian\)\/\? .*/\2/p' \
	/etc/apt/sources.list 2>/dev/null | head -n1)
[ -n "$url" ] || { echo "sid-root: no Debian mirror in the apt sources" >&2; exit 1; }

# a half-made root from an interrupted run is made again, never used;
# the tests mount /proc in a root they chroot into (demo/demolib.py)
for d in "$root.tmp" "$root"; do
	mountpoint -q "$d/proc" 2>/dev/null && umount "$d/proc"
done
rm -rf "$root.tmp"
mkdir -p "$(dirname "$root")"
debootstrap --variant=minbase --include=$pkgs sid "$root.tmp" "$url" >"$root.tmp.log" 2>&1 || {
	tail -n 20 "$root.tmp.log" >&2
	echo "sid-root: debootstrap of sid from $url failed (log: $root.tmp.log)" >&2
	exit 1
}
rm -f "$root.tmp.log"
touch "$root.tmp/.gilscope-complete"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "$root"
