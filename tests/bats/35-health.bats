# SPDX-License-Identifier: MIT
# Health checks (issue 15, point 1): `health = COMMAND` run as the worker runs, every
# health_interval, killed at health_timeout; health_retries failures in a row restart the worker
# as after a crash with reason unhealthy; health_start_period forgives early failures;
# `ready = health` makes it ready at its first pass. Never two checks at once, never a check
# left behind.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=30}"

setup() { load test_helper; }
teardown() { fv_teardown; }

# check_script: a check that counts its runs in runs.txt and passes while the file ok exists.
check_script() {
    test_script check <<'EOF'
echo run >>@T@/runs.txt
test -e @T@/ok
EOF
}

# hanging_check FILE: a check that writes its pid into FILE and never ends.
hanging_check() {
    test_script check <<EOF
echo \$\$ >>@T@/$1
exec sleep 1000
EOF
}

runs() { [[ -r $BATS_TEST_TMPDIR/runs.txt ]] && wc -l <"$BATS_TEST_TMPDIR/runs.txt" || echo 0; }
runs_at_least() { (($(runs) >= $1)); }
health_of() { fv info "$1" | sed -n 's/^health: //p'; }
health_is() { [[ $(health_of "$1") == "$2" ]]; }
last_check() { fv info "$1" | sed -n 's/^last health check: //p'; }
restarts_of() { fv info "$1" | sed -n 's/^restarts: //p'; }
# top_once: one snapshot of `forkvisor top`, in a pipe.
top_once() { "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" top | cat; }
# kept_event EVENT PATH: the first EVENT event of PATH the daemon still keeps.
kept_event() {
    fv events --since 0 --timeout 200 | grep -m1 -F "{\"event\": \"$1\", \"path\": \"$2\","
}

@test "health: a check that passes keeps the worker running and shows healthy in status, info and status --json" {
    check_script
    touch "$BATS_TEST_TMPDIR/ok"
    app_ini w:@W@/sleeper health=@T@/check health_interval=50 plain:@W@/sleeper
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    pid=$(pid_of app/w)
    retry 200 0.05 runs_at_least 4
    [ "$(health_of app/w)" = healthy ]
    [ "$(last_check app/w)" = "passed (exit status 0)" ]
    [ "$(pid_of app/w)" = "$pid" ] && [ "$(restarts_of app/w)" = 0 ]
    fv status | grep -E '^app/w +worker +running .* health: healthy$'
    # Without health: no health in status or info, null in JSON.
    ! fv status | grep -E '^app/plain .*health'
    ! fv info app/plain | grep -q '^health:'
    run -0 fv status --json
    assert_output --partial '"health": {"state": "healthy", "failures": 0, "last": "passed (exit status 0)"}'
    assert_output --partial '"health": null'
    run -0 fv info app/w --json
    assert_output --partial '"health": {"state": "healthy", "failures": 0,'
    fv_stop
    no_survivors
}

@test "health: health_retries failures in a row restart the worker with reason unhealthy (events, info, log)" {
    check_script
    touch "$BATS_TEST_TMPDIR/ok"
    app_ini intensity=10 w:@W@/sleeper health=@T@/check health_interval=50 health_retries=3
    fv_start t.ini
    old=$(pid_of app/w)
    retry 200 0.05 health_is app/w healthy
    rm "$BATS_TEST_TMPDIR/ok"
    run -0 fv wait app/w --restarts 1 --timeout 10000
    # Put right before the successor fails three times too.
    touch "$BATS_TEST_TMPDIR/ok"
    run -0 kept_event exited app/w
    assert_output --regexp "\"pid\": $old, \"signal\": \"TERM\", \"reason\": \"unhealthy\""
    run -0 kept_event restarting app/w
    assert_output --partial '"reason": "unhealthy"'
    fv info app/w | grep -qx 'exit reason: unhealthy'
    grep -q "Health check of 'app/w' failed (exit status 1) (3 of 3)" "$(fv_log)"
    grep -q "'app/w' (pid $old) killed by signal TERM (unhealthy)" "$(fv_log)"
    [ "$(grep -c "Health check of 'app/w' failed" "$(fv_log)")" -ge 3 ]
    retry 200 0.05 health_is app/w healthy
    fv_stop
    no_survivors
}

@test "health: an unhealthy worker counts against restart intensity (intensity = 0 gives up)" {
    check_script
    app_ini intensity=0 w:@W@/sleeper health=@T@/check health_interval=50 health_retries=2
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" = 1 ]
    grep -q "'app/w' is unhealthy: 2 health checks failed in a row" "$(fv_log)"
    grep -q "Supervisor 'app' gave up" "$(fv_log)"
    no_survivors
}

