#!/bin/sh
# SPDX-License-Identifier: MIT
# run-man-check.sh FORKVISOR RESULT PAGE...: lints each man page with mandoc and checks that
# forkvisor.ini(5) documents exactly the keys the parser accepts.
set -u
fv=$1 result=$2; shift 2
passed=0; failed=0
for m in "$@"; do
    if out=$(mandoc -T lint -W warning "$m" 2>&1) && [ -z "$out" ]; then
        passed=$((passed + 1))
    else
        echo "  FAIL: mandoc -T lint $m"; printf '%s\n' "$out" | sed 's/^/    /'; failed=$((failed + 1))
    fi
done
ini5=$(dirname "$0")/../man/forkvisor.ini.5
if [ -e "$ini5" ]; then
    missing=""
    for key in $("$fv" --dump-keys | cut -d' ' -f2 | sort -u); do
        grep -q "^\.It Cm $key\b" "$ini5" || missing="$missing $key"
    done
    if [ -z "$missing" ]; then passed=$((passed + 1)); else echo "  FAIL: undocumented keys:$missing"; failed=$((failed + 1)); fi
fi
echo "man: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
