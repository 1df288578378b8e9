# SPDX-License-Identifier: MIT
# Issue 11, part 6: every CLI command has a deadline, and a request whose client gave up is never
# carried out later. The daemon is SIGSTOPped, so nothing it does can answer; clients run in the
# background and are polled (bounded) for their exit.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() {
    # A stopped daemon would ignore fv_stop's SIGTERM; clients of a failed test must not linger.
    [[ -z ${FV_PID:-} ]] || kill -CONT "$FV_PID" 2>/dev/null || true
    local p
    for p in ${CLIENTS:-}; do kill -KILL "$p" 2>/dev/null || true; done
    [[ -z ${TMUX_SOCK:-} ]] || tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
    fv_teardown
}

# client NAME ARGS...: runs `fv ARGS...` in the background; its exit status goes to NAME.rc and its
# stderr to NAME.err in the test's directory.
client() {
    local name=$1; shift
    { local rc=0
      fv "$@" >"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" || rc=$?
      echo "$rc" >"$BATS_TEST_TMPDIR/$name.rc"; } 3>&- &
    CLIENTS+=" $!"
}
# exited NAME...: every named client has exited.
exited() { local n; for n; do [[ -s $BATS_TEST_TMPDIR/$n.rc ]] || return 1; done; }
rc_of() { cat "$BATS_TEST_TMPDIR/$1.rc"; }
err_of() { cat "$BATS_TEST_TMPDIR/$1.err"; }

stop_daemon() { kill -STOP "$FV_PID"; retry 100 0.05 grep -q '^State:.*T' "/proc/$FV_PID/status"; }
cont_daemon() { kill -CONT "$FV_PID"; }

# still_up PATH PID: the daemon runs, PATH runs under PID and was never restarted.
still_up() {
    daemon_running || return 1
    run -0 fv info "$1"
    assert_line "state: running"
    assert_line "pid: $2"
    assert_line "restarts: 0"
}

@test "daemon stopped: status exits 3 within its deadline, saying the daemon did not answer" {
    app_ini a:@W@/sleeper
    fv_start t.ini
    stop_daemon
    client st status --timeout 1000
    # Bounded: 10 s for a 1 s deadline.
    retry 200 0.05 exited st
    [ "$(rc_of st)" -eq 3 ]
    [ "$(err_of st)" = "forkvisor: the daemon at $FV_RUNTIME_DIR/control.sock did not answer within 1000 ms" ]
    cont_daemon
    run -0 fv status
    assert_output --partial "app/a"
    fv_stop
    no_survivors
}

@test "daemon stopped: without --timeout, status gives up after its default 5 s" {
    app_ini a:@W@/sleeper
    fv_start t.ini
    stop_daemon
    client st status
    retry 400 0.05 exited st
    [ "$(rc_of st)" -eq 3 ]
    [ "$(err_of st)" = "forkvisor: the daemon at $FV_RUNTIME_DIR/control.sock did not answer within 5000 ms" ]
    cont_daemon
    fv_stop
    no_survivors
}

@test "daemon stopped: call --timeout 1000 exits 3, the daemon not having taken the call" {
    app_ini echo:@W@/echo mailbox
    fv_start t.ini
    retry 100 0.05 fv whereis echo
    run -0 fv call echo hi --timeout 5000
    stop_daemon
    client c call echo hi --timeout 1000
    client w wait --timeout 1000
    retry 200 0.05 exited c w
    [ "$(rc_of c)" -eq 3 ]
    [ "$(err_of c)" = "forkvisor: the daemon at $FV_RUNTIME_DIR/control.sock did not answer within 1000 ms" ]
    [ "$(rc_of w)" -eq 3 ]
    cont_daemon
    run -0 fv call echo again --timeout 5000
    assert_output --partial "again"
    fv_stop
    no_survivors
}

