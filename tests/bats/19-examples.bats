# SPDX-License-Identifier: MIT
# The example configurations of conf/ that README.md walks through, run as the README says: each
# starts, does what its comments promise, and stops cleanly (issue 6: the three kinds of users).
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=30}"

setup() {
    load test_helper
    CONF=$(cd "$BATS_TEST_DIRNAME/../../conf" && pwd)
    # The shell workers of conf/ run `forkvisor` from PATH, else ../build/forkvisor: the one
    # under test.
    export FORKVISOR
}
teardown() { fv_teardown; }

no_zombie_children() { ! ps -o stat= --ppid "$FV_PID" | grep -q Z; }
orphans_reaped() {
    local p
    for p in $(cat "$FV_TEST_OUT"/*.orphans 2>/dev/null); do [[ -e /proc/$p ]] && return 1; done
    return 0
}

@test "examples: container-init.ini reaps the spawner's orphans and stops with status 0" {
    fv_start "$CONF/container-init.ini"
    run -0 fv status
    assert_line --regexp '^init/spawner +worker +running'
    retry 100 0.05 eval 'ls "$FV_TEST_OUT"/*.orphans'
    # The orphans are re-parented to the node (subreaper = yes), exit, and are reaped.
    retry 100 0.05 orphans_reaped
    retry 100 0.05 no_zombie_children
    kill -TERM "$FV_PID"
    fv_wait_exit
    [[ $FV_STATUS -eq 0 ]]
    no_survivors
}

@test "examples: fleet.ini makes 8 instances, one more on demand, and forgets it again" {
    fv_start "$CONF/fleet.ini"
    run -0 fv status
    [[ $(grep -c 'fleet/fleet-worker\.[0-9]* *worker *running' <<<"$output") -eq 8 ]]
    run -0 fv start-child fleet
    assert_output fleet/fleet-worker.9
    run -0 fv whereis fleet-worker.9
    [[ $output -gt 0 ]]
    run -0 fv terminate-child fleet/fleet-worker.9
    run -1 fv info fleet/fleet-worker.9
    run -0 fv shutdown
    fv_wait_exit
    [[ $FV_STATUS -eq 0 ]]
    no_survivors
}

@test "examples: test-job.ini ends by itself with status 0 once the job is done" {
    fv_start_nowait "$CONF/test-job.ini"
    fv_wait_exit
    [[ $FV_STATUS -eq 0 ]]
    run grep -F "Stopped 'test/service'" "$(fv_log)"
    assert_success
    no_survivors
}

@test "examples: mailbox.ini answers calls in C, C GenServer and shell" {
    fv_start "$CONF/mailbox.ini"
    run -0 fv call shecho "it's me"
    assert_output "echo: it's me"
    run -0 fv call echo hello
    assert_output "echo: hello"
    fv send counter "add 41"
    fv send counter inc
    retry 100 0.05 eval '[[ $(fv call counter get) == 42 ]]'
    run -0 fv get-state counter
    assert_output count=42
    run -1 fv call nobody x
    assert_output --partial noproc
}

@test "examples: pubsub.ini delivers by topic and prefix, and reports crashes from events" {
    fv_start "$CONF/pubsub.ini"
    fv publish orders:eu "order 1"
    fv publish orders:us "order 2"
    retry 100 0.05 grep -qF "pubsub/all: orders:us order 2" "$(fv_log)"
    run -0 grep -cF "order 1" "$(fv_log)"
    assert_output 2
    run grep -F "pubsub/eu: orders:us" "$(fv_log)"
    assert_failure
    # flaky exits with status 3 after 5 s; crashes hears of it.
    retry 150 0.05 grep -qF 'pubsub/crashes: forkvisor:exited {"event": "exited", "path": "pubsub/flaky"' "$(fv_log)"
    run -0 fv info pubsub/all
    assert_line "subscriptions: orders:*"
}

@test "examples: demo.ini starts every subtree and shuts down in order" {
    fv_start "$CONF/demo.ini"
    run -0 fv tree
    assert_output --partial talk
    run -0 fv call counter get
    run -0 fv shutdown
    fv_wait_exit
    [[ $FV_STATUS -eq 0 ]]
}

@test "examples: README's shell test, conf/shell-test.sh, passes as written" {
    cd "$CONF/.."
    FORKVISOR=$FORKVISOR run -0 conf/shell-test.sh
}

@test "examples: a round of kill, restart, signal, scale and events since a sequence number passes" {
    run -0 "$BATS_TEST_DIRNAME/../soak/kill-restart-events.sh" "$FORKVISOR_BUILD"
}
