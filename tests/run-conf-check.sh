#!/bin/sh
# SPDX-License-Identifier: MIT
# run-conf-check.sh FORKVISOR DIR RESULT: every example configuration must pass `forkvisor check`.
set -u
fv=$1 dir=$2 result=$3
passed=0; failed=0
for f in "$dir"/*.ini "$dir"/*.example; do
    [ -e "$f" ] || continue
    if "$fv" check "$f" >/dev/null; then passed=$((passed + 1)); else echo "  FAIL: $f"; failed=$((failed + 1)); fi
done
echo "conf: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