@test "daemon stopped: an expired shutdown does not fire on SIGCONT" {
    app_ini a:@W@/sleeper b:@W@/sleeper
    fv_start t.ini
    local a; a=$(pid_of app/a)
    stop_daemon
    client sd shutdown --timeout 500
    client rs restart app/a --timeout 500
    retry 200 0.05 exited sd rs
    [ "$(rc_of sd)" -eq 3 ]
    [ "$(err_of sd)" = "forkvisor: the daemon at $FV_RUNTIME_DIR/control.sock did not answer within 500 ms" ]
    [ "$(rc_of rs)" -eq 3 ]
    cont_daemon
    # The daemon has read both requests once it dropped them (each logged); until then a status
    # proves nothing.
    retry 200 0.05 grep -qF "Dropped a 'shutdown' request" "$(fv_log)"
    retry 200 0.05 grep -qF "Dropped a 'restart' request" "$(fv_log)"
    run -0 fv wait --timeout 5000
    # Several round trips later, the tree still runs: nothing of the shutdown went on.
    local i
    for i in 1 2 3 4 5; do still_up app/a "$a"; run -0 fv status; done
    [ "$(count_in_log "Stopped")" -eq 0 ]
    # A fresh command works, and a fresh shutdown ends the daemon as usual.
    run -0 fv shutdown --timeout 10000
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    no_survivors
}

@test "daemon stopped: a client killed while it waits leaves no request to carry out" {
    app_ini a:@W@/sleeper
    fv_start t.ini
    local a; a=$(pid_of app/a)
    stop_daemon
    # A deadline far away: only the client's going away tells the daemon.
    "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" shutdown --timeout 600000 2>/dev/null 3>&- &
    local pid=$!
    CLIENTS+=" $pid"
    # The request is in the socket once the client waits for the answer (in poll(), or in
    # recv() for a client without deadlines).
    retry 200 0.05 grep -qE 'poll|wait_for_more_packets' "/proc/$pid/wchan"
    kill -KILL "$pid"
    # Its socket is closed once it is a zombie.
    retry 200 0.05 pid_dead "$pid"
    cont_daemon
    retry 200 0.05 grep -qF "Dropped a 'shutdown' request: its client is gone" "$(fv_log)"
    still_up app/a "$a"
    fv_stop
    no_survivors
}

@test "daemon stopped: a full listen backlog does not hang connect, and no queued request is carried out" {
    app_ini a:@W@/sleeper
    fv_start t.ini
    local a i names=()
    a=$(pid_of app/a)
    stop_daemon
    # More clients than the backlog (64) holds: the last ones wait in connect() itself.
    for i in $(seq 80); do client "r$i" restart app/a --timeout 2000; names+=("r$i"); done
    retry 400 0.05 exited "${names[@]}"
    for i in "${names[@]}"; do
        [ "$(rc_of "$i")" -eq 3 ] || { echo "$i: $(rc_of "$i") $(err_of "$i")" >&2; return 1; }
        [ "$(err_of "$i")" = "forkvisor: the daemon at $FV_RUNTIME_DIR/control.sock did not answer within 2000 ms" ]
    done
    cont_daemon
    # Those that got into the backlog are read, and dropped, before a later client is answered.
    run -0 fv status
    retry 200 0.05 grep -qF "Dropped a 'restart' request" "$(fv_log)"
    still_up app/a "$a"
    fv_stop
    no_survivors
}

