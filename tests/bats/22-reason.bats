# SPDX-License-Identifier: MIT
# Why a child went down (issue 13, point 9): the "reason" of the exited and restarting events,
# info's "exit reason" and the words of the exit's log line tell an operator's restart, a
# reload, a sibling's one_for_all restart, a shutdown, a ready timeout, a crash and a normal exit
# apart, which all used to read "signal TERM" or "status N" alone.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=30}"

setup() {
    load test_helper
}
teardown() {
    [[ -z ${STREAM_PID:-} ]] || kill "$STREAM_PID" 2>/dev/null || true
    fv_teardown
}

EV=
# listen: `forkvisor events` in the background into $EV, live once an operator restart of
# app/probe (a sleeper every tree here has) shows up in it; then emptied.
listen() {
    EV=$BATS_TEST_TMPDIR/ev.txt
    # Not through fv(): $! must be forkvisor itself. Appending: the file is emptied below.
    "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" events >>"$EV" 2>"$EV.err" 3>&- &
    STREAM_PID=$!
    retry 100 0.05 eval 'fv restart app/probe && grep -q "\"path\": \"app/probe\"" "$EV"'
    retry 100 0.05 eval 'grep -q "\"event\": \"started\", \"path\": \"app/probe\"" "$EV"'
    : >"$EV"
}
# event_of EVENT PATH: the first EVENT event of PATH in $EV (fails when there is none yet).
event_of() { grep -m1 -F "{\"event\": \"$1\", \"path\": \"$2\"," "$EV"; }
has_event() { event_of "$@" >/dev/null; }
# reason_of EVENT PATH: the reason of that event.
reason_of() { event_of "$1" "$2" | sed -n 's/.*"reason": "\([a-z_]*\)".*/\1/p'; }
exit_reason() { fv info "$1" | sed -n 's/^exit reason: //p'; }

# waiter CODE: a script (in the test's directory, named exit-CODE) that records its pid and
# exits with CODE once the file go exists: an exit of its own, when the test says.
waiter() {
    conf "exit-$1" <<EOF
#!/bin/sh
echo \$\$ >> "\$FV_TEST_OUT/pids"
while [ ! -e @T@/go ]; do sleep 0.02; done
exit $1
EOF
    chmod +x "$BATS_TEST_TMPDIR/exit-$1"
}

@test "reason: an operator's restart and stop are 'operator', in the event, info and the log" {
    sleepers_ini a probe
    fv_start t.ini
    listen
    old=$(pid_of app/a)
    run -0 fv restart app/a
    retry 100 0.05 has_event exited app/a
    run event_of exited app/a
    assert_output --regexp "\"pid\": $old, \"signal\": \"TERM\", \"reason\": \"operator\", \"restarts\": 0,"
    run -0 exit_reason app/a
    assert_output operator
    run -0 grep -F "'app/a' (pid $old) killed by signal TERM (operator)" "$(fv_log)"
    # The process that runs now has not exited: info still tells the last exit.
    run -0 fv info app/a
    assert_line "state: running"
    assert_line "last exit: signal TERM"
    old=$(pid_of app/a)
    : >"$EV"
    run -0 fv stop app/a
    retry 100 0.05 has_event exited app/a
    run -0 reason_of exited app/a
    assert_output operator
    fv_stop
    no_survivors
}

