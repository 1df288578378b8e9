#!/bin/sh
# SPDX-License-Identifier: MIT
# run-unit.sh RESULT BIN...: runs each C unit-test binary, adds up their "N passed, N failed"
# lines and writes "PASSED FAILED" to RESULT.
set -u
result=$1; shift
passed=0; failed=0
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | sed "s|^|  $(basename "$t"): |" | grep -v ': ok ' || true
    line=$(printf '%s\n' "$out" | tail -n 1)
    p=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        echo "  $(basename "$t"): crashed (exit $rc)"; p=0; f=1
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "  $(basename "$t"): exit $rc"; f=1
    fi
    passed=$((passed + p)); failed=$((failed + f))
done
echo "$(basename "$result"): $passed passed, $failed failed"
echo "$passed $failed" > "$result"
