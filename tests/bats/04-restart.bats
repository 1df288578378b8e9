# SPDX-License-Identifier: MIT
# Restart types (SPEC 4.2): permanent, transient, temporary, normal_exit; restart_delay and its
# doubling up to restart_delay_max (SPEC 3.3).
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=20}" # a daemon that never answers fails the test, not the run

setup() { load test_helper; }
teardown() { fv_teardown; }

# stamp_script: $BATS_TEST_TMPDIR/stamp, which appends the time (ns) to
# $FV_TEST_OUT/<FORKVISOR_NAME>.starts and then execs its arguments (same pid).
stamp_script() {
    cat >"$BATS_TEST_TMPDIR/stamp" <<'SH'
#!/bin/sh
date +%s%N >>"$FV_TEST_OUT/$FORKVISOR_NAME.starts"
exec "$@"
SH
    chmod +x "$BATS_TEST_TMPDIR/stamp"
}

# gaps FILE: the differences, in ms, between consecutive lines (ns) of FILE, one per line.
gaps() {
    awk 'NR > 1 { printf "%d\n", ($1 - prev) / 1000000 } { prev = $1 }' "$1"
}

lines_at_least() { [[ -r $2 && $(wc -l <"$2") -ge $1 ]]; }

@test "permanent: restarted after SIGKILL with a new pid and restarts 1" {
    conf t.ini <<'INI'
[supervisor:app]
children = a
[worker:a]
exec = @W@/sleeper
INI
    fv_start t.ini
    local old; old=$(pid_of app/a)
    [ -n "$old" ]
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/a "$old"
    run -0 fv info app/a
    assert_line "state: running"
    assert_line "restarts: 1"
    assert_line "last exit: signal KILL"
    run -0 grep -F "'app/a' (pid $old) killed by signal KILL" "$BATS_TEST_TMPDIR/forkvisor.log"
    run -0 grep -F "Restarting 'app/a' (restart 1)" "$BATS_TEST_TMPDIR/forkvisor.log"
    fv_stop
    no_survivors
}

@test "transient: restarted after exit 3" {
    conf t.ini <<'INI'
[supervisor:app]
intensity = 10
children = a
[worker:a]
exec = @W@/exit-with 3 300
restart = transient
INI
    fv_start t.ini
    local old; old=$(pid_of app/a)
    retry 100 0.05 pid_changed app/a "$old"
    run -0 grep -F "'app/a' (pid $old) exited with status 3" "$BATS_TEST_TMPDIR/forkvisor.log"
    run -0 grep -F "Restarting 'app/a' (restart 1)" "$BATS_TEST_TMPDIR/forkvisor.log"
    fv_stop
    no_survivors
}

@test "transient: restarted after a crash (exit 1)" {
    conf t.ini <<'INI'
[supervisor:app]
intensity = 10
children = a
[worker:a]
exec = @W@/crash-after 300
restart = transient
INI
    fv_start t.ini
    local old; old=$(pid_of app/a)
    retry 100 0.05 pid_changed app/a "$old"
    run -0 grep -F "'app/a' (pid $old) exited with status 1" "$BATS_TEST_TMPDIR/forkvisor.log"
    fv_stop
    no_survivors
}

@test "transient: not restarted after exit 0" {
    conf t.ini <<'INI'
[supervisor:app]
children = keep, a
[worker:keep]
exec = @W@/sleeper
[worker:a]
exec = @W@/exit-with 0 200
restart = transient
INI
    fv_start t.ini
    run -0 fv wait app/a --state stopped --timeout 5000
    # A restart would have followed the exit in the same step: the state is final by now.
    run -0 fv info app/a
    assert_line "state: stopped"
    assert_line "restarts: 0"
    assert_line "last exit: status 0"
    [ "$(grep -c . "$FV_TEST_OUT/pids")" -eq 2 ]
    run -1 grep -F "Restarting 'app/a'" "$BATS_TEST_TMPDIR/forkvisor.log"
    [ "$(state_of app/keep)" = running ]
    fv_stop
    no_survivors
}

@test "transient: normal_exit = 0 3 makes exit 3 normal" {
    conf t.ini <<'INI'
[supervisor:app]
children = keep, a
[worker:keep]
exec = @W@/sleeper
[worker:a]
exec = @W@/exit-with 3 200
restart = transient
normal_exit = 0 3
INI
    fv_start t.ini
    run -0 fv wait app/a --state stopped --timeout 5000
    run -0 fv info app/a
    assert_line "state: stopped"
    assert_line "restarts: 0"
    assert_line "last exit: status 3"
    run -1 grep -F "Restarting 'app/a'" "$BATS_TEST_TMPDIR/forkvisor.log"
    fv_stop
    no_survivors
}

@test "transient: normal_exit does not cover other codes" {
    conf t.ini <<'INI'
[supervisor:app]
intensity = 10
children = a
[worker:a]
exec = @W@/exit-with 4 200
restart = transient
normal_exit = 0 3
INI
    fv_start t.ini
    local old; old=$(pid_of app/a)
    retry 100 0.05 pid_changed app/a "$old"
    fv_stop
    no_survivors
}