@test "health: ready = health starts the next child only after the first pass" {
    test_script check <<'EOF'
test -e @T@/go || exit 1
touch @T@/passed
EOF
    test_script next <<'EOF'
if [ -e @T@/passed ]; then echo passed; else echo early; fi >@T@/seen.txt
exec sleep 1000
EOF
    app_ini a:@W@/sleeper ready=health health=@T@/check health_interval=50 ready_timeout=60000 b:next
    fv_start_nowait t.ini
    retry 200 0.05 eval '[ "$(state_of app/a)" = starting ]'
    # Failing checks keep it starting (not a restart): b waits.
    retry 200 0.05 eval 'fv info app/a | grep -Eq "^health: starting \([0-9]+ failures\)"'
    [ "$(state_of app/b)" = stopped ]
    [ ! -e "$BATS_TEST_TMPDIR/seen.txt" ]
    touch "$BATS_TEST_TMPDIR/go"
    fv wait --timeout 15000
    [ "$(cat "$BATS_TEST_TMPDIR/seen.txt")" = passed ]
    [ "$(state_of app/a)" = running ] && [ "$(health_of app/a)" = healthy ]
    fv_stop
    no_survivors
}

@test "health: ready = health that never passes within ready_timeout is a failed start" {
    check_script
    app_ini a:@W@/sleeper ready=health health=@T@/check health_interval=50 ready_timeout=500
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" = 1 ]
    grep -q "'app/a' failed to start: not ready within 500 ms" "$(fv_log)"
    no_survivors
}

@test "health: a hanging check is killed at health_timeout and counts as a failure" {
    hanging_check hung.txt
    app_ini w:@W@/sleeper health=@T@/check health_interval=50 health_timeout=300 health_retries=100
    fv_start t.ini
    retry 200 0.05 file_has "$BATS_TEST_TMPDIR/hung.txt"
    first=$(head -1 "$BATS_TEST_TMPDIR/hung.txt")
    retry 200 0.05 eval '[ "$(last_check app/w)" = "timed out after 300 ms" ]'
    pid_dead "$first"
    fv info app/w | grep -Eq '^health: starting \([0-9]+ failures?\)$'
    grep -q "Health check of 'app/w' timed out after 300 ms (1 of 100)" "$(fv_log)"
    [ "$(restarts_of app/w)" = 0 ]
    fv_stop
    no_survivors
}

@test "health: failures within health_start_period do not count; a pass ends it" {
    check_script
    app_ini intensity=10 w:@W@/sleeper health=@T@/check health_interval=50 health_retries=1 \
        health_start_period=600000
    fv_start t.ini
    pid=$(pid_of app/w)
    retry 200 0.05 runs_at_least 4
    [ "$(pid_of app/w)" = "$pid" ] && [ "$(restarts_of app/w)" = 0 ]
    [ "$(health_of app/w)" = starting ]
    grep -q "Health check of 'app/w' failed (exit status 1) (within health_start_period: not counted)" "$(fv_log)"
    touch "$BATS_TEST_TMPDIR/ok"
    retry 200 0.05 health_is app/w healthy
    # The start period is over: the next failure (health_retries = 1) counts.
    rm "$BATS_TEST_TMPDIR/ok"
    run -0 fv wait app/w --restarts 1 --timeout 10000
    fv info app/w | grep -qx 'exit reason: unhealthy'
    fv_stop
    no_survivors
}

@test "health: never two checks at once for one child" {
    test_script check <<'EOF'
echo "start $$" >>@T@/trace.txt
sleep 0.3
echo "end $$" >>@T@/trace.txt
EOF
    app_ini w:@W@/sleeper health=@T@/check health_interval=10
    fv_start t.ini
    retry 300 0.05 eval '(($(grep -c ^end "$BATS_TEST_TMPDIR/trace.txt") >= 4))'
    fv_stop
    # Each start is followed by its own end before the next start.
    run -0 awk '
        $1 == "start" { if (open != "") { print "overlap: " open " and " $2; bad = 1 } open = $2 }
        $1 == "end" { if (open != $2) { print "end of " $2 " while " open " ran"; bad = 1 } open = "" }
        END { exit bad }' "$BATS_TEST_TMPDIR/trace.txt"
    no_survivors
}

@test "health: a check running at shutdown is killed, nothing survives" {
    hanging_check check.pid
    app_ini w:@W@/sleeper health=@T@/check health_interval=50 health_timeout=600000
    fv_start t.ini
    retry 200 0.05 file_has "$BATS_TEST_TMPDIR/check.pid"
    check=$(cat "$BATS_TEST_TMPDIR/check.pid")
    pid_alive "$check"
    fv_stop
    pid_dead "$check"
    no_survivors
}

