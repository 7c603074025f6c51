#!/bin/sh
# The default teaching demo (`sudo make demo`): gildemo's two CPU-bound
# threads share one GIL, traced by gilscope; then a plain-language account
# of what the tracer measured, built from its own JSON figures.
set -e
BUILD=${1:-build}
if [ "$(id -u)" -ne 0 ]; then
	echo "make demo: tracing needs root: run 'sudo make demo'" >&2
	exit 1
fi
out=$(mktemp -d /tmp/gilscope-demo.XXXXXX)
trap 'rm -rf "$out"' EXIT
echo "== gildemo: 2 CPU-bound threads, one GIL (switch interval 5 ms), traced by gilscope"
echo
"$BUILD/gilscope" --json "$out/report.json" -- \
	"$BUILD/gildemo" --threads 2 --duration 2 --json "$out/truth.json"
python3 "$(dirname "$0")/explain.py" default "$out/report.json" "$out/truth.json"
