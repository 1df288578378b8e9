# SPDX-License-Identifier: MIT
# A node under NATS traffic keeps its server (forkvisor-cluster(7), THE NODE NEVER WAITS FOR NATS):
# when libnats asked on the loop thread to stop polling for writing while messages waited in the
# adapter's queue, the socket still polled for writing after libnats had written everything, and
# the write event that followed sent 0 bytes, which libnats takes for a closed connection: the
# node dropped its server and reconnected every few seconds under traffic, losing what was in
# flight (a call across nodes timed out).
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=180}"

setup() { load cluster_helper; }
teardown() { cluster_teardown; }

hear_each_other() { node_heard a b up && node_heard b a up; }
reconnects() { cluster_field "$1" reconnects; }
pubsub_taken() { [ "$(cluster_field "$1" pubsub_in)" -ge "$2" ]; }

# traffic_node NAME WORKER...: node NAME on server 1 with the WORKERs (NAME:EXEC[:KEY=VALUE[;...]]),
# heartbeat 100 ms: heartbeats cross the node's traffic ten times a second.
traffic_node() {
    local name=$1 w kids=""
    shift
    for w; do kids+="${kids:+ }${w%%:*}"; done
    {
        printf '[supervisor:app]\nchildren = %s\n' "$kids"
        for w; do
            local rest=${w#*:}
            printf '[worker:%s]\nexec = %s\n' "${w%%:*}" "${rest%%:*}"
            [[ $rest != *:* ]] || tr ';' '\n' <<<"${rest#*:}"
        done
        printf '[cluster]\nnats = %s\nnode = %s\nheartbeat = 100\n' "$(nats_url 1)" "$name"
    } | conf "$name.ini"
}

@test "traffic: a node taking a stream of publications and heartbeats, and sending its own, keeps its server" {
    nats_cluster 1
    # a publishes 100000 publications of 64 B on tick; b's echo subscribes to tick.
    traffic_node a "w:@W@/sleeper" "pub:@W@/publisher tick 100000 64:ready = mailbox"
    traffic_node b "echo:@W@/echo:ready = mailbox;subscribe = tick"
    node_start b
    retry 200 0.05 cluster_state_is b connected
    node_start a
    retry 300 0.05 hear_each_other
    # The publisher began at once, maybe before b's interest reached the server: what counts is
    # that b takes a stream of them.
    retry 1200 0.05 pubsub_taken b 20000 || { fvn b cluster; false; }
    run -0 reconnects b
    assert_output 0
    run -0 reconnects a
    assert_output 0
    run ! grep -h "lost its server" "$BATS_TEST_TMPDIR/a.log" "$BATS_TEST_TMPDIR/b.log"
    cluster_state_is a connected
    cluster_state_is b connected
    node_stop a
    node_stop b
    nothing_survives
}

@test "traffic: calls across nodes, in a loop, with heartbeats crossing them, never time out" {
    nats_cluster 1
    traffic_node a "w:@W@/sleeper"
    traffic_node b "echo:@W@/echo:ready = mailbox"
    node_start a
    node_start b
    retry 300 0.05 hear_each_other
    # (Not $i: bats' run sets an i of its own, which dynamic scoping makes ours.)
    local nth
    for nth in $(seq 400); do
        run -0 fvn a call echo@b "n$nth" --timeout 3000
        assert_output "echo: n$nth"
    done
    run -0 reconnects a
    assert_output 0
    run -0 reconnects b
    assert_output 0
    node_stop a
    node_stop b
    nothing_survives
}

# flood_counted: b has taken 200000 publications of the flood, and one side has counted what it
# could not pass on (a: more than its bound waited unwritten; b: its queue from libnats was full).
flood_counted() {
    [ "$(cluster_field b pubsub_in)" -ge 200000 ] &&
        [ $(($(cluster_field a pubsub_dropped) + $(cluster_field b messages_dropped))) -gt 0 ]
}

@test "traffic: a flood of publications, faster than the wire, costs publications, not heartbeats" {
    nats_cluster 1
    # a's publisher publishes 64 B on tick for as long as it runs; 20 subscribers on b take each.
    traffic_node a "w:@W@/sleeper" "pub:@W@/publisher tick 0 64:ready = mailbox"
    local subs=() k
    for k in $(seq 20); do subs+=("s$k:@W@/echo:ready = mailbox;subscribe = tick"); done
    traffic_node b "${subs[@]}"
    # c, idle, witnesses that a and b went on beating through it.
    traffic_node c "w:@W@/sleeper"
    node_start c
    node_start b
    retry 200 0.05 cluster_state_is b connected
    node_start a
    retry 300 0.05 hear_each_other
    retry 1200 0.05 flood_counted || { fvn a cluster; fvn b cluster; false; }
    run -0 fvn a stop app/pub
    # Heartbeats (100 ms; a node is down after 3 silent ones) are not publications: they
    # passed the flood, on a connection of their own and first in the queues. With one
    # connection for both, b heard a's heartbeats only behind megabytes of publications, and
    # the node whose control socket was read first spun on it and froze.
    run -1 grep -h "is down\|lost its server" "$BATS_TEST_TMPDIR/a.log" "$BATS_TEST_TMPDIR/b.log" "$BATS_TEST_TMPDIR/c.log"
    hear_each_other
    run -0 reconnects b
    assert_output 0
    node_stop a
    node_stop b
    node_stop c
    nothing_survives
}
