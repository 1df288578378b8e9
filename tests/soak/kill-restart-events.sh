#!/bin/bash
# SPDX-License-Identifier: MIT
# kill-restart-events.sh BUILD: one round of what scripts do to a tree, each step checked
# exactly, none timed: crash a worker and wait for its restart (--pid-not, --restarts), restart
# one as the operator, signal one, scale a fleet, and read back from a remembered sequence number
# every event those caused, with their reasons. Exit 0 when every check held. `make race-loop`
# runs it (and conf/shell-test.sh) many times in a row; one failure is a race to fix.
set -euo pipefail
build=$(cd "${1:?usage: kill-restart-events.sh BUILD}" && pwd)
fv="$build/forkvisor"
dir=$(mktemp -d)
export FORKVISOR_CONTROL="$dir/control.sock"
fail() { echo "kill-restart-events: $*" >&2; echo "--- log" >&2; cat "$dir/log" >&2; exit 1; }
cleanup() {
    "$fv" shutdown --timeout 5000 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

cat >"$dir/t.ini" <<INI
[supervisor:app]
intensity = 20
children = a, b, pool
[worker:a]
exec = $build/workers/sleeper a
[worker:b]
exec = $build/workers/sleeper b
[supervisor:pool]
strategy = simple_one_for_one
template = w
instances = 2
intensity = 20
[worker:w]
exec = $build/workers/sleeper w
INI
"$fv" run "$dir/t.ini" 2>"$dir/log" &
"$fv" wait --timeout 10000 || fail "the tree did not come up"

seq() { "$fv" status --json | sed -n 's/^{"seq": \([0-9]*\).*/\1/p'; }
# expect SEQ N PATTERN...: the N events after SEQ are, in order, the PATTERNs (grep -E).
expect() {
    local since=$1 n=$2 i=0 line; shift 2
    "$fv" events --since "$since" --count "$n" --timeout 10000 >"$dir/ev" || fail "fewer than $n events after $since"
    while IFS= read -r line; do
        [[ $line =~ $1 ]] || fail "event $((i + 1)) after $since is $line, not /$1/"
        shift; i=$((i + 1))
    done <"$dir/ev"
}

# A crash: exited (crash), restarting, started, in that order, and the new pid is not the old.
s=$(seq); old=$("$fv" whereis a)
"$fv" signal app/a KILL
"$fv" wait app/a --pid-not "$old" --timeout 10000 || fail "a did not come back"
expect "$s" 3 '"exited", "path": "app/a", "pid": '"$old"', "signal": "KILL", "reason": "crash"' \
    '"restarting", "path": "app/a".*"reason": "crash"' '"started", "path": "app/a"'
[[ $("$fv" whereis a) != "$old" ]] || fail "whereis a still says $old"

# Two crashes in a row, waited for by count.
"$fv" signal app/a KILL
"$fv" wait app/a --restarts 2 --timeout 10000 || fail "a was not restarted twice"

# The operator's restart: exited (operator), started; not a restart of its supervisor's.
s=$(seq); old=$("$fv" whereis b)
"$fv" restart app/b
expect "$s" 2 '"exited", "path": "app/b", "pid": '"$old"', "signal": "TERM", "reason": "operator"' '"started", "path": "app/b"'

# A fleet scaled up and down: the new instances start, the highest stop (operator).
s=$(seq)
"$fv" scale app/pool 4
expect "$s" 2 '"started", "path": "app/pool/w\.3"' '"started", "path": "app/pool/w\.4"'
s=$(seq)
"$fv" scale app/pool 1
"$fv" events --since "$s" --count 3 --timeout 10000 >"$dir/ev" || fail "scale down: fewer than 3 events"
for w in 2 3 4; do
    grep -q '"exited", "path": "app/pool/w\.'$w'".*"reason": "operator"' "$dir/ev" || fail "w.$w did not stop for the operator"
done

# The whole tree stops, every process with it.
pids=$("$fv" status --json | grep -o '"pid": [0-9]*' | grep -o '[0-9]*$')
"$fv" shutdown --timeout 10000 || fail "shutdown"
for p in $pids; do ! kill -0 "$p" 2>/dev/null || fail "pid $p outlived the tree"; done
