# SPDX-License-Identifier: MIT
# The plan's "control socket (modes, foreign uid, bad requests, idle, paths)" and "fd exhaustion"
# cases: where the sockets may live and what may be replaced, who is heard on them, and that no
# client, idle or hammering, can lock the others out or make the node spin.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() {
    local p
    for p in ${HOLD_PIDS:-}; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    fv_teardown
}

CLIENTS="$BATS_TEST_DIRNAME/ctl-clients.py"

# A command prefix, word-split where used, so that a background job's pid is the command's own.
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
need_other_user() {
    [[ $(id -u) -eq 0 ]] || skip "needs root to run as another user"
    command -v setpriv >/dev/null || skip "needs setpriv"
}

# clients CMD ARGS...: ctl-clients.py in the background (as the user prefix in $AS, if set);
# its pid is killed at teardown.
clients() {
    $AS /usr/bin/python3 "$CLIENTS" "$@" 3>&- &
    HOLD_PIDS+=" $!"
    LAST_CLIENT=$!
}
# open_count FILE N: the holder writing FILE has exactly N connections still open.
open_count() { [[ -r $1 && $(cat "$1") == "$2" ]]; }

# fv_start_default: a daemon with no --control: the default path (with the environment the
# caller set), as FV_PID; fv then talks to $FV_RUNTIME_DIR/control.sock.
fv_start_default() {
    export FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_TEST_OUT"
    $AS "$FORKVISOR" run "$BATS_TEST_TMPDIR/t.ini" >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
}

# start_as_nobody: the daemon runs as nobody, on a socket in a directory of nobody's.
start_as_nobody() {
    need_other_user
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run" FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    chown 65534:65534 "$FV_RUNTIME_DIR"
    chmod 0777 "$FV_TEST_OUT"
    chmod o+r "$BATS_TEST_TMPDIR/t.ini"
    make_reachable "$FV_RUNTIME_DIR"
    $NOBODY "$FORKVISOR" run "$BATS_TEST_TMPDIR/t.ini" --control "$FV_RUNTIME_DIR/control.sock" \
        >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    retry 100 0.05 fv wait --timeout 100
}

@test "control socket: the default directory is made 0700; one not ours, open to others or a symlink is refused" {
    sleepers_ini a
    local rt=$BATS_TEST_TMPDIR/rt
    # Missing: made 0700, and the socket in it is 0600 from the start.
    export RUNTIME_DIRECTORY=$rt FV_RUNTIME_DIR=$rt
    fv_start_default
    retry 100 0.05 fv wait --timeout 100
    [ "$(stat -c %a "$rt")" = 700 ]
    [ "$(stat -c %a "$rt/control.sock")" = 600 ]
    run -0 "$FORKVISOR" status # the client finds it by the same rules
    fv_stop

    # Open to others (another user made it first, 0777): refused, nothing made in it.
    rm -rf "$rt"; mkdir -m 0777 "$rt"
    fv_start_default
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "Refusing the runtime directory '$rt': its mode is 0777, not 0700" "$(fv_log)"
    [ -z "$(ls -A "$rt")" ]
    run ! "$FORKVISOR" status
    [[ $output == *"Refusing the runtime directory"* ]]

    # Not ours.
    chmod 0700 "$rt"; chown 65534 "$rt"
    fv_start_default
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "Refusing the runtime directory '$rt': it belongs to uid 65534, not to uid 0" "$(fv_log)"

    # A symlink, even to a good directory of ours.
    rm -rf "$rt"; mkdir -m 0700 "$BATS_TEST_TMPDIR/real"; ln -s real "$rt"
    fv_start_default
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "Refusing the runtime directory '$rt': it is a symbolic link" "$(fv_log)"
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/real")" ]
    no_survivors
}

