# SPDX-License-Identifier: MIT
# Race-free event streams (issue 13, point 4): every lifecycle event carries "seq", the node
# keeps the last ones, `events --since SEQ` replays them and goes on live with no gap and no
# duplicate, `status --json` reports the current sequence, and `subscribe --ready` /
# `events --ready` say when the subscription is live.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=60}"

setup() { load test_helper; }
teardown() { fv_teardown; }

# seq_now: the current sequence number, from status --json.
seq_now() {
    fv status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["seq"])'
}

# summary: each JSON event on stdin as "SEQ EVENT PATH PID" ("-" for a null pid).
summary() {
    python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print(e["seq"], e["event"], e["path"], "-" if e["pid"] is None else e["pid"])
'
}

# consecutive FIRST: the seqs of the events on stdin are FIRST, FIRST + 1, ... in order.
consecutive() {
    python3 -c '
import json, sys
want = int(sys.argv[1])
for line in sys.stdin:
    seq = json.loads(line)["seq"]
    if seq != want:
        sys.exit("seq %d where %d was due" % (seq, want))
    want += 1
' "$1"
}

@test "event seq: every event, of every kind, is numbered from 1 by one, kept while nobody listens" {
    sleepers_ini a b
    fv_start t.ini
    local old; old=$(pid_of app/a)
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/a "$old"
    sleepers_ini a b c
    run -0 fv reload
    run -0 fv stop app/b
    # Nobody was subscribed: everything is replayed from the start.
    local n; n=$(seq_now)
    [ "$n" -ge 9 ]
    run -0 fv events --since 0 --count "$n" --timeout 10000
    [ "${#lines[@]}" -eq "$n" ]
    consecutive 1 <<<"$output"
    local kinds; kinds=$(summary <<<"$output" | awk '{ print $2 }' | sort -u | paste -sd ' ')
    [ "$kinds" = "exited reload restarting started" ]
    run -0 summary <<<"$output"
    assert_line --regexp "^[0-9]+ exited app/a $old\$"
    assert_line --regexp "^[0-9]+ started app/c [0-9]+\$"
    assert_line --regexp "^$n exited app/b [0-9]+\$"
    fv_stop
    no_survivors
}

@test "event seq: status --json is {\"seq\": N, \"processes\": [rows]}, N the last event's seq" {
    sleepers_ini a
    fv_start t.ini
    run -0 fv status --json
    run -0 python3 -c '
import json, sys
s = json.load(sys.stdin)
assert sorted(s) == ["cluster", "processes", "seq"], s.keys()
assert s["cluster"] is None  # no [cluster]: forkvisor-cluster(7)
assert isinstance(s["seq"], int) and s["seq"] > 0
for r in s["processes"]:
    print(r["path"], r["kind"], r["state"])
print("seq", s["seq"])
' <<<"$output"
    assert_line "app supervisor running"
    assert_line "app/a worker running"
    local n; n=$(sed -n 's/^seq //p' <<<"$output")
    # The same shape for one path.
    run -0 fv status app/a --json
    run -0 python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["seq"], [r["path"] for r in s["processes"]])
' <<<"$output"
    assert_output "$n ['app/a']"
    # The event numbered N is the last one: nothing comes after it yet.
    run -0 fv events --since "$((n - 1))" --count 1 --timeout 10000
    run -0 summary <<<"$output"
    assert_output --regexp "^$n started "
    run -0 fv events --since "$n" --timeout 100
    assert_output ""
    fv_stop
    no_survivors
}

@test "event seq: a kill's exited, restarting and started are replayed since the seq remembered before it" {
    sleepers_ini a b
    fv_start t.ini
    local seq old new
    seq=$(seq_now)
    old=$(pid_of app/a)
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/a "$old"
    new=$(pid_of app/a)
    # No subscription ran during the kill: the node kept the events.
    run -0 fv events --since "$seq" --count 3 --timeout 10000
    consecutive "$((seq + 1))" <<<"$output"
    run -0 summary <<<"$output"
    assert_line --index 0 "$((seq + 1)) exited app/a $old"
    assert_line --index 1 "$((seq + 2)) restarting app/a -"
    assert_line --index 2 "$((seq + 3)) started app/a $new"
    [ "${#lines[@]}" -eq 3 ]
    [ "$(seq_now)" -eq "$((seq + 3))" ]
    fv_stop
    no_survivors
}

@test "event seq: the replay goes on live with no gap and no duplicate" {
    app_ini intensity=10 a:@W@/sleeper
    fv_start t.ini
    # Not fd 3: bats writes its results there.
    local fd seq old; seq=$(seq_now)
    old=$(pid_of app/a)
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/a "$old"
    # Three events kept, three more to come live, after `ready`.
    exec {fd}< <(fv events --since "$seq" --count 6 --ready --timeout 20000)
    local line
    read -r -u "$fd" line
    [ "$line" = ready ]
    old=$(pid_of app/a)
    kill -KILL "$old"
    run -0 cat <&"$fd"
    exec {fd}<&-
    [ "${#lines[@]}" -eq 6 ]
    consecutive "$((seq + 1))" <<<"$output"
    run -0 summary <<<"$output"
    assert_line --index 3 "$((seq + 4)) exited app/a $old"
    assert_line --index 5 --regexp "^$((seq + 6)) started app/a [0-9]+\$"
    fv_stop
    no_survivors
}

