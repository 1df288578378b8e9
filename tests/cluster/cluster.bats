# SPDX-License-Identifier: MIT
# A node in a cluster over NATS (issue 14, its first slice; forkvisor-cluster(7)): two nodes
# hear each other's heartbeats, a node rides out the loss of its NATS server and of all of them
# while its local tree goes on untouched, and a node that dies is declared down.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=120}"

setup() { load cluster_helper; }
teardown() { cluster_teardown; }

# both_up A B: A lists B as up and B lists A as up.
both_up() { node_heard "$1" "$2" up && node_heard "$2" "$1" up; }

@test "cluster: two nodes on different servers connect and each hears the other" {
    nats_cluster 3
    node_ini a 1 2 3
    node_ini b 2 3 1
    node_start a
    node_start b
    retry 300 0.05 cluster_state_is a connected
    retry 300 0.05 cluster_state_is b connected
    run -0 cluster_field a server
    assert_output "$(nats_url 1)"
    run -0 cluster_field b server
    assert_output "$(nats_url 2)"
    retry 300 0.05 both_up a b

    # Events, numbered like the tree's: a's connect, then b heard.
    run -0 in_order a 0 "cluster:connected a" "node:up b"
    run -0 in_order b 0 "cluster:connected b" "node:up a"
    run -0 fvn a events --since 0 --timeout 200
    assert_line --regexp '^\{"event": "node:up", "path": null, "pid": null, "node": "b", "time": "[^"]*", "seq": [0-9]+\}$'
    assert_line --regexp '^\{"event": "cluster:connected", "path": null, "pid": null, "node": "a", "server": "nats://127\.0\.0\.1:[0-9]+", "time": "[^"]*", "seq": [0-9]+\}$'

    # The operator's view, in text and in JSON, and in status --json.
    run -0 fvn a cluster
    assert_line "node:       a"
    assert_line "state:      connected"
    assert_line "server:     $(nats_url 1)"
    assert_line "heartbeat:  200 ms"
    assert_line --regexp '^b +up +[0-9.]+m?s ago$'
    run -0 fvn a status --json
    python3 -c '
import json, sys
c = json.loads(sys.argv[1])["cluster"]
assert c["node"] == "a" and c["state"] == "connected", c
assert c["messages_out"] > 0 and c["messages_in"] > 0, c
assert [n["node"] for n in c["nodes"]] == ["b"], c
' "$output"
    node_stop a
    node_stop b
    nothing_survives
}

# call_loop NAME: calls node NAME's echo in a loop, in a process of its own (recorded, so a
# teardown stops it), one line per call in $BATS_TEST_TMPDIR/calls: ok and the time, or failed.
# Local work that paused while NATS failed would show as calls that time out, or a count that
# stands still.
call_loop() {
    FORKVISOR=$FORKVISOR CALL_LOOP_CONTROL="$BATS_TEST_TMPDIR/$1/control.sock" CALLS="$BATS_TEST_TMPDIR/calls" bash -c '
        while :; do
            if "$FORKVISOR" --control "$CALL_LOOP_CONTROL" call echo x >/dev/null 2>"$CALLS.err"; then echo "ok $EPOCHREALTIME"; else echo "failed $?: $(cat "$CALLS.err")"; fi
        done >>"$CALLS"' &
    CALL_LOOP_PID=$!
    echo "$CALL_LOOP_PID" >>"$FV_TEST_OUT/pids"
}
calls_made() { [[ -r $BATS_TEST_TMPDIR/calls ]] && wc -l <"$BATS_TEST_TMPDIR/calls" || echo 0; }
calls_beyond() { [ "$(calls_made)" -ge "$1" ]; }
# call_loop_stop: stops the loop; every call it made was answered.
call_loop_stop() {
    kill "$CALL_LOOP_PID"
    wait "$CALL_LOOP_PID" 2>/dev/null || true
    run -1 grep -c failed "$BATS_TEST_TMPDIR/calls"
}

