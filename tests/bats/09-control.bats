# SPDX-License-Identifier: MIT
# The control socket and the operator commands that read the tree: permissions (mode and peer
# credentials), wait timeouts, status --json, whereis, info, tree, malformed requests, and a
# second daemon on the same socket.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() { fv_teardown; }

# as_nobody CMD...: run CMD as uid/gid 65534 with no supplementary groups.
as_nobody() {
    if command -v setpriv >/dev/null; then
        setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
    else
        runuser -u nobody -- "$@"
    fi
}
need_other_user() {
    [[ $(id -u) -eq 0 ]] || skip "needs root to run a client as another user"
    command -v setpriv >/dev/null || command -v runuser >/dev/null ||
        skip "needs setpriv or runuser to run a client as another user"
}

two_workers() {
    app_ini a:@W@/sleeper sub:{ b:@S@/sleeper.sh }
}

# start_for_nobody: start two_workers with the runtime directory open to other users (and every
# directory above it traversable), so that what refuses them is the control socket itself.
start_for_nobody() {
    need_other_user
    two_workers
    fv_start t.ini
    make_reachable "$FV_RUNTIME_DIR"
    chmod o+rx "$FV_RUNTIME_DIR"
}

@test "the control socket is mode 0600 and owned by the daemon's user" {
    two_workers
    fv_start t.ini
    [ -S "$FV_RUNTIME_DIR/control.sock" ]
    [ "$(stat -c %a "$FV_RUNTIME_DIR/control.sock")" = 600 ]
    [ "$(stat -c %u "$FV_RUNTIME_DIR/control.sock")" = "$(id -u)" ]
    fv_stop
    no_survivors
    # Removed again on an orderly exit.
    [ ! -e "$FV_RUNTIME_DIR/control.sock" ]
}

@test "a client of another user is refused by the socket's mode" {
    start_for_nobody
    # nobody can reach the socket file, so the refusal is the socket's own.
    as_nobody test -S "$FV_RUNTIME_DIR/control.sock"
    run as_nobody "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" status
    [ "$status" -ne 0 ]
    assert_output --partial "permission denied"
    refute_output --partial "app/a"
    run -1 as_nobody "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" shutdown
    # The daemon is unharmed and still serves its own user.
    run -0 fv status
    assert_output --partial "app/a"
    fv_stop
    no_survivors
}

@test "the daemon itself refuses a client of another user (SO_PEERCRED)" {
    start_for_nobody
    # Open the socket's mode up: only the peer credential check is left.
    chmod 666 "$FV_RUNTIME_DIR/control.sock"
    local i
    for i in 1 2 3; do
        run -1 as_nobody "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" shutdown
        assert_output --partial "permission denied"
    done
    run -1 as_nobody "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" status
    assert_output --partial "permission denied"
    refute_output --partial "app/a"
    kill -0 "$FV_PID"
    run -0 fv status
    assert_output --partial "app/sub/b"
    fv_stop
    no_survivors
}

@test "wait on a state never reached times out with exit 1" {
    two_workers
    fv_start t.ini
    local t0 t1
    t0=$(date +%s%N)
    run -1 fv wait app/a --state stopped --timeout 100
    t1=$(date +%s%N)
    assert_output --partial "timed out"
    (( (t1 - t0) / 1000000 >= 90 ))
    run -1 fv wait --state stopped --timeout 100
    # A state that is reached answers at once.
    run -0 fv wait app/sub/b --state running --timeout 100
    run -0 fv wait --timeout 100
    # --timeout 0 checks without waiting.
    run -0 fv wait app/a --timeout 0
    run -1 fv wait app/a --state stopped --timeout 0
    assert_output --partial "timed out"
    # Waiting on an unknown path is not a success either.
    run -1 fv wait app/nope --timeout 100
    fv_stop
    no_survivors
}

@test "status --json is valid JSON with every path" {
    two_workers
    fv_start t.ini
    run -0 fv status --json
    local json=$output
    if command -v python3 >/dev/null; then
        run -0 python3 -c '
import json, sys
rows = json.load(sys.stdin)["processes"]
for r in rows:
    print(r["path"], r["state"], r["pid"] if r["pid"] is not None else "-")
' <<<"$json"
    elif command -v jq >/dev/null; then
        run -0 jq -r '.processes[] | "\(.path) \(.state) \(.pid // "-")"' <<<"$json"
    else
        skip "neither python3 nor jq is installed to validate JSON"
    fi
    assert_line "app running -"
    assert_line "app/a running $(cat "$FV_TEST_OUT/a.started")"
    assert_line "app/sub running -"
    assert_line "app/sub/b running $(cat "$FV_TEST_OUT/b.started")"
    [ "${#lines[@]}" -eq 4 ]
    # One path only.
    run -0 fv status app/sub/b --json
    if command -v python3 >/dev/null; then
        python3 -m json.tool <<<"$output" >/dev/null
    else
        jq . <<<"$output" >/dev/null
    fi
    assert_output --partial '"app/sub/b"'
    refute_output --partial '"app/a"'
    fv_stop
    no_survivors
}

@test "whereis prints a worker's pid and exits 1 for an unknown name" {
    two_workers
    fv_start t.ini
    run -0 fv whereis a
    [ "$output" = "$(cat "$FV_TEST_OUT/a.started")" ]
    run -0 fv whereis b
    [ "$output" = "$(cat "$FV_TEST_OUT/b.started")" ]
    run -1 fv whereis nobody-here
    assert_output --partial "nobody-here"
    fv_stop
    no_survivors
}

