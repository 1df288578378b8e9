# SPDX-License-Identifier: MIT
# The bats helper library users load with `bats_load_library forkvisor` (lib/bats/forkvisor,
# installed under /usr/lib/bats), used as a user's test suite would, against the tree of this
# checkout. The first test is README's shell-test example.
bats_require_minimum_version 1.5.0

setup() {
    # The library of this checkout before an installed one.
    BATS_LIB_PATH="$BATS_TEST_DIRNAME/../../lib/bats:${BATS_LIB_PATH:-/usr/lib/bats}"
    bats_load_library bats-support
    bats_load_library bats-assert
    bats_load_library forkvisor
    : "${FORKVISOR_BUILD:=$BATS_TEST_DIRNAME/../../build}"
    FORKVISOR_BIN="$FORKVISOR_BUILD/forkvisor"
    cat >"$BATS_TEST_TMPDIR/app.ini" <<INI
[supervisor:app]
intensity = 10
children = db, web
[worker:db]
exec = $FORKVISOR_BUILD/workers/sleeper db
[worker:web]
exec = sh -c 'sleep 1000 & wait'
INI
}
teardown() { forkvisor_teardown; }

@test "web comes back after a crash, and nothing outlives the tree" {
    forkvisor_start "$BATS_TEST_TMPDIR/app.ini"
    seq=$(forkvisor_seq)
    old=$(forkvisor_pid app/web)
    new=$(forkvisor_kill app/web KILL)
    [ "$new" != "$old" ]
    assert_forkvisor_event "$seq" exited app/web crash
    [[ $FORKVISOR_EVENT == *"\"pid\": $old,"* ]]
    assert_forkvisor_event "$seq" restarting app/web
    run "$FORKVISOR_BIN" whereis web
    assert_output "$new"
    forkvisor_stop
    [ "$FORKVISOR_STATUS" -eq 0 ]
}

@test "forkvisor_start fails with the daemon's log when the tree does not come up" {
    printf '[supervisor:app]\nchildren = bad\n[worker:bad]\nexec = /nonexistent/program\n' >"$BATS_TEST_TMPDIR/bad.ini"
    # Not `run`: its subshell would keep the daemon's pid from this test.
    if forkvisor_start "$BATS_TEST_TMPDIR/bad.ini" 2>"$BATS_TEST_TMPDIR/err"; then false; fi
    run cat "$BATS_TEST_TMPDIR/err"
    assert_output --partial "did not come up"
    assert_output --partial "/nonexistent/program"
    forkvisor_wait_exit
    [ "$FORKVISOR_STATUS" -ne 0 ]
    assert_forkvisor_no_survivors
}

@test "assert_forkvisor_no_survivors finds what escaped the tree, and forkvisor_teardown kills it" {
    # A worker whose grandchild leaves the session: the daemon kills it at the end (cgroup or
    # subreaper), so a survivor is simulated by one started beside the tree with its mark.
    forkvisor_start "$BATS_TEST_TMPDIR/app.ini"
    BATS_FORKVISOR_TREE="$BATS_TEST_TMPDIR" sleep 1000 3>&- &
    local stray=$!
    run forkvisor_survivors
    assert_line "$stray"
    assert_line "$(forkvisor_pid app/db)"
    run assert_forkvisor_no_survivors
    [ "$status" -ne 0 ]
    assert_output --partial "$stray"
    kill "$stray"
    wait "$stray" || true
    forkvisor_stop
    run forkvisor_survivors
    assert_output ""
}

@test "assert_forkvisor_event fails, listing what it saw, when the event does not come" {
    forkvisor_start "$BATS_TEST_TMPDIR/app.ini"
    seq=$(forkvisor_seq)
    "$FORKVISOR_BIN" restart app/db
    FORKVISOR_TIMEOUT=1000 run assert_forkvisor_event "$seq" gave_up app/db
    [ "$status" -ne 0 ]
    assert_output --partial "no 'gave_up' event for 'app/db'"
    assert_output --partial '"event": "started"'
    forkvisor_stop
}