@test "cluster: the server a node uses is killed: it reconnects to another and goes on" {
    nats_cluster 3
    node_ini a 1 2 3
    node_ini b 2 3
    node_start a
    node_start b
    retry 300 0.05 both_up a b
    seq=$(seq_of a)
    pid=$(fvn a info app/w | sed -n 's/^pid: //p')
    call_loop a
    retry 300 0.05 calls_beyond 20

    nats_stop 1 KILL
    retry 300 0.05 in_order a "$seq" "cluster:disconnected a" "cluster:connected a"
    retry 300 0.05 cluster_state_is a connected
    # Local calls went on through it.
    n=$(calls_made)
    retry 300 0.05 calls_beyond $((n + 20))
    call_loop_stop
    run -0 cluster_field a server
    refute_output "$(nats_url 1)"
    run -0 cluster_field a reconnects
    assert_output 1
    # b is heard again through the server a uses now.
    retry 300 0.05 node_heard a b up
    # The local tree never noticed.
    run -0 fvn a info app/w
    assert_line "pid: $pid"
    assert_line "restarts: 0"
    run -0 fvn a call echo hello
    assert_output "echo: hello"
    node_stop a
    node_stop b
    nothing_survives
}

# pid_is_new NAME PATH OLD: PATH on node NAME runs again under a pid other than OLD.
pid_is_new() {
    local p; p=$(fvn "$1" info "$2" | sed -n 's/^pid: //p')
    [[ -n $p && $p != "$3" ]] && fvn "$1" info "$2" | grep -qx "state: running"
}

@test "cluster: with every server gone the local tree goes on; when they come back the node reconnects" {
    nats_cluster 3
    node_ini a 1 2 3
    node_start a
    retry 300 0.05 cluster_state_is a connected
    seq=$(seq_of a)
    call_loop a
    retry 300 0.05 calls_beyond 20

    nats_stop 1
    nats_stop 2
    nats_stop 3
    retry 300 0.05 cluster_state_is a disconnected
    # Local calls go on while libnats tries the servers in vain.
    n=$(calls_made)
    retry 300 0.05 calls_beyond $((n + 50))
    cluster_state_is a disconnected
    call_loop_stop
    run -0 cluster_field a server
    assert_output None
    run -0 fvn a cluster
    assert_line "state:      disconnected"
    assert_line "server:     -"

    # Supervision and messaging are the node's own: a worker killed now is restarted, a call
    # is answered, the tree is as it was.
    pid=$(fvn a info app/w | sed -n 's/^pid: //p')
    kill -KILL "$pid"
    retry 300 0.05 pid_is_new a app/w "$pid"
    run -0 fvn a call echo "still here"
    assert_output "echo: still here"
    run -0 fvn a status
    assert_line --regexp '^app/echo +worker +running'

    nats_start 2
    retry 300 0.05 cluster_state_is a connected
    run -0 cluster_field a server
    assert_output "$(nats_url 2)"
    run -0 in_order a "$seq" "cluster:disconnected a" "restarting app/w" "cluster:connected a"
    node_stop a
    nothing_survives
}

@test "cluster: a node SIGKILLed is declared down after 3 of its heartbeats of silence" {
    nats_cluster 3
    node_ini a 1
    node_ini b 3
    node_start a
    node_start b
    retry 300 0.05 both_up a b
    seq=$(seq_of a)

    node_stop b KILL
    retry 300 0.05 in_order a "$seq" "node:down b"
    run -0 fvn a cluster --json
    python3 -c '
import json, sys
c = json.loads(sys.argv[1])
b = [n for n in c["nodes"] if n["node"] == "b"][0]
assert b["state"] == "down", b
# Not declared before 3 heartbeats (3 x 200 ms) of silence.
assert b["last_heartbeat_ms"] >= 600, b
assert c["state"] == "connected", c
' "$output"
    # Once: no second node:down while it stays silent.
    run -0 events_since a "$seq"
    [[ $(grep -cx "node:down b" <<<"$output") -eq 1 ]]
    node_stop a
    nothing_survives
}

@test "cluster: a node without [cluster] is in no cluster, and says so" {
    app_ini w:@W@/sleeper
    fv_start t.ini
    run -1 fv cluster
    assert_output "forkvisor: this node is not in a cluster"
    run -1 fv cluster --json
    run -0 fv status --json
    python3 -c 'import json, sys; assert json.loads(sys.argv[1])["cluster"] is None' "$output"
    fv_stop
    no_survivors
}

@test "cluster: check reports a bad [cluster] with FILE:LINE" {
    printf '[supervisor:app]\nchildren = w\n[worker:w]\nexec = /bin/true\n[cluster]\nnode = a.b\nheartbeat = 5\n' | conf bad.ini
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/bad.ini"
    assert_line --partial "bad.ini:6: bad value 'a.b' for node"
    assert_line --partial "bad.ini:7: bad value '5' for heartbeat"
    assert_line --partial "bad.ini:5: missing required key 'nats' in [cluster]"
}

