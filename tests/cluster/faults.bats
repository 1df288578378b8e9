# SPDX-License-Identifier: MIT
# Faults of a node itself (forkvisor-cluster(7), FAULTS): a node stopped (SIGSTOP) is down for the
# others while stopped and up again when continued, and does not take its own stall for the
# others' silence.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=120}"

setup() { load cluster_helper; }
teardown() {
    [[ -z ${NODE_PID[b]:-} ]] || kill -CONT "${NODE_PID[b]}" 2>/dev/null || true
    [[ -z ${NATS_PID[1]:-} ]] || kill -CONT "${NATS_PID[1]}" 2>/dev/null || true
    cluster_teardown
}

both_up() { node_heard a b up && node_heard b a up; }
# silent_for NAME OTHER MS: node NAME last heard OTHER MS or more ago.
silent_for() {
    fvn "$1" cluster --json | python3 -c '
import json, sys
ms = {n["node"]: n["last_heartbeat_ms"] for n in json.load(sys.stdin)["nodes"]}
sys.exit(0 if ms.get(sys.argv[1], 0) >= int(sys.argv[2]) else 1)' "$2" "$3"
}

@test "faults: a node stopped and continued is down then up for the others, and calls none of them down" {
    nats_cluster 1
    node_ini a 1
    node_ini b 1
    sed -i 's/^heartbeat = 200$/heartbeat = 1000/' "$BATS_TEST_TMPDIR"/[ab].ini
    node_start a
    node_start b
    retry 300 0.05 both_up

    # The server first, so that nothing of a waits in b's socket when b goes on; then b.
    local out0
    kill -STOP "${NATS_PID[1]}"
    out0=$(cluster_field b messages_out)
    kill -STOP "${NODE_PID[b]}"
    retry 200 0.05 node_heard a b down
    retry 200 0.05 silent_for a b 4000
    run -1 fvn a call echo@b hello
    assert_output --partial noproc
    # b goes on, and its heartbeat timer, overdue, ticks: it must not call a down for a silence
    # that was its own.
    kill -CONT "${NODE_PID[b]}"
    retry 200 0.05 eval '[[ $(cluster_field b messages_out) -gt $out0 ]]'
    run -1 grep -q "node 'a' is down" "$BATS_TEST_TMPDIR/b.log"
    kill -CONT "${NATS_PID[1]}"
    retry 300 0.05 both_up
    run -0 fvn a call echo@b hello
    assert_output "echo: hello"
    run -1 grep -q "node 'a' is down" "$BATS_TEST_TMPDIR/b.log"
    node_stop b
    node_stop a
    nothing_survives
}
