# SPDX-License-Identifier: MIT
# Ordered start (readiness, ready_timeout, failed starts and their rollback), ordered shutdown
# (reverse order, shutdown timeouts, brutal_kill), the stop/start/restart operator commands, and
# how `forkvisor run` ends.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() { fv_teardown; }

# mtime_ms FILE: modification time in milliseconds.
mtime_ms() { local t; t=$(stat -c %.3Y "$1"); echo "${t/./}"; }

# shutdown_ms: `fv shutdown`, then wait for run to exit with 0; sets ms (the caller's) to the
# milliseconds that took.
shutdown_ms() {
    local t0 t1
    t0=$(date +%s%N)
    run -0 fv shutdown
    fv_wait_exit
    t1=$(date +%s%N)
    [ "$FV_STATUS" -eq 0 ]
    ms=$(( (t1 - t0) / 1000000 ))
}

@test "an ordered start waits for each child to be ready before the next" {
    app_ini "a:@W@/notify-after 300" ready=notify b:@W@/sleeper
    fv_start t.ini
    [ "$(order_of Started)" = "app/a app/b" ]
    [ -e "$FV_TEST_OUT/a.ready" ]
    # b was spawned only after a's 300 ms to readiness (mtimes have a few ms granularity).
    local a b
    a=$(mtime_ms "$FV_TEST_OUT/a.started")
    b=$(mtime_ms "$FV_TEST_OUT/b.started")
    (( b - a >= 250 )) || { echo "b started $((b - a)) ms after a" >&2; return 1; }
    run -0 state_of app/a
    [ "$output" = running ]
    fv_stop
    no_survivors
}

@test "a child not ready within ready_timeout is a failed start: run exits 1 naming it" {
    app_ini \
        a:@W@/sleeper \
        "b:@W@/notify-after 0 --no-ready" ready=notify ready_timeout=300 \
        c:@W@/sleeper
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 fv_log_plain
    assert_output --regexp "'app/b' failed to start: not ready within 300 ms"
    assert_output --regexp "<3>Root supervisor 'app' failed to start: .*'app/b'.*not ready within 300 ms"
    # c was never started, a was stopped again.
    [ ! -e "$FV_TEST_OUT/c.started" ]
    assert_output --partial "Stopped 'app/a'"
    no_survivors
}

@test "a failed start stops the children already started, in reverse order" {
    # exit-with is ready once exec succeeds unless readiness is awaited: with ready = notify
    # its exit is a failed start ("exited before it was ready").
    app_ini a:@W@/sleeper b:@W@/sleeper "c:@W@/exit-with 3" ready=notify d:@W@/sleeper
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    [ "$(order_of Started)" = "app/a app/b app/c" ]
    [ "$(order_of Stopped)" = "app/b app/a" ]
    [ ! -e "$FV_TEST_OUT/d.started" ]
    run -0 fv_log_plain
    assert_output --regexp "<3>Root supervisor 'app' failed to start: .*'app/c'.*exit status 3"
    no_survivors
}

@test "exec of a missing program is a failed start: run exits 1" {
    app_ini a:@W@/sleeper b:@W@/no-such-program
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 fv_log_plain
    assert_output --regexp "'app/b' failed to start: .*no-such-program.*No such file or directory"
    assert_output --regexp "<3>Root supervisor 'app' failed to start: .*'app/b'"
    [ "$(order_of Stopped)" = "app/a" ]
    no_survivors
}

@test "shutdown stops the children in reverse start order, subtrees first" {
    app_ini a:@W@/sleeper b:@S@/sleeper.sh sub:{ c:@W@/sleeper d:@W@/sleeper } e:@W@/sleeper
    fv_start t.ini
    [ "$(order_of Started)" = "app/a app/b app/sub/c app/sub/d app/e" ]
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    [ "$(order_of Stopped)" = "app/e app/sub/d app/sub/c app/sub app/b app/a app" ]
    run -0 cat "$(fv_log)"
    assert_output --regexp "'app/b' \(pid [0-9]+\) killed by signal TERM"
    no_survivors
}

