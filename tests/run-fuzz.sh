#!/bin/sh
# SPDX-License-Identifier: MIT
# run-fuzz.sh RESULT SECONDS FUZZER...: runs each libFuzzer target for SECONDS on a scratch
# corpus seeded from tests/fuzz/corpus-<name> (if present) and conf/.
set -u
result=$1 seconds=$2; shift 2
passed=0; failed=0
for f in "$@"; do
    name=$(basename "$f")
    corpus=$(mktemp -d)
    seeds=$(dirname "$0")/fuzz/corpus-${name#fuzz-}
    [ -d "$seeds" ] && cp "$seeds"/* "$corpus"/ 2>/dev/null
    [ "$name" = fuzz-config ] && cp "$(dirname "$0")"/../conf/*.ini "$(dirname "$0")"/../conf/*.example "$corpus"/ 2>/dev/null
    if "$f" -max_total_time="$seconds" -max_len=4096 -timeout=10 "$corpus" >"$corpus.log" 2>&1; then
        passed=$((passed + 1))
    else
        echo "  FAIL: $name"; tail -n 30 "$corpus.log"; failed=$((failed + 1))
    fi
    rm -rf "$corpus" "$corpus.log"
done
echo "fuzz: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