@test "info shows one process and exits 1 for an unknown path" {
    two_workers
    fv_start t.ini
    run -0 fv info app/a
    assert_line "path: app/a"
    assert_line "state: running"
    assert_line "pid: $(cat "$FV_TEST_OUT/a.started")"
    assert_line "restarts: 0"
    run -1 fv info app/nope
    assert_output --partial "app/nope"
    run -1 fv info nope
    fv_stop
    no_survivors
}

@test "tree draws the tree with box characters, states and pids" {
    two_workers
    fv_start t.ini
    run -0 fv tree
    assert_line --index 0 --regexp "^app +running"
    assert_line --regexp "^├─ a +running +pid $(cat "$FV_TEST_OUT/a.started")\$"
    assert_line --regexp "^└─ sub +running"
    assert_line --regexp "^   └─ b +running +pid $(cat "$FV_TEST_OUT/b.started")\$"
    fv_stop
    no_survivors
}

@test "a second daemon on the same socket refuses to start and the first keeps running" {
    two_workers
    conf other.ini <<'INI'
[supervisor:other]
children = x
[worker:x]
exec = @W@/sleeper
INI
    fv_start t.ini
    local a0
    a0=$(pid_of app/a)
    run -1 timeout 10 "$FORKVISOR" run "$BATS_TEST_TMPDIR/other.ini" --control "$FV_RUNTIME_DIR/control.sock"
    assert_output --partial "$FV_RUNTIME_DIR/control.sock"
    # It started nothing and did not take the socket away.
    [ ! -e "$FV_TEST_OUT/x.started" ]
    [ -S "$FV_RUNTIME_DIR/control.sock" ]
    kill -0 "$FV_PID"
    run -0 fv status
    assert_output --partial "app/sub/b"
    refute_output --partial "other"
    [ "$(pid_of app/a)" = "$a0" ]
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    no_survivors
}

@test "malformed and oversized requests are refused and the daemon keeps serving" {
    command -v python3 >/dev/null || skip "python3 is needed to send raw requests"
    two_workers
    fv_start t.ini
    # Each raw request gets error packets ('E') and an exit packet ('X' + status).
    run -0 python3 - "$FV_RUNTIME_DIR/control.sock" <<'PY'
import socket, sys
def ask(payload):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    s.send(payload)
    err, code = b"", None
    while True:
        p = s.recv(70000)
        if not p:
            break
        if p[:1] == b"E":
            err += p[1:]
        if p[:1] == b"X":
            code = p[1]
            break
    s.close()
    print(code, err.decode().strip())
ask(b"garbage")
ask(b"FV1\0status")            # last string not terminated
ask(b"FV1\0" + b"x" * 70000 + b"\0")
ask(b"FV1\0frobnicate\0")
PY
    assert_line --index 0 --regexp "^2 malformed request"
    assert_line --index 1 --regexp "^2 malformed request"
    assert_line --index 2 --regexp "^2 malformed request"
    assert_line --index 3 --regexp "^2 unknown command"
    kill -0 "$FV_PID"
    run -0 fv status
    assert_output --partial "app/a"
    fv_stop
    no_survivors
}

@test "run honours FORKVISOR_CONTROL like the clients, before the configuration's control key, but not inside a worker" {
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run" FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    app_ini k:@W@/sleeper
    printf '[forkvisor]\ncontrol = %s\n' "$FV_RUNTIME_DIR/from-config.sock" >>"$BATS_TEST_TMPDIR/t.ini"
    export FORKVISOR_CONTROL="$FV_RUNTIME_DIR/from-env.sock"
    "$FORKVISOR" run "$BATS_TEST_TMPDIR/t.ini" </dev/null >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    # Clients find it with nothing but the variable.
    retry 100 0.05 "$FORKVISOR" wait --timeout 100
    [ -S "$FORKVISOR_CONTROL" ]
    [ ! -e "$FV_RUNTIME_DIR/from-config.sock" ]
    run -0 "$FORKVISOR" status
    assert_line --partial "app/k"
    # --control still comes first.
    run -0 "$FORKVISOR" shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    "$FORKVISOR" run "$BATS_TEST_TMPDIR/t.ini" --control "$FV_RUNTIME_DIR/given.sock" </dev/null >>"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    retry 100 0.05 "$FORKVISOR" --control "$FV_RUNTIME_DIR/given.sock" wait --timeout 100
    [ ! -e "$FORKVISOR_CONTROL" ]
    run -0 "$FORKVISOR" --control "$FV_RUNTIME_DIR/given.sock" shutdown
    fv_wait_exit
    # Inside a supervised worker the variable names the node above: a daemon started there
    # takes its configuration's path.
    FORKVISOR_MAILBOX=3 "$FORKVISOR" run "$BATS_TEST_TMPDIR/t.ini" </dev/null >>"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    retry 100 0.05 "$FORKVISOR" --control "$FV_RUNTIME_DIR/from-config.sock" wait --timeout 100
    [ ! -e "$FORKVISOR_CONTROL" ]
    run -0 "$FORKVISOR" --control "$FV_RUNTIME_DIR/from-config.sock" shutdown
    fv_wait_exit
    no_survivors
}
