# SPDX-License-Identifier: MIT
# The command line itself: version, help, usage errors, exit statuses, a missing daemon.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() { fv_teardown; }

@test "--version prints the version" {
    run -0 "$FORKVISOR" --version
    assert_output --regexp '^forkvisor [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "every subcommand has --help" {
    for cmd in run check status tree info start stop restart start-child terminate-child wait shutdown whereis; do
        run -0 "$FORKVISOR" "$cmd" --help
        assert_output --partial "Usage: forkvisor $cmd"
    done
}

@test "an unknown subcommand is a usage error" {
    run -2 "$FORKVISOR" frobnicate
    assert_output --partial "unknown command 'frobnicate'"
}

@test "a missing argument is a usage error" {
    run -2 "$FORKVISOR" info
    run -2 "$FORKVISOR" check
    run -2 "$FORKVISOR" wait --timeout soon
}

@test "no daemon at the control socket exits 3" {
    run -3 "$FORKVISOR" --control "$BATS_TEST_TMPDIR/nothing.sock" status
    assert_output --partial "no daemon at"
}

@test "run starts the tree and shutdown stops it with exit 0" {
    sleepers_ini a
    fv_start t.ini
    run -0 fv status
    assert_output --partial "app/a"
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    no_survivors
}
