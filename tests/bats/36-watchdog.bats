# SPDX-License-Identifier: MIT
# Child watchdogs (issue 15, point 2), as systemd's WatchdogSec=: a worker with `watchdog = MS`
# gets WATCHDOG_USEC and WATCHDOG_PID and must send WATCHDOG=1 (sd_notify; a real one here,
# systemd-notify from a shell daemon) or call fv_watchdog() (ready = mailbox) at least that
# often; a silent one is sent watchdog_signal (SIGABRT), SIGKILL after its shutdown time, and
# restarted for the reason 'watchdog'. WATCHDOG=trigger, WATCHDOG_USEC= and EXTEND_TIMEOUT_USEC=
# are honoured. Every wait polls; nothing is timed.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=40}"

setup() {
    load test_helper
    command -v systemd-notify >/dev/null || skip "systemd-notify is not installed"
}
teardown() {
    [[ -z ${STREAM_PID:-} ]] || kill "$STREAM_PID" 2>/dev/null || true
    fv_teardown
}

# daemon <<EOF: the shell daemon d in the test's directory, which records its pid; notify ARGS
# sends sd_notify fields as its own pid (the node hears the worker itself, as from a C daemon);
# @T@ is the test's directory.
daemon() {
    {
        printf '#!/bin/sh\necho $$ >>"$FV_TEST_OUT/pids"\n'
        printf 'notify() { systemd-notify --pid=$$ "$@"; }\n'
        sed -e "s|@T@|$BATS_TEST_TMPDIR|g"
    } >"$BATS_TEST_TMPDIR/d"
    chmod +x "$BATS_TEST_TMPDIR/d"
}

EV=
# listen: `forkvisor events` in the background into $EV, live once it shows the node's hello.
listen() {
    EV=$BATS_TEST_TMPDIR/ev.txt
    "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" events >>"$EV" 2>"$EV.err" 3>&- &
    STREAM_PID=$!
    retry 100 0.05 eval 'fv restart app/probe && grep -q "\"event\": \"started\", \"path\": \"app/probe\"" "$EV"'
    : >"$EV"
}
event_of() { grep -m1 -F "{\"event\": \"$1\", \"path\": \"$2\"," "$EV"; }
has_event() { event_of "$@" >/dev/null; }
exit_reason() { fv info "$1" | sed -n 's/^exit reason: //p'; }
restarts_of() { fv info "$1" | sed -n 's/^restarts: //p'; }
# count_at_least FILE N: FILE holds a number of at least N.
count_at_least() { [[ -s $1 ]] && (($(cat "$1") >= $2)); }
# start_d KEY=VALUE...: the tree of app/d (the daemon, with these settings) and app/probe,
# started and listened to; app/d's pid in $pid.
start_d() {
    app_ini d:d "$@" probe:@W@/sleeper
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    listen
    pid=$(pid_of app/d)
}
# go_and_expect SIGNAL [PATH]: makes the file go, on which PATH (default app/d; its pid in $pid)
# stops its keep-alives; then waits until it has exited, killed by SIGNAL for its watchdog.
go_and_expect() {
    local path=${2:-app/d}
    touch "$BATS_TEST_TMPDIR/go"
    retry 200 0.05 has_event exited "$path"
    run -0 event_of exited "$path"
    assert_output --regexp "\"pid\": $pid, \"signal\": \"$1\".*\"reason\": \"watchdog\""
}

# A daemon that reports its watchdog environment, is ready, and pings every 0.1 s until the file
# go appears (which it removes, so its successor pings again), then stays silent.
pinging_daemon() {
    daemon <<'EOF'
printf '%s %s %s\n' "$$" "${WATCHDOG_USEC-unset}" "${WATCHDOG_PID-unset}" >@T@/env.tmp
mv @T@/env.tmp @T@/env.$$
notify --ready
n=0
while [ ! -e @T@/go ]; do
    notify WATCHDOG=1
    n=$((n + 1))
    echo $n >@T@/pings.tmp; mv @T@/pings.tmp @T@/pings.$$
    sleep 0.1
done
rm -f @T@/go
exec sleep 1000
EOF
}

@test "watchdog: a daemon that pings keeps running; silent, it gets SIGABRT and is restarted for 'watchdog'" {
    pinging_daemon
    start_d ready=notify watchdog=1000 limit_core=0
    # Its environment: the timeout in microseconds, and its own pid.
    retry 100 0.05 file_has "$BATS_TEST_TMPDIR/env.$pid"
    [ "$(cat "$BATS_TEST_TMPDIR/env.$pid")" = "$pid 1000000 $pid" ]
    run -0 fv info app/d
    assert_line "watchdog: 1000 ms"
    run -0 fv info app/d --json
    assert_output --partial '"watchdog_ms": 1000,'
    # Pinging for more than two of its periods, it is left alone.
    retry 400 0.05 count_at_least "$BATS_TEST_TMPDIR/pings.$pid" 25
    [ "$(pid_of app/d)" = "$pid" ]
    [ "$(restarts_of app/d)" = 0 ]
    run -1 has_event exited app/d
    # Silent: killed with SIGABRT for its watchdog, and restarted.
    go_and_expect ABRT
    retry 200 0.05 has_event restarting app/d
    run -0 event_of restarting app/d
    assert_output --partial '"reason": "watchdog"'
    retry 200 0.05 pid_changed app/d "$pid"
    run -0 exit_reason app/d
    assert_output watchdog
    run -0 grep -F "'app/d' (pid $pid) sent no watchdog keep-alive within 1000 ms, killing it with ABRT" "$(fv_log)"
    run -0 grep -F "'app/d' (pid $pid) killed by signal ABRT (watchdog)" "$(fv_log)"
    # Its successor gets its own pid, and pings again.
    new=$(pid_of app/d)
    retry 100 0.05 file_has "$BATS_TEST_TMPDIR/env.$new"
    [ "$(cat "$BATS_TEST_TMPDIR/env.$new")" = "$new 1000000 $new" ]
    fv_stop
    no_survivors
}

