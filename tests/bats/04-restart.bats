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

# restarted EXEC [KEY=VALUE]: start app (intensity 10) over a transient worker a running EXEC (@W@
# for the workers' directory), with the setting KEY=VALUE added, and wait until a runs again
# under a new pid; sets old (the caller's) to its first pid.
restarted() {
    app_ini intensity=10 "a:$1" restart=transient ${2:+"$2"}
    fv_start t.ini
    old=$(pid_of app/a)
    retry 100 0.05 pid_changed app/a "$old"
}

# stays_stopped EXEC RESTART STATUS [KEY=VALUE]: start app over a sleeper keep and a worker a
# running EXEC with restart = RESTART (and the setting KEY=VALUE), wait until a has stopped, and
# check that it was not restarted: state stopped, restarts 0, last exit status STATUS. Sets keep
# (the caller's) to keep's pid from before a stopped.
stays_stopped() {
    app_ini keep:@W@/sleeper "a:$1" "restart=$2" ${4:+"$4"}
    fv_start t.ini
    keep=$(pid_of app/keep)
    run -0 fv wait app/a --state stopped --timeout 5000
    run -0 fv info app/a
    assert_line "state: stopped"
    assert_line "restarts: 0"
    assert_line "last exit: status $3"
}

# delay_gaps DELAY [MAX]: run a worker a that crashes after 50 ms, with restart_delay = DELAY (and
# restart_delay_max = MAX), until it has started 4 times; sets g (the caller's array) to the gaps
# in ms between its starts.
delay_gaps() {
    stamp_script
    app_ini intensity=10 "a:stamp @W@/crash-after 50" "restart_delay=$1" ${2:+"restart_delay_max=$2"}
    fv_start t.ini
    retry 100 0.05 lines_at_least 4 "$FV_TEST_OUT/a.starts"
    mapfile -t g < <(gaps "$FV_TEST_OUT/a.starts")
    echo "gaps: ${g[*]} ms" >&2
}

@test "permanent: restarted after SIGKILL with a new pid and restarts 1" {
    sleepers_ini a
    fv_start t.ini
    local old; old=$(pid_of app/a)
    [ -n "$old" ]
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/a "$old"
    run -0 fv info app/a
    assert_line "state: running"
    assert_line "restarts: 1"
    assert_line "last exit: signal KILL"
    run -0 grep -F "'app/a' (pid $old) killed by signal KILL" "$(fv_log)"
    run -0 grep -F "Restarting 'app/a' (restart 1)" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "transient: restarted after exit 3" {
    local old
    restarted "@W@/exit-with 3 300"
    run -0 grep -F "'app/a' (pid $old) exited with status 3" "$(fv_log)"
    run -0 grep -F "Restarting 'app/a' (restart 1)" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "transient: restarted after a crash (exit 1)" {
    local old
    restarted "@W@/crash-after 300"
    run -0 grep -F "'app/a' (pid $old) exited with status 1" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "transient: not restarted after exit 0" {
    local keep
    # A restart would have followed the exit in the same step: the state is final once stopped.
    stays_stopped "@W@/exit-with 0 200" transient 0
    [ "$(grep -c . "$FV_TEST_OUT/pids")" -eq 2 ]
    run -1 grep -F "Restarting 'app/a'" "$(fv_log)"
    [ "$(state_of app/keep)" = running ]
    fv_stop
    no_survivors
}

@test "transient: normal_exit = 0 3 makes exit 3 normal" {
    local keep
    stays_stopped "@W@/exit-with 3 200" transient 3 "normal_exit=0 3"
    run -1 grep -F "Restarting 'app/a'" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "transient: normal_exit does not cover other codes" {
    local old
    restarted "@W@/exit-with 4 200" "normal_exit=0 3"
    fv_stop
    no_survivors
}

@test "transient: killed by a signal the supervisor did not send is abnormal" {
    app_ini a:@W@/sleeper restart=transient
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
    local keep
    stays_stopped "@W@/crash-after 200" temporary 1
    run -1 grep -F "Restarting 'app/a'" "$(fv_log)"
    [ "$(pid_of app/keep)" = "$keep" ]
    fv_stop
    no_survivors
}

@test "temporary: not restarted after SIGKILL" {
    app_ini keep:@W@/sleeper a:@W@/sleeper temporary
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
    app_ini intensity=10 "a:stamp @W@/crash-after 200" restart_delay=300
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
    local -a g
    delay_gaps 100 1000
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
    local -a g
    delay_gaps 100 200
    # 50 ms of run + 100, 200, 200 ms (400 without the cap). The gaps only bound it from below
    # (a loaded machine stretches them); the delay chosen is in the log.
    [ "${g[1]}" -ge 240 ]
    [ "${g[2]}" -ge 240 ]
    run -0 grep -F "Restarting 'app/a' (restart 3) in 200 ms" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "restart_delay without restart_delay_max stays constant" {
    local -a g
    delay_gaps 150
    [ "${g[0]}" -ge 190 ]
    [ "${g[2]}" -ge 190 ]
    [ "${g[2]}" -lt 400 ]
    fv_stop
    no_survivors
}