@test "reason: a worker a reload changes or removes goes down for 'reload'" {
    sleepers_ini a b probe
    fv_start t.ini
    listen
    a=$(pid_of app/a)
    b=$(pid_of app/b)
    app_ini "a:@W@/sleeper changed" probe:@W@/sleeper
    run -0 fv reload
    retry 100 0.05 has_event exited app/a
    retry 100 0.05 has_event exited app/b
    run event_of exited app/a
    assert_output --regexp "\"pid\": $a, \"signal\": \"TERM\", \"reason\": \"reload\","
    run event_of exited app/b
    assert_output --regexp "\"pid\": $b, \"signal\": \"TERM\", \"reason\": \"reload\","
    run -0 exit_reason app/a
    assert_output reload
    run -0 grep -F "'app/b' (pid $b) killed by signal TERM (reload)" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "reason: one_for_all: the child that was killed 'crash', its sibling 'sibling'" {
    sleepers_ini -s one_for_all a b probe
    fv_start t.ini
    listen
    a=$(pid_of app/a)
    b=$(pid_of app/b)
    kill -KILL "$a"
    retry 100 0.05 pid_changed app/a "$a"
    retry 100 0.05 pid_changed app/b "$b"
    run event_of exited app/a
    assert_output --regexp "\"pid\": $a, \"signal\": \"KILL\", \"reason\": \"crash\","
    run -0 reason_of restarting app/a
    assert_output crash
    run event_of exited app/b
    assert_output --regexp "\"pid\": $b, \"signal\": \"TERM\", \"reason\": \"sibling\","
    run -0 exit_reason app/a
    assert_output crash
    run -0 exit_reason app/b
    assert_output sibling
    # info --json says it too; null for a child that never went down.
    run -0 eval 'fv info --json app/b | python3 -c "import json, sys; print(json.load(sys.stdin)[\"exit_reason\"])"'
    assert_output sibling
    run -0 eval 'fv info --json app | python3 -c "import json, sys; print(json.load(sys.stdin)[\"exit_reason\"])"'
    assert_output None
    run -0 grep -F "'app/b' (pid $b) killed by signal TERM (sibling)" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "reason: an exit of its own is 'crash' with a status outside normal_exit, 'normal' within" {
    waiter 3
    waiter 0
    app_ini intensity=10 \
        bad:exit-3 restart_delay=60000 \
        good:exit-0 restart_delay=60000 \
        probe:@W@/sleeper
    fv_start t.ini
    listen
    bad=$(pid_of app/bad)
    good=$(pid_of app/good)
    touch "$BATS_TEST_TMPDIR/go"
    retry 100 0.05 has_event restarting app/bad
    retry 100 0.05 has_event restarting app/good
    run event_of exited app/bad
    assert_output --regexp "\"pid\": $bad, \"status\": 3, \"reason\": \"crash\","
    run -0 reason_of restarting app/bad
    assert_output crash
    run event_of exited app/good
    assert_output --regexp "\"pid\": $good, \"status\": 0, \"reason\": \"normal\","
    run -0 reason_of restarting app/good
    assert_output normal
    run -0 fv info app/bad
    assert_line "last exit: status 3"
    assert_line "exit reason: crash"
    run -0 exit_reason app/good
    assert_output normal
    run -0 grep -F "'app/bad' (pid $bad) exited with status 3 (crash)" "$(fv_log)"
    run -0 grep -F "'app/good' (pid $good) exited with status 0 (normal)" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "reason: everything a shutdown stops goes down for 'shutdown'" {
    app_ini a:@W@/sleeper sub:{ b:@W@/sleeper } probe:@W@/sleeper
    fv_start t.ini
    listen
    a=$(pid_of app/a)
    b=$(pid_of app/sub/b)
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    # The stream ends with the daemon, after the events of the last exits (a's is the last).
    retry 100 0.05 pid_dead "$STREAM_PID"
    run -0 reason_of exited app/probe
    assert_output shutdown
    run event_of exited app/a
    assert_output --regexp "\"pid\": $a, \"signal\": \"TERM\", \"reason\": \"shutdown\","
    run event_of exited app/sub/b
    assert_output --regexp "\"pid\": $b, \"signal\": \"TERM\", \"reason\": \"shutdown\","
    run -0 grep -F "'app/sub/b' (pid $b) killed by signal TERM (shutdown)" "$(fv_log)"
    run -0 grep -F "'app/a' (pid $a) killed by signal TERM (shutdown)" "$(fv_log)"
    no_survivors
}

@test "reason: a child not ready within ready_timeout is 'timeout'; one that exits before it is ready 'start_failed'" {
    waiter 0
    app_ini \
        slow:{ strategy=simple_one_for_one instances=0 template=w w:@W@/sleeper ready=mailbox ready_timeout=300 } \
        quick:{ strategy=simple_one_for_one instances=0 template=v v:exit-0 ready=mailbox } \
        probe:@W@/sleeper
    fv_start t.ini
    listen
    run -1 fv start-child app/slow
    retry 100 0.05 has_event exited app/slow/w.1
    run event_of exited app/slow/w.1
    assert_output --regexp "\"signal\": \"KILL\", \"reason\": \"timeout\","
    run -0 grep -E "'app/slow/w.1' \(pid [0-9]+\) killed by signal KILL \(timeout\)" "$(fv_log)"
    touch "$BATS_TEST_TMPDIR/go"
    run -1 fv start-child app/quick
    retry 100 0.05 has_event exited app/quick/v.1
    run event_of exited app/quick/v.1
    assert_output --regexp "\"status\": 0, \"reason\": \"start_failed\","
    fv_stop
    no_survivors
}

@test "reason: a worker whose program cannot be executed shows 'start_failed' in info" {
    sleepers_ini probe
    fv_start t.ini
    app_ini probe:@W@/sleeper b:/nonexistent/program
    # Added by a reload, it fails to start (and is left so: an operator's start).
    run -1 fv reload
    run -0 fv info app/b
    assert_line "last exit: start failed (ENOENT)"
    assert_line "exit reason: start_failed"
    fv_stop
    no_survivors
}

@test "reason: a tree whose start fails stops what it started for 'shutdown'" {
    app_ini a:@W@/sleeper b:/nonexistent/program
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -E "'app/a' \(pid [0-9]+\) killed by signal TERM \(shutdown\)" "$(fv_log)"
    no_survivors
}

@test "reason: a worker killed for breaking the mailbox protocol is 'mailbox', and restarted for it" {
    app_ini intensity=10 "h:@W@/hostile garbage" restart_delay=60000 probe:@W@/sleeper
    fv_start_nowait t.ini
    retry 100 0.05 eval 'fv info app/h | grep -qx "exit reason: mailbox"'
    run -0 grep -E "'app/h' \(pid [0-9]+\) killed by signal KILL \(mailbox\)" "$(fv_log)"
    run -0 fv info app/h
    assert_line "state: restarting"
    fv_stop
    no_survivors
}
