#!/bin/sh
# Runs a command in ROOT as a container runtime would: in the mount
# namespace this is started in (unshare --mount --propagation private),
# ROOT is bind-mounted on itself, gets its own /proc, becomes the root by
# pivot_root and the old root is detached; then the command replaces the
# shell (the same pid from unshare to the command: a tracer that follows
# exec ends on it).  The tests and demos launch the sid root's Pythons
# this way (demo/demolib.py, mode "container"):
#
#   unshare --mount --propagation private tests/pythons/in-container.sh ROOT CMD [ARG...]
set -e
[ $# -ge 2 ] || { echo "usage: unshare --mount $0 ROOT CMD [ARG...]" >&2; exit 2; }
root=$1
shift
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
cd "$root"
# pivot_root(".", "."): the old root is stacked on the new one, and
# detached from it right after (no directory for it needed in ROOT)
pivot_root . .
umount -l .
cd /
exec "$@"