@test "control socket: a request past its deadline is answered 3 and not carried out; one without a deadline (FV1) is" {
    command -v python3 >/dev/null || skip "python3 is needed to send raw requests"
    app_ini a:@W@/sleeper b:@W@/sleeper
    fv_start t.ini
    local a; a=$(pid_of app/a)
    run -0 python3 - "$FV_RUNTIME_DIR/control.sock" <<'PY'
import socket, sys, time
def ask(payload):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    s.send(payload)
    types, err, code = "", b"", None
    while True:
        p = s.recv(70000)
        if not p:
            break
        types += chr(p[0])
        if p[:1] == b"E":
            err += p[1:]
        if p[:1] == b"X":
            code = p[1]
            break
    s.close()
    print(types, code, err.decode().strip())
now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
ask(b"FV2\0deadline=%d\0\0stop\0app/a\0" % (now - 1000000))   # gave up a second ago
ask(b"FV2\0deadline=%d\0\0stop\0app/b\0" % (now + 60000000))  # a minute left
ask(b"FV1\0tree\0")                                          # a client before deadlines
PY
    assert_line --index 0 --regexp "^EX 3 stop: not carried out, its deadline passed 1\.[0-9]s before the daemon read it$"
    assert_line --index 1 "AX 0 "
    assert_line --index 2 --regexp "^O+X 0 $"
    run -0 fv info app/b
    assert_line "state: stopped"
    still_up app/a "$a"
    fv_stop
    no_survivors
}

@test "control socket: a client asks a daemon older than deadlines again without one" {
    command -v python3 >/dev/null || skip "python3 is needed to play an old daemon"
    mkdir -p "$BATS_TEST_TMPDIR/run"
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    # Answers as the daemon before FV2 did: a tag it does not know is malformed.
    python3 - "$FV_RUNTIME_DIR/control.sock" 3>&- <<'PY' &
import socket, sys
l = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
l.bind(sys.argv[1]); l.listen(4)
for _ in range(2):
    c, _ = l.accept()
    req = c.recv(70000)
    if req.startswith(b"FV1\0"):
        c.send(b"O" + req[4:].replace(b"\0", b" ") + b"\n"); c.send(b"X\0")
    else:
        c.send(b"Emalformed request\n"); c.send(b"X\2")
    c.close()
PY
    CLIENTS+=" $!"
    retry 100 0.05 test -S "$FV_RUNTIME_DIR/control.sock"
    run -0 fv status --timeout 2000
    assert_output "status  0 "
}

@test "shutdown timeout: stop --timeout gives up waiting with exit 1, and the daemon goes on stopping" {
    # The worker ignores SIGTERM: its stop takes the whole shutdown timeout, far beyond --timeout.
    app_ini a:@W@/ignore-term shutdown=60000 b:@W@/sleeper
    fv_start t.ini
    local a; a=$(pid_of app/a)
    run -1 fv stop app/a --timeout 2000
    assert_output "forkvisor: timed out after 2000 ms; the daemon goes on with 'stop'"
    # Taken, so carried out: the worker is being stopped.
    run -0 fv info app/a
    assert_line "state: stopping"
    kill -KILL "$a"
    run -0 fv wait app/a --state stopped --timeout 10000
    fv_stop
    no_survivors
}

@test "daemon stopped: top leaves its screen and exits 3 saying the daemon did not answer" {
    command -v tmux >/dev/null || skip "tmux is not installed"
    app_ini a:@W@/sleeper
    fv_start t.ini
    # top in a detached terminal, then the shell says how it ended and waits to be looked at.
    TMUX_SOCK=$BATS_TEST_TMPDIR/tmux.sock
    tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x 120 -y 40 \
        "'$FORKVISOR' --control '$FV_RUNTIME_DIR/control.sock' top; echo \"top exited \$?\"; read _"
    retry 100 0.1 eval 'tmux -S "$TMUX_SOCK" capture-pane -p | grep -qE "^app/a +running"'
    stop_daemon
    # Its next refresh waits the default 5 s for the daemon.
    retry 300 0.1 eval 'tmux -S "$TMUX_SOCK" capture-pane -p | grep -q "^top exited 3$"'
    run -0 tmux -S "$TMUX_SOCK" capture-pane -p
    assert_line "forkvisor: the daemon at $FV_RUNTIME_DIR/control.sock did not answer within 5000 ms"
    refute_output --partial "gone away"
    cont_daemon
    fv_stop
    no_survivors
}
