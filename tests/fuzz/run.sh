#!/bin/sh
# Runs one libFuzzer binary for a fixed time over its corpus; fails when it
# finds a crash (the crashing input is kept in the corpus directory).
# usage: run.sh FUZZER CORPUS_DIR SECONDS [MAX_LEN]
set -u
fuzzer=$1 corpus=$2 secs=$3 maxlen=${4:-65536}
log=$(mktemp)
"$fuzzer" -max_total_time="$secs" -max_len="$maxlen" -print_final_stats=1 \
	-artifact_prefix="$corpus/" "$corpus" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
if [ $rc -ne 0 ]; then
	grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5
	echo "FAIL fuzz $(basename "$fuzzer"): crashed after ${runs:-?} runs"
	rm -f "$log"
	exit 1
fi
echo "PASS fuzz $(basename "$fuzzer"): ${runs:-?} inputs in ${secs}s, no crash"
rm -f "$log"