@test "cluster: with no server up the tree starts at once; a reload does not change [cluster]" {
    port=$(free_ports 1)
    NATS_PORT[1]=$port
    node_ini a 1
    node_start a
    run -0 fvn a status
    assert_line --regexp '^app/w +worker +running'
    run -0 cluster_field a state
    assert_output connecting
    run -0 fvn a call echo hi
    assert_output "echo: hi"

    sed -i 's/^heartbeat = 200$/heartbeat = 300/' "$BATS_TEST_TMPDIR/a.ini"
    run -0 fvn a reload
    grep -q "Reload: \[cluster\] changed; it takes effect when forkvisor is restarted" "$BATS_TEST_TMPDIR/a.log"
    run -0 cluster_field a heartbeat_ms
    assert_output 200
    run -0 cluster_field a state
    assert_output connecting
    node_stop a
    nothing_survives
}

@test "cluster: two nodes with one name: each says so in its log, once" {
    nats_cluster 1
    node_ini a 1
    node_start a
    # A second node named a too, with its own socket.
    cp "$BATS_TEST_TMPDIR/a.ini" "$BATS_TEST_TMPDIR/twin.ini"
    node_start twin
    clash() { grep -q "another node calls itself 'a' too" "$BATS_TEST_TMPDIR/$1.log"; }
    retry 300 0.05 clash a
    retry 300 0.05 clash twin
    # Neither lists the other (nor itself) as a node heard.
    run -0 fvn a cluster --json
    python3 -c 'import json, sys; assert json.loads(sys.argv[1])["nodes"] == []' "$output"
    # Once, however many heartbeats came since.
    heard_many() { [[ $(cluster_field a messages_in) -gt 5 ]]; }
    retry 300 0.05 heard_many
    [[ $(grep -c "another node calls itself" "$BATS_TEST_TMPDIR/a.log") -eq 1 ]]
    node_stop a
    node_stop twin
    nothing_survives
}

# tls_files: a CA, a server certificate for 127.0.0.1 and a client certificate, in the test's
# directory (EC keys: quick to make).
tls_files() {
    local d=$BATS_TEST_TMPDIR k
    cd "$d" || return 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem \
        -days 2 -subj "/CN=forkvisor test CA" 2>/dev/null || return 1
    for k in server client; do
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$k.key" -out "$k.csr" \
            -subj "/CN=$k" 2>/dev/null || return 1
        printf 'subjectAltName=IP:127.0.0.1\n' > "$k.ext"
        openssl x509 -req -in "$k.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$k.pem" -days 2 \
            -extfile "$k.ext" 2>/dev/null || return 1
    done
    cd - >/dev/null
}

@test "cluster: tls_ca, tls_cert and tls_key: a server that verifies clients takes the node; without a certificate it refuses, and the tree runs on" {
    command -v openssl >/dev/null || skip "openssl is not installed"
    tls_files
    mapfile -t ports < <(free_ports 1)
    NATS_PORT[1]=${ports[0]}
    nats-server -a 127.0.0.1 -p "${NATS_PORT[1]}" --tls --tlscert "$BATS_TEST_TMPDIR/server.pem" \
        --tlskey "$BATS_TEST_TMPDIR/server.key" --tlscacert "$BATS_TEST_TMPDIR/ca.pem" --tlsverify \
        -l "$BATS_TEST_TMPDIR/nats1.log" </dev/null >/dev/null 2>&1 3>&- &
    NATS_PID[1]=$!
    echo "${NATS_PID[1]}" >> "$BATS_TEST_TMPDIR/nats.pids"
    retry 200 0.05 port_open "${NATS_PORT[1]}"

    # A nats:// URL: tls_ca makes the connection TLS. Relative files are the ini's directory's.
    node_ini a 1 -- tls_ca=ca.pem tls_cert=client.pem tls_key=client.key
    node_ini b 1 -- tls_ca=ca.pem
    node_start a
    node_start b
    retry 300 0.05 cluster_state_is a connected
    retry 300 0.05 cluster_state_is b closed
    grep -q "Cluster: node 'b' gave up on NATS: " "$BATS_TEST_TMPDIR/b.log"
    run -0 fvn b call echo "no cluster, still a node"
    assert_output "echo: no cluster, still a node"
    run -0 cluster_field a server
    assert_output "$(nats_url 1)"
    node_stop a
    node_stop b
    nothing_survives
}