@test "control socket: a foreign-owned 0777 /tmp/forkvisor-UID is refused" {
    need_other_user
    sleepers_ini a
    chmod o+r "$BATS_TEST_TMPDIR/t.ini"
    # The fallback directory under $TMPDIR, so that the real /tmp/forkvisor-65534 is not touched.
    local tmp=$BATS_TEST_TMPDIR/tmp
    mkdir -m 1777 "$tmp"; make_reachable "$tmp"
    mkdir -m 0777 "$tmp/forkvisor-65534" # made by root, before the user's first run
    AS="$NOBODY env -u XDG_RUNTIME_DIR -u RUNTIME_DIRECTORY TMPDIR=$tmp"
    fv_start_default
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "Refusing the runtime directory '$tmp/forkvisor-65534': it belongs to uid 0, not to uid 65534" "$(fv_log)"
    [ -z "$(ls -A "$tmp/forkvisor-65534")" ]

    # Without it, the user's first run makes it, 0700 and theirs.
    rmdir "$tmp/forkvisor-65534"
    fv_start_default
    export FV_RUNTIME_DIR=$tmp/forkvisor-65534
    retry 100 0.05 fv wait --timeout 100
    [ "$(stat -c '%u %a' "$tmp/forkvisor-65534")" = "65534 700" ]
    [ "$(stat -c '%u %a' "$tmp/forkvisor-65534/control.sock")" = "65534 600" ]
    [ "$(stat -c '%u %a' "$tmp/forkvisor-65534/control.sock.notify")" = "65534 600" ]
    fv_stop
    no_survivors
}

@test "control socket: --control on a file, or a file on PATH.notify, is never deleted" {
    sleepers_ini a
    local run=$BATS_TEST_TMPDIR/run
    mkdir -p "$run"
    echo precious >"$run/control.sock"
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "Refusing to replace '$run/control.sock': it exists and is not a socket" "$(fv_log)"
    [ "$(cat "$run/control.sock")" = precious ]

    rm "$run/control.sock"
    echo precious >"$run/control.sock.notify"
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "Refusing to replace '$run/control.sock.notify': it exists and is not a socket" "$(fv_log)"
    [ "$(cat "$run/control.sock.notify")" = precious ]
    [ ! -e "$run/control.sock" ] # what it made before giving up is removed

    # A symlink there is neither followed nor removed: its target keeps its mode.
    rm "$run/control.sock.notify"
    echo precious >"$BATS_TEST_TMPDIR/target"; chmod 0600 "$BATS_TEST_TMPDIR/target"
    ln -s "$BATS_TEST_TMPDIR/target" "$run/control.sock.notify"
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    [ -L "$run/control.sock.notify" ]
    [ "$(stat -c %a "$BATS_TEST_TMPDIR/target")" = 600 ]
    [ "$(cat "$BATS_TEST_TMPDIR/target")" = precious ]

    # A stale socket of ours (its daemon died) is replaced.
    rm "$run/control.sock.notify"
    fv_start t.ini
    kill -KILL "$FV_PID"; wait "$FV_PID" 2>/dev/null || true; unset FV_PID
    [ -S "$run/control.sock" ] && [ -S "$run/control.sock.notify" ]
    fv_start t.ini
    run -0 fv status
    fv_stop
    no_survivors
}

@test "control socket: sockets have their modes from the start; the notify socket hears only children" {
    need_other_user
    # Root node: nobody's notify child reaches the socket through an inherited descriptor,
    # though the runtime directory is closed to it.
    app_ini "n:@W@/notify-after 0 --status hello" ready=notify user=nobody "q:@W@/notify-after 0 --no-ready" \
        ready=notify ready_timeout=600000
    mkdir -p "$BATS_TEST_TMPDIR/run"; chmod 0700 "$BATS_TEST_TMPDIR/run"
    mkdir -p "$BATS_TEST_TMPDIR/out"; chmod 0777 "$BATS_TEST_TMPDIR/out"
    make_reachable "$BATS_TEST_TMPDIR/out"
    fv_start_nowait t.ini
    retry 100 0.05 file_has "$FV_TEST_OUT/n.ready"
    [ "$(stat -c %a "$FV_RUNTIME_DIR/control.sock")" = 600 ]
    [ "$(stat -c %a "$FV_RUNTIME_DIR/control.sock.notify")" = 622 ]
    retry 100 0.05 test "$(state_of app/n)" = running
    run -0 fv info app/n
    [[ $output == *hello* ]]

    # q never says READY=1; an outsider saying it for q is not heard (its pid is no child).
    command -v ss >/dev/null || skip "needs ss (iproute2) to see the notify socket's queue"
    local notify=$FV_RUNTIME_DIR/control.sock.notify
    python3 "$CLIENTS" dgram "$notify" "b'READY=1\nSTATUS=forged'"
    # Read by the node once the socket's queue is empty.
    retry 100 0.05 bash -c "ss -xa | grep -F '$notify' | awk '{ exit \$3 != 0 }'"
    [ "$(state_of app/q)" = starting ]
    run -0 fv info app/q
    [[ $output != *forged* ]]
    fv_stop
    no_survivors
}

