#!/bin/sh
# SPDX-License-Identifier: MIT
# race-loop.sh BUILD ROUNDS: README's shell test (conf/shell-test.sh) and a kill/restart/events
# round (kill-restart-events.sh), each ROUNDS times in a row; stops at the first failure. Neither
# sleeps nor polls, so a failure is a race in forkvisor or in the idioms they show.
set -u
build=${1:?usage: race-loop.sh BUILD ROUNDS}
rounds=${2:?usage: race-loop.sh BUILD ROUNDS}
top=$(cd "$(dirname "$0")/../.." && pwd)
start=$(date +%s)
i=0
while [ "$i" -lt "$rounds" ]; do
    i=$((i + 1))
    (cd "$top" && FORKVISOR="$build/forkvisor" conf/shell-test.sh) ||
        { echo "race-loop: conf/shell-test.sh failed in round $i of $rounds" >&2; exit 1; }
    "$top/tests/soak/kill-restart-events.sh" "$build" ||
        { echo "race-loop: kill-restart-events.sh failed in round $i of $rounds" >&2; exit 1; }
done
echo "race-loop: $rounds rounds of conf/shell-test.sh and kill-restart-events.sh, 0 failures ($(($(date +%s) - start)) s)"