@test "watchdog: a worker that ignores watchdog_signal is killed after its shutdown time" {
    daemon <<'EOF'
trap '' USR1
notify --ready
while [ ! -e @T@/go ]; do notify WATCHDOG=1; sleep 0.1; done
while :; do sleep 0.1; done
EOF
    start_d ready=notify watchdog=500 watchdog_signal=USR1 shutdown=300
    go_and_expect KILL
    run -0 grep -F "killing it with USR1" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "watchdog: WATCHDOG=trigger fires it at once" {
    daemon <<'EOF'
notify --ready
while [ ! -e @T@/go ]; do notify WATCHDOG=1; sleep 0.1; done
notify WATCHDOG=trigger
exec sleep 1000
EOF
    # Ten minutes: only the trigger can end it within the test.
    start_d ready=notify watchdog=600000 limit_core=0
    go_and_expect ABRT
    run -0 grep -F "'app/d' (pid $pid) asked for its watchdog (WATCHDOG=trigger), killing it with ABRT" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "watchdog: WATCHDOG_USEC sent by the child changes its timeout" {
    daemon <<'EOF'
notify --ready
while [ ! -e @T@/go ]; do notify WATCHDOG=1; sleep 0.1; done
rm -f @T@/go
notify WATCHDOG_USEC=300000
exec sleep 1000
EOF
    # Ten minutes as configured; the daemon asks for 300 ms and then says nothing.
    start_d ready=notify watchdog=600000 limit_core=0
    go_and_expect ABRT
    run -0 grep -F "'app/d' (pid $pid) sent no watchdog keep-alive within 300 ms" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "watchdog: EXTEND_TIMEOUT_USEC lets a slow start through its ready_timeout" {
    daemon <<'EOF'
notify EXTEND_TIMEOUT_USEC=60000000
# A slow start, longer than its ready_timeout.
sleep 2
notify --ready
exec sleep 1000
EOF
    app_ini d:d ready=notify ready_timeout=1000 probe:@W@/sleeper
    fv_start t.ini
    [ "$(state_of app/d)" = running ]
    [ "$(restarts_of app/d)" = 0 ]
    run -1 grep -F "not ready within" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "watchdog: a library worker that calls fv_watchdog stays; one that stops is restarted" {
    app_ini intensity=5 ok:@W@/watchdog-pinger mailbox watchdog=400 \
        "d:@W@/watchdog-pinger @T@/go" mailbox watchdog=400 limit_core=0 probe:@W@/sleeper
    fv_start t.ini
    listen
    ok=$(pid_of app/ok)
    pid=$(pid_of app/d)
    go_and_expect ABRT
    retry 200 0.05 pid_changed app/d "$pid"
    # Four pings a period: more than three periods, and it is still the same process.
    retry 400 0.05 count_at_least "$FV_TEST_OUT/ok.pings" 14
    [ "$(pid_of app/ok)" = "$ok" ]
    [ "$(restarts_of app/ok)" = 0 ]
    run -1 has_event exited app/ok
    fv_stop
    no_survivors
}

@test "watchdog: a shell worker keeps it with 'forkvisor watchdog'; silent, it is restarted" {
    export FORKVISOR
    daemon <<'EOF'
"$FORKVISOR" ready
n=0
while [ ! -e @T@/go ]; do
    "$FORKVISOR" watchdog
    n=$((n + 1))
    echo $n >@T@/pings.tmp; mv @T@/pings.tmp @T@/pings.$$
    sleep 0.1
done
rm -f @T@/go
exec sleep 1000
EOF
    start_d mailbox watchdog=1000 limit_core=0
    retry 400 0.05 count_at_least "$BATS_TEST_TMPDIR/pings.$pid" 25
    [ "$(pid_of app/d)" = "$pid" ]
    run -1 has_event exited app/d
    go_and_expect ABRT
    fv_stop
    no_survivors
}

@test "watchdog: check refuses it without a way to ping, and a bad watchdog_signal, with FILE:LINE" {
    conf bad.ini <<'INI'
[supervisor:app]
children = a, b, c

[worker:a]
exec = /bin/true
watchdog = 1000

[worker:b]
exec = /bin/true
ready = notify
watchdog = 1000
watchdog_signal = SIGABORT

[worker:c]
exec = /bin/true
ready = mailbox
watchdog_signal = KILL
INI
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/bad.ini"
    assert_output --partial "bad.ini:6: watchdog needs ready = notify or ready = mailbox"
    assert_output --partial "bad.ini:12: bad value 'SIGABORT' for watchdog_signal"
    assert_output --partial "bad.ini:17: watchdog_signal without watchdog"
}