@test "control socket: a bad request is answered and the node goes on" {
    sleepers_ini a
    fv_start t.ini
    run -0 python3 "$CLIENTS" send "$FV_RUNTIME_DIR/control.sock" "b'garbage\x00\xff'"
    [[ $output == *malformed\ request* ]]
    run -0 python3 "$CLIENTS" send "$FV_RUNTIME_DIR/control.sock" "b'FV1'" 100000
    [[ $output == *too\ long* ]]
    run -0 fv status
    fv_stop
    no_survivors
}

@test "control socket: idle connections are closed, at most 64 per uid, root always gets in, waiters stay" {
    sleepers_ini a
    start_as_nobody
    # nobody opens 70 connections and sends nothing: 64 are kept, the rest closed at once.
    AS=$NOBODY clients hold "$FV_RUNTIME_DIR/control.sock" 70 "$FV_TEST_OUT/held"
    retry 200 0.05 open_count "$FV_TEST_OUT/held" 64
    run -0 grep -F "Too many control connections" "$(fv_log)"
    run ! $NOBODY "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" status
    run -0 fv status # root is not counted with nobody
    # A request handed to the daemon is not idle, however long it waits.
    fv wait app/a --state stopped --timeout 60000 3>&- &
    local waiter=$!
    HOLD_PIDS+=" $waiter"
    # Nor is a stream that waits for events.
    fv events >"$BATS_TEST_TMPDIR/events" 3>&- &
    local events=$!
    HOLD_PIDS+=" $events"
    # The idle ones go after 10 s; then nobody gets in again.
    retry 600 0.05 open_count "$FV_TEST_OUT/held" 0
    pid_alive "$waiter"
    pid_alive "$events"
    run -0 $NOBODY "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" status
    fv stop app/a
    wait "$waiter"
    retry 100 0.05 grep -qF '"event": "exited"' "$BATS_TEST_TMPDIR/events"
    fv_stop
    no_survivors
}

# cpu_ticks PID: utime + stime of PID, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

@test "fd exhaustion: out of fds at accept, the node backs off instead of spinning, and recovers" {
    sleepers_ini a
    fv_start t.ini
    # Room for a handful more descriptors, then held connections take them.
    local n; n=$(ls "/proc/$FV_PID/fd" | wc -l)
    prlimit --pid "$FV_PID" --nofile=$((n + 4))
    clients hold "$FV_RUNTIME_DIR/control.sock" 12 "$BATS_TEST_TMPDIR/held"
    retry 200 0.05 grep -qF "Cannot accept control connections" "$(fv_log)"
    clients hammer "$FV_RUNTIME_DIR/control.sock"
    local hammer=$LAST_CLIENT
    # A bound on a defect, not a speed figure: a spinning loop takes a whole core.
    local hz t0 t1; hz=$(getconf CLK_TCK)
    t0=$(cpu_ticks "$FV_PID"); sleep 1; t1=$(cpu_ticks "$FV_PID")
    echo "daemon CPU over 1 s while out of fds: $((t1 - t0)) of $hz ticks"
    [ $((t1 - t0)) -lt $((hz * 30 / 100)) ]
    [ "$(count_in_log "Cannot accept control connections")" -eq 1 ]
    # Once the clients let go, it answers again.
    kill $HOLD_PIDS; wait $HOLD_PIDS 2>/dev/null || true; HOLD_PIDS=
    retry 100 0.1 fv status
    run -0 grep -F "Accepting control connections again" "$(fv_log)"
    daemon_running
    fv_stop
    no_survivors
}
