#!/bin/sh
# SPDX-License-Identifier: MIT
# summarize.sh DIR...: adds up every suite's "PASSED FAILED" file and prints the one line CI
# reads. A suite that wrote no result (it did not build, or crashed) counts as one failure.
set -u
passed=0; failed=0
for suite in headers conf unit man fuzz bats-plain reliability-unit reliability-plain cluster-plain; do
    f=build/results/$suite
    if [ -r "$f" ]; then read -r p fl < "$f"; else echo "missing result: $f"; p=0; fl=1; fi
    passed=$((passed + p)); failed=$((failed + fl))
done
for suite in unit bats-san reliability-unit reliability-san cluster-san; do
    f=build-san/results/$suite
    if [ -r "$f" ]; then read -r p fl < "$f"; else echo "missing result: $f"; p=0; fl=1; fi
    passed=$((passed + p)); failed=$((failed + fl))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