@test "shutdown = 300 sends SIGKILL 300 ms after a stop signal that is ignored" {
    app_ini a:@W@/ignore-term shutdown=300
    fv_start t.ini
    local ms
    shutdown_ms
    (( ms >= 280 && ms < 3000 )) || { echo "shutdown took $ms ms" >&2; return 1; }
    run -0 cat "$(fv_log)"
    assert_output --regexp "'app/a' \(pid [0-9]+\) killed by signal KILL"
    no_survivors
}

@test "shutdown = brutal_kill sends SIGKILL at once" {
    app_ini a:@W@/ignore-term shutdown=brutal_kill b:@W@/sleeper shutdown=brutal_kill
    fv_start t.ini
    local ms
    shutdown_ms
    # Not after the 5 s default: at once.
    (( ms < 2000 )) || { echo "shutdown took $ms ms" >&2; return 1; }
    run -0 cat "$(fv_log)"
    # Even the worker that would die of SIGTERM got SIGKILL.
    assert_output --regexp "'app/b' \(pid [0-9]+\) killed by signal KILL"
    assert_output --regexp "'app/a' \(pid [0-9]+\) killed by signal KILL"
    no_survivors
}

@test "restart, stop and start operate on one child" {
    sleepers_ini a b
    fv_start t.ini
    local a0 a1 a2 b0
    a0=$(pid_of app/a)
    b0=$(pid_of app/b)
    [ -n "$a0" ] && [ -n "$b0" ]

    run -0 fv restart app/a
    a1=$(pid_of app/a)
    [ -n "$a1" ] && [ "$a1" != "$a0" ]
    retry 100 0.05 pid_dead "$a0"
    pid_alive "$a1"
    [ "$(state_of app/a)" = running ]

    run -0 fv stop app/a
    [ "$(state_of app/a)" = stopped ]
    [ -z "$(pid_of app/a)" ]
    retry 100 0.05 pid_dead "$a1"
    # It stays stopped: a stop is not a crash to recover from.
    run -1 fv wait app/a --state running --timeout 300
    [ "$(state_of app/a)" = stopped ]

    run -0 fv start app/a
    a2=$(pid_of app/a)
    [ -n "$a2" ] && [ "$a2" != "$a1" ]
    pid_alive "$a2"
    [ "$(state_of app/a)" = running ]

    # Its sibling was never touched.
    [ "$(pid_of app/b)" = "$b0" ]
    run -0 fv info app/a
    assert_line "restarts: 0"

    # An unknown path is an error.
    run -1 fv restart app/nope
    run -1 fv stop app/nope
    run -1 fv start app/nope
    fv_stop
    no_survivors
}

@test "restart of a subtree restarts its workers" {
    app_ini a:@W@/sleeper sub:{ c:@W@/sleeper d:@W@/sleeper }
    fv_start t.ini
    local a0 c0 d0
    a0=$(pid_of app/a); c0=$(pid_of app/sub/c); d0=$(pid_of app/sub/d)
    run -0 fv restart app/sub
    [ "$(state_of app/sub)" = running ]
    pid_changed app/sub/c "$c0"
    pid_changed app/sub/d "$d0"
    [ "$(pid_of app/a)" = "$a0" ]
    run -0 fv stop app/sub
    [ "$(state_of app/sub)" = stopped ]
    [ "$(state_of app/sub/c)" = stopped ]
    run -0 fv start app/sub
    [ "$(state_of app/sub/d)" = running ]
    fv_stop
    no_survivors
}

@test "run exits 0 after forkvisor shutdown" {
    sleepers_ini a
    fv_start t.ini
    run -0 fv shutdown
    # shutdown returns once the daemon has exited.
    daemon_gone
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    no_survivors
}

@test "run exits 0 after SIGTERM and after SIGINT" {
    sleepers_ini a
    local sig
    for sig in TERM INT; do
        fv_start t.ini
        kill "-$sig" "$FV_PID"
        fv_wait_exit
        [ "$FV_STATUS" -eq 0 ] || { echo "exit $FV_STATUS after SIG$sig" >&2; return 1; }
        run -0 cat "$(fv_log)"
        assert_output --partial "Received SIG$sig, shutting down"
        assert_output --partial "Stopped 'app/a'"
        no_survivors
    done
}