@test "check: bad health values are refused with FILE:LINE" {
    printf '[supervisor:app]\nchildren = w\n[worker:w]\nexec = /bin/true\n%s\n' "health_interval = 0" | conf t.ini
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    assert_output --partial "t.ini:5: bad value '0' for health_interval: expected milliseconds from 1"
    for kv in "health_timeout = abc" "health_retries = 0" "health_start_period = -1" "health = %x"; do
        printf '[supervisor:app]\nchildren = w\n[worker:w]\nexec = /bin/true\nhealth = /bin/true\n%s\n' "$kv" | conf t.ini
        run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
        assert_output --partial "t.ini:6: "
        assert_output --partial "${kv%% *}"
    done
    printf '[supervisor:app]\nchildren = w\n[worker:w]\nexec = /bin/true\nready = health\n' | conf t.ini
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    assert_output --partial "t.ini:5: ready = health needs a health check"
    printf '[supervisor:app]\nchildren = w\n[worker:w]\nexec = /bin/true\nhealth_retries = 2\n' | conf t.ini
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    assert_output --partial "t.ini:5: health_retries without health"
    # A one-shot is done when it exits: a check of it would count nothing, for ever.
    printf '[supervisor:app]\nchildren = w\n[worker:w]\nexec = /bin/true\nready = exit\nhealth = /bin/true\n' | conf t.ini
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    assert_output --partial "t.ini:6: health does not apply to ready = exit"
}

@test "health: an unhealthy worker that exits 0 on its stop_signal is still restarted (transient)" {
    check_script
    touch "$BATS_TEST_TMPDIR/ok"
    test_script polite <<'EOF'
trap 'exit 0' TERM
while :; do sleep 0.05; done
EOF
    app_ini intensity=10 w:polite restart=transient health=@T@/check health_interval=50 health_retries=1
    fv_start t.ini
    retry 200 0.05 health_is app/w healthy
    rm "$BATS_TEST_TMPDIR/ok"
    run -0 fv wait app/w --restarts 1 --timeout 10000
    fv info app/w | grep -qx 'exit reason: unhealthy'
    grep -q "'app/w' (pid [0-9]*) exited with status 0 (unhealthy)" "$(fv_log)"
    touch "$BATS_TEST_TMPDIR/ok"
    fv_stop
    no_survivors
}

@test "health: top shows the health of the workers that have a check" {
    check_script
    touch "$BATS_TEST_TMPDIR/ok"
    app_ini w:@W@/sleeper health=@T@/check health_interval=50 health_retries=1000 plain:@W@/sleeper
    fv_start t.ini
    retry 200 0.05 health_is app/w healthy
    run -0 top_once
    assert_line --regexp '^app/w +running +[0-9]+ +0 +[0-9.]+s +0/1024 +- +- +0  healthy$'
    assert_line --regexp '^app/plain +running +[0-9]+ +0 +[0-9.]+s +0/1024 +- +- +0$'
    rm "$BATS_TEST_TMPDIR/ok"
    retry 200 0.05 eval 'fv info app/w | grep -Eq "^health: healthy \([0-9]+ failures?\)"'
    run -0 top_once
    assert_line --regexp '^app/w +running .* +0  healthy \([0-9]+ failures?\)$'
    fv_stop
    no_survivors
}

@test "health: a check that cannot be run fails as one that ran and failed" {
    app_ini intensity=10 w:@W@/sleeper health=@T@/missing health_interval=50 health_retries=2
    fv_start t.ini
    run -0 fv wait app/w --restarts 1 --timeout 10000
    grep -q "Health check of 'app/w' could not be run: No such file or directory (2 of 2)" "$(fv_log)"
    fv info app/w | grep -qx 'exit reason: unhealthy'
    fv_stop
    no_survivors
}

@test "health: a reload that removes the check restarts the worker without one; its hanging check is killed" {
    hanging_check check.pid
    app_ini w:@W@/sleeper health=@T@/check health_interval=50 health_timeout=600000
    fv_start t.ini
    retry 200 0.05 file_has "$BATS_TEST_TMPDIR/check.pid"
    check=$(cat "$BATS_TEST_TMPDIR/check.pid")
    old=$(pid_of app/w)
    app_ini w:@W@/sleeper
    run -0 fv reload
    retry 200 0.05 pid_changed app/w "$old"
    retry 100 0.05 pid_dead "$check"
    ! fv info app/w | grep -q '^health'
    run -0 fv status --json
    refute_output --partial '"state": "starting", "failures"'
    [ "$(wc -l <"$BATS_TEST_TMPDIR/check.pid")" = 1 ]
    fv_stop
    no_survivors
}
