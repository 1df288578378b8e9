# SPDX-License-Identifier: MIT
# Restart intensity (SPEC 4.3): giving up, escalation to the parent supervisor, the root giving
# up (run exits 1), intensity = 0, and crash loops that stay within intensity.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=20}" # a daemon that never answers fails the test, not the run

setup() { load test_helper; }
teardown() { fv_teardown; }

restarts_at_least() {
    local r; r=$(fv info "$2" | sed -n 's/^restarts: //p')
    [[ -n $r && $r -ge $1 ]]
}

# crash_n_script: $BATS_TEST_TMPDIR/crash-n, which crashes (exit 1 after 100 ms) on its first
# $CRASHES runs, counted in $FV_TEST_OUT/<name>.runs, then sleeps until killed.
crash_n_script() {
    cat >"$BATS_TEST_TMPDIR/crash-n" <<'SH'
#!/bin/sh
f="$FV_TEST_OUT/$FORKVISOR_NAME.runs"
n=$(($(cat "$f" 2>/dev/null || echo 0) + 1))
echo "$n" >"$f"
[ "$n" -gt "$CRASHES" ] && exec "$WORKERS/sleeper"
exec "$WORKERS/crash-after" 100
SH
    chmod +x "$BATS_TEST_TMPDIR/crash-n"
}

# crash_loop INTENSITY PERIOD CRASH_MS RESTARTS TRIES: start app (intensity INTENSITY, period
# PERIOD) over a worker a that crashes after CRASH_MS ms, and wait (TRIES polls, 50 ms apart)
# until a has restarted RESTARTS times.
crash_loop() {
    app_ini "intensity=$1" "period=$2" "a:@W@/crash-after $3"
    fv_start t.ini
    retry "$5" 0.05 restarts_at_least "$4" app/a
}

@test "a worker crashing faster than intensity allows makes its supervisor give up" {
    app_ini intensity=5 \
        keep:@W@/sleeper \
        sub:{ temporary intensity=2 period=5 "c:@W@/crash-after 100" }
    fv_start t.ini
    local keep; keep=$(pid_of app/keep)
    run -0 fv wait app/sub --state failed --timeout 5000
    run -0 grep -F "Supervisor 'app/sub' gave up" "$(fv_log)"
    run -0 grep -F "Restarting 'app/sub/c' (restart 2)" "$(fv_log)"
    run -1 grep -F "Restarting 'app/sub/c' (restart 3)" "$(fv_log)"
    [ "$(count_in_log "Started 'app/sub/c'")" -eq 3 ]
    # The rest of the tree is untouched; the daemon keeps running.
    [ "$(pid_of app/keep)" = "$keep" ]
    [ "$(state_of app)" = running ]
    run -0 fv info app/sub/c
    refute_line --regexp '^state: (running|starting|restarting)'
    fv_stop
    no_survivors
}

@test "the root supervisor giving up ends run with exit 1, children stopped in reverse order" {
    app_ini intensity=2 period=5 k1:@W@/sleeper k2:@W@/sleeper "c:@W@/crash-after 100"
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "Supervisor 'app' gave up: reached restart intensity" "$(fv_log)"
    run -0 grep -F "Restarting 'app/c' (restart 2)" "$(fv_log)"
    run -1 grep -F "Restarting 'app/c' (restart 3)" "$(fv_log)"
    local s1 s2
    s1=$(grep -nF "Stopped 'app/k1'" "$(fv_log)" | cut -d: -f1)
    s2=$(grep -nF "Stopped 'app/k2'" "$(fv_log)" | cut -d: -f1)
    ascending "$s2" "$s1"
    no_survivors
}

@test "intensity = 0 gives up on the first crash" {
    app_ini intensity=0 keep:@W@/sleeper "c:@W@/crash-after 200"
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "Supervisor 'app' gave up" "$(fv_log)"
    run -1 grep -F "Restarting" "$(fv_log)"
    [ "$(count_in_log "Started 'app/c'")" -eq 1 ]
    no_survivors
}

@test "nested: the inner supervisor gives up and the outer one restarts its subtree" {
    crash_n_script
    app_ini intensity=5 \
        s:@W@/sleeper \
        inner:{ intensity=1 y:@W@/sleeper x:crash-n "environment=CRASHES=2 WORKERS=$WORKERS" }
    fv_start t.ini
    local s y; s=$(pid_of app/s) y=$(pid_of app/inner/y)
    # Two crashes of x: one restart, then inner gives up; app restarts inner; x's third run lasts.
    retry 100 0.05 pid_changed app/inner/y "$y"
    run -0 fv wait --timeout 5000
    run -0 grep -F "Supervisor 'app/inner' gave up" "$(fv_log)"
    run -0 grep -F "Restarting 'app/inner' (restart 1)" "$(fv_log)"
    run -0 grep -F "'app/inner/y' (pid $y) killed by signal TERM" "$(fv_log)"
    pid_dead "$y"
    [ "$(cat "$FV_TEST_OUT/x.runs")" -eq 3 ]
    [ "$(pid_of app/s)" = "$s" ]
    run -0 fv info app/inner
    assert_line "state: running"
    assert_line "restarts: 1"
    [ "$(state_of app/inner/x)" = running ]
    fv_stop
    no_survivors
}

@test "nested: when the outer supervisor also reaches its intensity, run exits 1" {
    app_ini intensity=1 period=5 \
        s:@W@/sleeper \
        inner:{ intensity=1 period=5 y:@W@/sleeper "x:@W@/crash-after 100" }
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    [ "$(count_in_log "Supervisor 'app/inner' gave up")" -eq 2 ]
    run -0 grep -F "Restarting 'app/inner' (restart 1)" "$(fv_log)"
    run -0 grep -F "Supervisor 'app' gave up" "$(fv_log)"
    # inner's subtree was started twice, with new pids; s only once.
    [ "$(count_in_log "Started 'app/inner/y'")" -eq 2 ]
    [ "$(grep -F "Started 'app/inner/y'" "$(fv_log)" | sort -u | wc -l)" -eq 2 ]
    [ "$(count_in_log "Started 'app/s'")" -eq 1 ]
    no_survivors
}

@test "a crash loop within intensity keeps restarting" {
    crash_loop 100 1 50 6 200
    run -0 fv status app
    run -1 grep -F "gave up" "$(fv_log)"
    [ "$(state_of app)" = running ]
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    no_survivors
}

@test "restarts spaced wider than a decimal period never reach intensity" {
    crash_loop 1 0.1 250 3 100
    run -1 grep -F "gave up" "$(fv_log)"
    [ "$(state_of app)" = running ]
    fv_stop
    no_survivors
}