@test "event seq: since a seq the ring no longer holds is refused, naming the oldest kept" {
    # A crash loop makes a few thousand events; the node keeps the last 1024.
    app_ini intensity=1000000 period=1 "c:@W@/crash-after 0" keep:@W@/sleeper
    fv_start_nowait t.ini
    retry 600 0.05 eval '[[ $(seq_now 2>/dev/null || echo 0) -gt 1200 ]]'
    run -0 fv stop app/c
    local newest oldest
    newest=$(seq_now)
    run -1 fv events --since 0 --count 1 --timeout 1000
    assert_output --regexp "^forkvisor: events after 0 are no longer kept: the oldest kept is [0-9]+\$"
    oldest=$(sed -n 's/.*the oldest kept is //p' <<<"$output")
    [ "$oldest" -eq "$((newest - 1023))" ]
    run -1 fv events --since "$((oldest - 2))" --timeout 100
    assert_output --partial "the oldest kept is $oldest"
    # From just before the oldest: every kept event, in order.
    run -0 fv events --since "$((oldest - 1))" --count 1024 --timeout 10000
    [ "${#lines[@]}" -eq 1024 ]
    consecutive "$oldest" <<<"$output"
    # A seq not reached yet (an earlier daemon's?) is refused too; a bad one is a usage error.
    run -1 fv events --since "$((newest + 1))" --timeout 100
    assert_output "forkvisor: no event $((newest + 1)) yet: the last is $newest (a sequence number from an earlier daemon?)"
    run -2 fv events --since x
    run -2 fv events --since -1
    run -2 fv status --since 1
    run -2 fv status --ready
    fv_stop
    no_survivors
}

@test "subscribe --ready: 'ready', then a publication made after it is received" {
    sleepers_ini a
    fv_start t.ini
    local fd line msg
    exec {fd}< <(fv subscribe --ready --count 1 --timeout 20000 t)
    read -r -u "$fd" line
    [ "$line" = ready ]
    run -0 fv publish t x
    read -r -u "$fd" msg
    exec {fd}<&-
    [ "$msg" = x ]
    # events --ready the same: the kill after `ready` is seen.
    exec {fd}< <(fv events --ready --count 1 --timeout 20000)
    read -r -u "$fd" line
    [ "$line" = ready ]
    local old; old=$(pid_of app/a)
    kill -KILL "$old"
    read -r -u "$fd" msg
    exec {fd}<&-
    run -0 summary <<<"$msg"
    assert_output --regexp "^[0-9]+ exited app/a $old\$"
    fv_stop
    no_survivors
}

@test "event seq: 20 rounds of remember seq, kill, events --since never miss an event" {
    app_ini intensity=100 a:@W@/sleeper b:@W@/sleeper
    fv_start t.ini
    local k seq old
    for k in $(seq 20); do
        seq=$(seq_now)
        old=$(pid_of app/a)
        kill -KILL "$old"
        run -0 fv events --since "$seq" --count 3 --timeout 10000
        consecutive "$((seq + 1))" <<<"$output"
        run -0 summary <<<"$output"
        assert_line --index 0 "$((seq + 1)) exited app/a $old"
        assert_line --index 1 "$((seq + 2)) restarting app/a -"
        assert_line --index 2 --regexp "^$((seq + 3)) started app/a [0-9]+\$"
    done
    run -0 fv info app/a
    assert_line "restarts: 20"
    fv_stop
    no_survivors
}

@test "event seq: a supervisor starts once, when all its children have: one started event" {
    app_ini a:@W@/sleeper sub:{ b:@W@/sleeper }
    fv_start t.ini
    run -0 fv events --since 0 --count 4 --timeout 10000
    run -0 summary <<<"$output"
    assert_line --index 0 --regexp "^1 started app/a [0-9]+\$"
    assert_line --index 1 --regexp "^2 started app/sub/b [0-9]+\$"
    assert_line --index 2 "3 started app/sub -"
    assert_line --index 3 "4 started app -"
    [ "$(seq_now)" -eq 4 ]
    fv_stop
    no_survivors
}

@test "events: a reader too slow for the daemon's queue is told which events it lost, not shown a gap" {
    app_ini pool:{ strategy=simple_one_for_one template=w instances=0 max_children=300 intensity=100000 w:@W@/sleeper }
    fv_start t.ini
    local s; s=$(seq_now)
    # Not through `fv`: $! must be the client itself, which SIGSTOP stops.
    "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" events --ready --since "$s" \
        >"$BATS_TEST_TMPDIR/ev.out" 2>"$BATS_TEST_TMPDIR/ev.err" &
    local reader=$!
    retry 200 0.05 grep -qx ready "$BATS_TEST_TMPDIR/ev.out"
    # The reader stops reading; more events come than its queue (1024) and socket hold.
    kill -STOP "$reader"
    local round
    for round in 1 2 3; do
        fv scale app/pool 300
        fv scale app/pool 0
    done
    kill -CONT "$reader"
    fv scale app/pool 1
    local st=0
    wait "$reader" || st=$?
    [ "$st" -eq 1 ]
    run cat "$BATS_TEST_TMPDIR/ev.err"
    assert_output --regexp "^forkvisor: events [0-9]+ to [0-9]+ were lost, this reader was too slow for them; what is still kept can be read with --since [0-9]+\$"
    # What it printed before the gap is whole and in order.
    grep -v '^ready$' "$BATS_TEST_TMPDIR/ev.out" | consecutive $((s + 1))
    fv_stop
    no_survivors
}
