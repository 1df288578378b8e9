#!/bin/sh
# SPDX-License-Identifier: MIT
# A shell test of conf/one_for_one.ini, as README shows it: start the tree, crash a worker, check
# that its supervisor brought it back and what the events say, stop, check that nothing is left.
# No sleep and no polling loop: every step waits for a condition that cannot race.
# Run from the top of the source tree: conf/shell-test.sh (exit 0 when every check held).
set -eu
fv=${FORKVISOR:-build/forkvisor}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export FORKVISOR_CONTROL="$dir/control.sock"

$fv run conf/one_for_one.ini 2>"$dir/log" &
$fv wait --timeout 5000                          # waits for the daemon, then for the whole tree
seq=$($fv status --json | sed -n 's/^{"seq": \([0-9]*\).*/\1/p')     # the events from here on
old=$($fv whereis web)
$fv signal app/web KILL                          # through the daemon: never a reused pid
$fv wait app/web --pid-not "$old" --timeout 5000 # up again, in a new process
new=$($fv whereis web)
$fv events --since "$seq" --count 3 --timeout 5000 >"$dir/events"
grep -q '"event": "exited", "path": "app/web", "pid": '"$old"', "signal": "KILL", "reason": "crash"' "$dir/events"
grep -q '"event": "restarting", "path": "app/web"' "$dir/events"
$fv shutdown                                     # returns once the daemon has exited
if kill -0 "$new" 2>/dev/null; then echo "left behind: $new" >&2; exit 1; fi
