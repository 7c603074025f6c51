#!/bin/sh
# Regenerates the sample traces and their golden reports (`sudo make traces`).
# Each recording is small (< 1 MB); the golden report is what
# `gilscope report` prints for it at COLUMNS=100, and its JSON, which a
# test compares.
set -eu
BUILD=${1:-build}
G="$BUILD/gilscope"
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "make traces: recording needs root: sudo make traces" >&2
	exit 1
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
rec() {
	name=$1
	shift
	rm -f "traces/$name.gst"
	"$G" record -o "traces/$name.gst" "$@" >/dev/null 2>"traces/.$name.log" || {
		cat "traces/.$name.log" >&2
		exit 1
	}
	rm -f "traces/.$name.log"
	COLUMNS=100 "$G" report "traces/$name.gst" > "traces/$name.report.txt"
	rm -f "traces/$name.report.json"
	"$G" report "traces/$name.gst" --json "traces/$name.report.json" >/dev/null
	printf '%-16s %8d bytes  %s\n' "$name" "$(stat -c %s "traces/$name.gst")" \
		"$(grep -o 'events: [0-9]* recorded' "traces/$name.report.txt")"
}
rec fib4-cpython -- "$PY" tests/workloads/fib_threads.py 4 29
rec convoy-cpython -- "$PY" tests/workloads/convoy.py 100
rec gildemo -- "$BUILD/gildemo" --threads 2 --duration 1 --json /dev/null
rec hotlock --locks=all -- "$BUILD/tests/hotlock" -t 2 -n 20000
