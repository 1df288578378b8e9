# SPDX-License-Identifier: MIT
# Operator state survives the daemon (issue 15, point 6): a child stopped with `forkvisor stop`
# stays stopped when the daemon starts again, as runit's and s6's `down` files; `start` and
# `restart` end the hold; shutdown and SIGTERM hold nothing. Holds are files in state_dir
# (default: CONTROL.held beside the control socket).
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=30}"

setup() { load test_helper; }
teardown() {
    fv_teardown
    ! mountpoint -q "$BATS_TEST_TMPDIR/small" || umount "$BATS_TEST_TMPDIR/small"
}

held_dir() { echo "$BATS_TEST_TMPDIR/run/control.sock.held"; }
# holds: the held paths on disk, one per line, sorted (what the files say).
holds() { cat "$(held_dir)"/* 2>/dev/null | sort; }

@test "a stopped worker stays stopped across a restart of the daemon; start ends the hold" {
    sleepers_ini a b c
    fv_start t.ini
    run -0 fv stop app/b
    [ "$(holds)" = app/b ]
    [ "$(stat -c %a "$(held_dir)")" = 700 ]
    fv_stop
    # SIGTERM stopped everything, but held nothing more.
    [ "$(holds)" = app/b ]

    fv_start t.ini
    [ "$(state_of app/b)" = stopped ]
    [ -z "$(pid_of app/b)" ]
    [ "$(state_of app/a)" = running ]
    [ "$(state_of app/c)" = running ]
    [ "$(state_of app)" = running ]
    fv status | grep -E '^app/b +worker +stopped'
    fv info app/b | grep -x 'exit reason: operator'
    fv info app/b | grep -x 'reason: held: stopped by the operator before the daemon started'
    fv tree | grep -E 'b +stopped'
    grep -F "'app/b' is held" "$(fv_log)"

    run -0 fv start app/b
    [ -z "$(holds)" ]
    run -0 fv shutdown
    fv_wait_exit
    [ -z "$(holds)" ]

    fv_start t.ini
    [ "$(state_of app/b)" = running ]
    # restart ends a hold too.
    run -0 fv stop app/c
    [ "$(holds)" = app/c ]
    run -0 fv restart app/c
    [ -z "$(holds)" ]
    fv_stop
    no_survivors
}

@test "a held supervisor keeps its subtree down across a restart; its siblings after it start" {
    app_ini sub:{ x:@W@/sleeper y:@W@/sleeper } z:@W@/sleeper
    fv_start t.ini
    run -0 fv stop app/sub
    fv_stop
    fv_start t.ini
    [ "$(state_of app/sub)" = stopped ]
    [ "$(state_of app/sub/x)" = stopped ]
    [ "$(state_of app/z)" = running ]
    run -0 fv start app/sub
    [ "$(state_of app/sub/y)" = running ]
    fv_stop
    no_survivors
}

@test "a state_dir of another uid, or open to others, is refused: the node does not start" {
    [ "$(id -u)" = 0 ] || skip "needs root to chown"
    mkdir -m 0700 "$BATS_TEST_TMPDIR/state"
    chown nobody "$BATS_TEST_TMPDIR/state"
    sleepers_ini a
    printf '[forkvisor]\nstate_dir = %s\n' "$BATS_TEST_TMPDIR/state" > "$BATS_TEST_TMPDIR/s.ini"
    cat "$BATS_TEST_TMPDIR/t.ini" >> "$BATS_TEST_TMPDIR/s.ini"
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/s.ini"
    fv_start_nowait s.ini
    fv_wait_exit
    [ "$FV_STATUS" = 1 ]
    grep -F "Refusing the state directory '$BATS_TEST_TMPDIR/state': it belongs to uid $(id -u nobody), not to uid 0" "$(fv_log)"
    grep -F "Refusing to start" "$(fv_log)"

    chown root "$BATS_TEST_TMPDIR/state"
    chmod 0777 "$BATS_TEST_TMPDIR/state"
    fv_start_nowait s.ini
    fv_wait_exit
    [ "$FV_STATUS" = 1 ]
    grep -F "Refusing the state directory '$BATS_TEST_TMPDIR/state': its mode is 0777, not 0700" "$(fv_log)"

    # A state_dir of its own is made, 0700, and holds there.
    rmdir "$BATS_TEST_TMPDIR/state"
    fv_start s.ini
    [ "$(stat -c %a "$BATS_TEST_TMPDIR/state")" = 700 ]
    run -0 fv stop app/a
    [ "$(cat "$BATS_TEST_TMPDIR/state"/*)" = app/a ]
    fv_stop
    no_survivors
}

@test "a hold of a worker no longer in the configuration is ignored, and logged once" {
    sleepers_ini a b
    fv_start t.ini
    run -0 fv stop app/b
    fv_stop
    sleepers_ini a
    fv_start t.ini
    [ "$(state_of app/a)" = running ]
    [ "$(count_in_log "'app/b' is held but is not in the configuration")" = 1 ]
    # A reload does not say it again; one that brings b back leaves it held.
    run -0 fv reload
    [ "$(count_in_log "'app/b' is held but is not in the configuration")" = 1 ]
    sleepers_ini a b
    run -0 fv reload
    [ "$(state_of app/b)" = stopped ]
    run -0 fv start app/b
    [ -z "$(holds)" ]
    fv_stop
    no_survivors
}

@test "a worker removed by a reload loses its hold: added back, it starts" {
    sleepers_ini a b
    fv_start t.ini
    run -0 fv stop app/b
    [ "$(holds)" = app/b ]
    sleepers_ini a
    run -0 fv reload
    [ -z "$(holds)" ]
    sleepers_ini a b
    run -0 fv reload
    [ "$(state_of app/b)" = running ]
    fv_stop
    no_survivors
}

@test "an instance of simple_one_for_one is not held across restarts; its supervisor is" {
    app_ini fleet:{ strategy=simple_one_for_one template=w instances=3 w:@W@/sleeper }
    fv_start t.ini
    run -0 fv stop app/fleet/w.3
    [ "$(state_of app/fleet/w.3)" = stopped ]
    # The instance's hold lasts as long as the instance: nothing on disk.
    [ -z "$(holds)" ]
    fv_stop
    fv_start t.ini
    [ "$(state_of app/fleet/w.3)" = running ]

    run -0 fv stop app/fleet
    [ "$(holds)" = app/fleet ]
    fv_stop
    fv_start t.ini
    [ "$(state_of app/fleet)" = stopped ]
    [ -z "$(pid_of app/fleet/w.1)" ]
    fv_stop
    no_survivors
}

@test "a state_dir that cannot be written: stop still stops, and says the hold was not kept" {
    sleepers_ini a b
    fv_start t.ini
    local pid; pid=$(pid_of app/b)
    # Gone under the node (its descriptor left on a deleted directory): nothing can be written.
    rmdir "$(held_dir)"
    run -1 fv stop app/b
    [[ $output == *"'app/b': its hold could not be kept, a restart of the daemon starts it again: No such file or directory"* ]]
    [ "$(state_of app/b)" = stopped ]
    pid_dead "$pid"
    grep -F "Cannot keep the hold of 'app/b'" "$(fv_log)"
    # The node goes on: start and stop answer.
    run -0 fv start app/b
    [ "$(state_of app/a)" = running ]
    fv_stop
    fv_start t.ini
    [ "$(state_of app/b)" = running ]
    fv_stop
    no_survivors
}

@test "a full state_dir: stop still stops, says the hold was not kept, and the node goes on" {
    [ "$(id -u)" = 0 ] || skip "needs root to mount"
    mkdir "$BATS_TEST_TMPDIR/small"
    mount -t tmpfs -o size=16k,mode=0700 tmpfs "$BATS_TEST_TMPDIR/small" || skip "cannot mount a tmpfs here"
    sleepers_ini a b
    printf '[forkvisor]\nstate_dir = %s\n' "$BATS_TEST_TMPDIR/small" > "$BATS_TEST_TMPDIR/s.ini"
    cat "$BATS_TEST_TMPDIR/t.ini" >> "$BATS_TEST_TMPDIR/s.ini"
    fv_start s.ini
    dd if=/dev/zero of="$BATS_TEST_TMPDIR/small/fill" bs=4k 2>/dev/null || true
    run -1 fv stop app/b
    [[ $output == *"'app/b': its hold could not be kept, a restart of the daemon starts it again: No space left on device"* ]]
    [ "$(state_of app/b)" = stopped ]
    # No half-written hold, nor a temporary file, is left.
    [ "$(ls -A "$BATS_TEST_TMPDIR/small")" = fill ]
    rm "$BATS_TEST_TMPDIR/small/fill"
    run -0 fv stop app/a
    [ "$(cat "$BATS_TEST_TMPDIR/small/app%2Fa")" = app/a ]
    fv_stop
    umount "$BATS_TEST_TMPDIR/small"
    no_survivors
}
