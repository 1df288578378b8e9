#!/bin/sh
# SPDX-License-Identifier: MIT
# run-bats.sh RESULT DIR: runs every DIR/*.bats against $FORKVISOR_BUILD, counts TAP lines and
# writes "PASSED FAILED" to RESULT. The suite is named after RESULT's file name.
set -u
result=$1
dir=$2
name=$(basename "$result")
out=$(mktemp)
bats --tap --print-output-on-failure "$dir" 2>&1 | tee "$out"
passed=$(grep -c '^ok ' "$out")
failed=$(grep -c '^not ok ' "$out")
# A suite that dies before printing its plan counts as a failure.
grep -q '^1\.\.' "$out" || failed=$((failed + 1))
rm -f "$out"
echo "$name: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
