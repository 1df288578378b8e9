# SPDX-License-Identifier: MIT
# [forkvisor] exit_status = significant (a job's exit status is run's, as a container init
# passes it on) and [worker] min_uptime (a worker that exits within it has failed to start:
# at boot, on a restart, and for start-child, which then reports the failure and keeps nothing).
# Issue 13, points 5 and 12.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=40}" # a daemon that never answers fails the test, not the run

setup() { load test_helper; }
teardown() { fv_teardown; }

# job_ini EXEC: t.ini with app (auto_shutdown = any_significant) over a sleeper s and a temporary
# significant job running EXEC, started last.
job_ini() {
    app_ini auto_shutdown=any_significant \
        s:@W@/sleeper \
        "job:$1" temporary significant=yes
}

# run_to_the_end: start t.ini and wait for run to exit by itself (FV_STATUS).
run_to_the_end() {
    fv_start_nowait t.ini
    fv_wait_exit
}

# job_status_is STATUS EXEC [MODE]: run a job_ini EXEC tree with exit_status = MODE (default
# significant) to its end; run must exit with STATUS and leave no process behind.
job_status_is() {
    job_ini "$2"
    daemon_keys "exit_status=${3:-significant}"
    run_to_the_end
    [ "$FV_STATUS" -eq "$1" ]
    no_survivors
}

@test "exit_status = significant: a job that exits 5 ends run with status 5" {
    job_status_is 5 "@W@/exit-with 5 100"
    run -0 grep -F "exit status 5, its significant child's" "$(fv_log)"
}

@test "exit_status = significant: a job killed by SIGKILL ends run with 128 + 9" {
    job_status_is 137 "@W@/crash-after 100 --signal KILL"
}

@test "exit_status = significant: a job that exits 0 ends run with 0" {
    job_status_is 0 "@W@/exit-with 0 100"
}

@test "exit_status = normal (the default): a job that exits 5 ends run with 0, as before" {
    job_ini "@W@/exit-with 5 100"
    run_to_the_end
    [ "$FV_STATUS" -eq 0 ]
    job_status_is 0 "@W@/exit-with 5 100" normal
}

@test "exit_status = significant: a shutdown still exits 0, a root that gives up still 1" {
    job_ini @W@/sleeper
    daemon_keys exit_status=significant
    fv_start t.ini
    kill -TERM "$FV_PID"
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]

    app_ini intensity=0 auto_shutdown=any_significant \
        "w:@W@/crash-after 100 --exit 5" \
        job:@W@/sleeper temporary significant=yes
    daemon_keys exit_status=significant
    run_to_the_end
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "gave up" "$(fv_log)"
    no_survivors
}

@test "examples: test-job.ini passes a failing job's status on to run" {
    sed -e "s|\.\./build/workers|$WORKERS|" -e "s|\.\./workers|$SHWORKERS|" \
        -e 's|exit-with.sh 0 200|exit-with.sh 3 200|' "$BATS_TEST_DIRNAME/../../conf/test-job.ini" | conf t.ini
    grep -q 'exit-with.sh 3 200' "$BATS_TEST_TMPDIR/t.ini"
    run_to_the_end
    [ "$FV_STATUS" -eq 3 ]
    no_survivors
}

@test "min_uptime: a worker that exits within it fails the tree's start" {
    app_ini s:@W@/sleeper "w:@W@/exit-with 3 0" min_uptime=1000
    run_to_the_end
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "'app/w' failed to start: exited within min_uptime 1000 ms (exit status 3)" "$(fv_log)"
    # Rolled back, not restarted.
    run -0 grep -F "Stopped 'app/s'" "$(fv_log)"
    run -1 grep -F "Restarting" "$(fv_log)"
    no_survivors
}

@test "min_uptime: a worker is running only once it has lived min_uptime" {
    app_ini w:@W@/sleeper min_uptime=3000
    fv_start_nowait t.ini
    retry 200 0.05 file_has "$FV_TEST_OUT/w.started"
    # Spawned (and ready = none) but not up yet: starting, and so is the tree.
    [ "$(state_of app/w)" = starting ]
    [ "$(state_of app)" = starting ]
    run -0 fv wait app/w --state running --timeout 20000
    [ "$(state_of app/w)" = running ]
    [ "$(pid_of app/w)" = "$(cat "$FV_TEST_OUT/w.started")" ]
    run -0 fv wait --timeout 5000
    fv_stop
    no_survivors
}

@test "min_uptime: start-child of an instance that exits at once fails, keeps nothing and spares the fleet" {
    conf w <<'SH'
#!/bin/sh
# An instance started with the argument "crash" exits at once; any other runs.
[ "$1" = crash ] && exit 3
exec @W@/sleeper "$@"
SH
    chmod +x "$BATS_TEST_TMPDIR/w"
    app_ini pool:{ strategy=simple_one_for_one template=w instances=10 intensity=1 period=60 \
        w:w min_uptime=300 }
    fv_start t.ini
    local i pids=()
    for i in {1..10}; do pids[i]=$(pid_of "app/pool/w.$i"); [ -n "${pids[i]}" ]; done

    # Three bad instances in a row: with intensity = 1 two counted crashes would give up.
    for i in 1 2 3; do
        run -1 fv start-child app/pool crash
        assert_output --partial "failed to start: exited within min_uptime 300 ms (exit status 3)"
    done
    run -0 fv status
    refute_output --partial "w.11"
    refute_output --partial "w.13"
    run -1 fv info app/pool/w.11
    run -0 grep -c "app/pool/w\.[0-9]* *worker *running" <<<"$(fv status)"
    assert_output 10

    # The fleet did not notice: same pids, nothing restarted, the supervisor runs.
    for i in {1..10}; do [ "$(pid_of "app/pool/w.$i")" = "${pids[i]}" ]; done
    run -1 grep -F "Restarting" "$(fv_log)"
    [ "$(state_of app/pool)" = running ]
    daemon_running

    # A good instance is answered once it has lived min_uptime.
    run -0 fv start-child app/pool
    assert_output --regexp '^app/pool/w\.[0-9]+$'
    [ "$(state_of "$output")" = running ]
    fv_stop
    no_survivors
}

@test "min_uptime: a restart that exits within it is a failed restart, counted until the supervisor gives up" {
    conf w <<'SH'
#!/bin/sh
# The first run lives; every later one exits at once.
[ -e @T@/ran ] && exit 4
: > @T@/ran
exec @W@/sleeper
SH
    chmod +x "$BATS_TEST_TMPDIR/w"
    app_ini intensity=2 period=60 w:w min_uptime=300
    fv_start t.ini
    kill -KILL "$(pid_of app/w)"
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -cF "'app/w' failed to start: exited within min_uptime 300 ms (exit status 4)" "$(fv_log)"
    assert_output 2
    run -0 grep -F "Supervisor 'app' gave up" "$(fv_log)"
    no_survivors
}