@test "transient: killed by a signal the supervisor did not send is abnormal" {
    conf t.ini <<'INI'
[supervisor:app]
children = a
[worker:a]
exec = @W@/sleeper
restart = transient
INI
    fv_start t.ini
    local old; old=$(pid_of app/a)
    # TERM is the stop signal, but the supervisor did not send it.
    kill -TERM "$old"
    retry 100 0.05 pid_changed app/a "$old"
    run -0 fv info app/a
    assert_line "restarts: 1"
    assert_line "last exit: signal TERM"
    fv_stop
    no_survivors
}

@test "temporary: never restarted, even after a crash" {
    conf t.ini <<'INI'
[supervisor:app]
children = keep, a
[worker:keep]
exec = @W@/sleeper
[worker:a]
exec = @W@/crash-after 200
restart = temporary
INI
    fv_start t.ini
    local keep; keep=$(pid_of app/keep)
    run -0 fv wait app/a --state stopped --timeout 5000
    run -0 fv info app/a
    assert_line "state: stopped"
    assert_line "restarts: 0"
    assert_line "last exit: status 1"
    run -1 grep -F "Restarting 'app/a'" "$BATS_TEST_TMPDIR/forkvisor.log"
    [ "$(pid_of app/keep)" = "$keep" ]
    fv_stop
    no_survivors
}

@test "temporary: not restarted after SIGKILL" {
    conf t.ini <<'INI'
[supervisor:app]
children = keep, a
[worker:keep]
exec = @W@/sleeper
[worker:a]
exec = @W@/sleeper
restart = temporary
INI
    fv_start t.ini
    local old; old=$(pid_of app/a)
    kill -KILL "$old"
    run -0 fv wait app/a --state stopped --timeout 5000
    run -0 fv info app/a
    assert_line "state: stopped"
    assert_line "restarts: 0"
    fv_stop
    no_survivors
}

@test "restart_delay: restarting for a while, then running" {
    stamp_script
    conf t.ini <<INI
[supervisor:app]
intensity = 10
children = a
[worker:a]
exec = $BATS_TEST_TMPDIR/stamp $WORKERS/crash-after 200
restart_delay = 300
INI
    fv_start t.ini
    local old; old=$(pid_of app/a)
    run -0 fv wait app/a --state restarting --timeout 5000
    [ "$(state_of app/a)" = restarting ]
    run -0 fv wait app/a --state running --timeout 5000
    run -0 fv info app/a
    refute_line "pid: $old"
    assert_line --regexp '^restarts: [1-9]'
    # crash after 200 ms + 300 ms of delay between the two starts.
    local g; g=$(gaps "$FV_TEST_OUT/a.starts" | head -1)
    echo "gap: $g ms" >&2
    [ "$g" -ge 480 ]
    fv_stop
    no_survivors
}

@test "restart_delay with restart_delay_max doubles on each consecutive failure" {
    stamp_script
    conf t.ini <<INI
[supervisor:app]
intensity = 10
children = a
[worker:a]
exec = $BATS_TEST_TMPDIR/stamp $WORKERS/crash-after 50
restart_delay = 100
restart_delay_max = 1000
INI
    fv_start t.ini
    retry 100 0.05 lines_at_least 4 "$FV_TEST_OUT/a.starts"
    local -a g; mapfile -t g < <(gaps "$FV_TEST_OUT/a.starts")
    echo "gaps: ${g[*]} ms" >&2
    # 50 ms of run + 100, 200, 400 ms of delay.
    [ "${g[0]}" -ge 140 ]
    [ "${g[1]}" -ge 240 ]
    [ "${g[2]}" -ge 440 ]
    [ "${g[1]}" -gt "${g[0]}" ]
    [ "${g[2]}" -gt "${g[1]}" ]
    fv_stop
    no_survivors
}

@test "restart_delay_max caps the doubling" {
    stamp_script
    conf t.ini <<INI
[supervisor:app]
intensity = 10
children = a
[worker:a]
exec = $BATS_TEST_TMPDIR/stamp $WORKERS/crash-after 50
restart_delay = 100
restart_delay_max = 200
INI
    fv_start t.ini
    retry 100 0.05 lines_at_least 4 "$FV_TEST_OUT/a.starts"
    local -a g; mapfile -t g < <(gaps "$FV_TEST_OUT/a.starts")
    echo "gaps: ${g[*]} ms" >&2
    # 50 ms of run + 100, 200, 200 ms (400 without the cap).
    [ "${g[1]}" -ge 240 ]
    [ "${g[2]}" -ge 240 ]
    [ "${g[2]}" -lt 420 ]
    fv_stop
    no_survivors
}

@test "restart_delay without restart_delay_max stays constant" {
    stamp_script
    conf t.ini <<INI
[supervisor:app]
intensity = 10
children = a
[worker:a]
exec = $BATS_TEST_TMPDIR/stamp $WORKERS/crash-after 50
restart_delay = 150
INI
    fv_start t.ini
    retry 100 0.05 lines_at_least 4 "$FV_TEST_OUT/a.starts"
    local -a g; mapfile -t g < <(gaps "$FV_TEST_OUT/a.starts")
    echo "gaps: ${g[*]} ms" >&2
    [ "${g[0]}" -ge 190 ]
    [ "${g[2]}" -ge 190 ]
    [ "${g[2]}" -lt 400 ]
    fv_stop
    no_survivors
}
