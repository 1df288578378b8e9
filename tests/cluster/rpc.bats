# SPDX-License-Identifier: MIT
# Calls, casts and monitors to NAME@NODE (issue 14 point 4; forkvisor-cluster(7)): a call and a
# cast from node a reach a worker on node b, from the CLI and from a worker; a callee that does
# not answer times out; an unknown name, an unknown node and a node that is down give noproc; a
# monitor across nodes fires with the remote worker's exit reason, and with noconnection when its
# node is SIGKILLed; a node whose NATS server comes up after it, or is replaced, serves calls.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=120}"

setup() {
    load cluster_helper
    export FORKVISOR
}
teardown() { cluster_teardown; }

both_up() { node_heard "$1" "$2" up && node_heard "$2" "$1" up; }
# pair_up: starts nodes a and b (a.ini, b.ini) and returns once each hears the other.
pair_up() {
    node_start a
    node_start b
    retry 300 0.05 both_up a b
}
lines_at_least() { [[ -r $2 && $(wc -l <"$2") -ge $1 ]]; }

# script NAME <<'SH': an executable shell worker $BATS_TEST_TMPDIR/NAME, which records its pid
# for the teardown; `forkvisor` in it runs the forkvisor under test.
script() {
    {
        printf '#!/bin/sh\necho $$ >>"$FV_TEST_OUT/pids"\nforkvisor() { "$FORKVISOR" "$@"; }\n'
        cat
    } >"$BATS_TEST_TMPDIR/$1"
    chmod +x "$BATS_TEST_TMPDIR/$1"
}

# rpc_node NAME SERVER WORKER...: conf NAME.ini, node NAME on NATS server SERVER, the root
# supervisor app over the WORKERs (NAME:EXEC, each ready = mailbox; EXEC @W@/... or a script of
# the test's directory), heartbeat 200 ms.
rpc_node() {
    local name=$1 server=$2 w kids=""
    shift 2
    for w; do kids+="${kids:+ }${w%%:*}"; done
    {
        printf '[supervisor:app]\nchildren = %s\n' "$kids"
        for w; do
            local exec=${w#*:}
            [[ $exec == @* ]] || exec="@T@/$exec"
            printf '[worker:%s]\nexec = %s\nready = mailbox\n' "${w%%:*}" "$exec"
        done
        printf '[cluster]\nnats = %s\nnode = %s\nheartbeat = 200\n' "$(nats_url "$server")" "$name"
    } | conf "$name.ini"
}

# echo_nodes: a.ini on server 1 and b.ini on server 2, each with the echo worker.
echo_nodes() {
    rpc_node a 1 echo:@W@/echo
    rpc_node b 2 echo:@W@/echo
}

# A worker that takes every call and never answers; it writes each one's payload to mute.got.
mute_script() {
    script mute <<'SH'
forkvisor ready
while m=$(forkvisor recv); do printf '%s\n' "$m" >>"$FV_TEST_OUT/mute.got"; done
SH
}

@test "rpc: a call and a cast to NAME@NODE reach the worker on that node; NAME@<self> is local" {
    nats_cluster 2
    echo_nodes
    pair_up

    run -0 fvn a call echo@b "hello b"
    assert_output "echo: hello b"
    run -0 fvn b call echo@a "hello a"
    assert_output "echo: hello a"
    # This node's own name: an ordinary local call.
    run -0 fvn a call echo@a "self"
    assert_output "echo: self"
    # b's echo counts what reached it: one call from a, and now a cast.
    run -0 fvn a send echo@b "cast from a"
    retry 100 0.05 eval '[[ $(fvn b get-state echo) == "casts=1 calls=1" ]]'
    run -0 fvn a get-state echo
    assert_output "casts=0 calls=2"
    run -0 fvn a get-state echo@b
    assert_output "casts=1 calls=1"
    node_stop a
    node_stop b
    nothing_survives
}

@test "rpc: a worker calls and casts NAME@NODE through its mailbox" {
    nats_cluster 2
    script caller <<'SH'
forkvisor ready
while m=$(forkvisor recv); do
    forkvisor call "$m" "from a's worker" >>"$FV_TEST_OUT/caller.out" 2>&1 || echo "exit $?" >>"$FV_TEST_OUT/caller.out"
    forkvisor send "$m" "cast from a's worker"
done
SH
    rpc_node a 1 caller:caller
    rpc_node b 2 echo:@W@/echo
    pair_up

    fvn a send caller echo@b
    retry 200 0.05 lines_at_least 1 "$FV_TEST_OUT/caller.out"
    run -0 cat "$FV_TEST_OUT/caller.out"
    assert_output "echo: from a's worker"
    retry 100 0.05 eval '[[ $(fvn b get-state echo) == "casts=1 calls=1" ]]'
    # A name b does not hold: the error of a local noproc.
    fvn a send caller nobody@b
    retry 200 0.05 lines_at_least 3 "$FV_TEST_OUT/caller.out"
    run -0 sed -n 2,3p "$FV_TEST_OUT/caller.out"
    assert_line --index 0 --partial noproc
    assert_line --index 1 "exit 1"
    node_stop a
    node_stop b
    nothing_survives
}

@test "rpc: a callee on the other node that does not answer gives timeout" {
    nats_cluster 2
    mute_script
    rpc_node a 1 echo:@W@/echo
    rpc_node b 2 mute:mute
    pair_up

    run -1 fvn a call mute@b "anyone?" --timeout 300
    assert_output --partial timeout
    # The node goes on: the late answer of nobody is no harm, and calls still work.
    run -0 fvn b call echo@a "still"
    assert_output "echo: still"

    # A call in flight when its node is lost ends with noconnection, not at its deadline.
    local seq; seq=$(seq_of a)
    fvn a call mute@b "lost?" --timeout 600000 >"$BATS_TEST_TMPDIR/lost.out" 2>&1 &
    local caller=$!
    retry 200 0.05 grep -q "lost?" "$FV_TEST_OUT/mute.got"
    node_stop b KILL
    retry 300 0.05 in_order a "$seq" "node:down b"
    local rc=0
    wait "$caller" || rc=$?
    [ "$rc" -eq 1 ]
    run -0 cat "$BATS_TEST_TMPDIR/lost.out"
    assert_output --partial noconnection
    node_stop a
    nothing_survives
}

@test "rpc: noproc for an unknown name, an unknown node and a node that is down" {
    nats_cluster 2
    echo_nodes
    pair_up

    run -1 fvn a call nobody@b x --timeout 5000
    assert_output --partial noproc
    run -1 fvn a call echo@nowhere x --timeout 5000
    assert_output --partial noproc
    run -1 fvn a send echo@nowhere x
    assert_output --partial noproc
    # '@' names a node, never a name: a worker cannot register one.
    run -1 fvn a call "bad@" x --timeout 5000
    assert_output --partial noproc

    node_stop b
    retry 300 0.05 node_heard a b down
    run -1 fvn a call echo@b x --timeout 5000
    assert_output --partial noproc
    run -1 fvn a send echo@b x
    assert_output --partial noproc
    node_stop a
    nothing_survives
}

@test "rpc: a monitor of NAME@NODE gets the exit reason, and noconnection when the node is killed" {
    nats_cluster 2
    # Monitors what it is sent; records every down.
    script watcher <<'SH'
forkvisor ready
while msg=$(forkvisor recv --shell); do
    eval "$msg"
    if [ "$FV_KIND" = cast ]; then
        forkvisor monitor "$FV_PAYLOAD"
        # Through the same mailbox, after the monitor: once answered, the monitor is on b.
        forkvisor call echo@b sync >/dev/null
        echo "$FV_PAYLOAD" >>"$FV_TEST_OUT/watcher.mon"
    else
        printf '%s|%s|%s\n' "$FV_KIND" "$FV_TOPIC" "$FV_PAYLOAD" >>"$FV_TEST_OUT/watcher.got"
    fi
done
SH
    script victim <<'SH'
forkvisor ready
while [ ! -e "$FV_TEST_OUT/go" ]; do sleep 0.02; done
rm -f "$FV_TEST_OUT/go" # its restart waits again
exit 3
SH
    rpc_node a 1 watcher:watcher
    rpc_node b 2 victim:victim echo:@W@/echo
    pair_up

    fvn a send watcher nobody@b
    retry 200 0.05 lines_at_least 1 "$FV_TEST_OUT/watcher.got"
    run -0 sed -n 1p "$FV_TEST_OUT/watcher.got"
    assert_output "down|nobody@b|noproc"

    fvn a send watcher victim@b
    fvn a send watcher echo@b
    retry 200 0.05 lines_at_least 2 "$FV_TEST_OUT/watcher.mon"
    touch "$FV_TEST_OUT/go"
    retry 200 0.05 lines_at_least 2 "$FV_TEST_OUT/watcher.got"
    run -0 sed -n 2p "$FV_TEST_OUT/watcher.got"
    assert_output "down|victim@b|exit status 3"

    # A watcher that ends takes its monitors with it (b is told to forget them); its successor
    # monitors echo@b afresh.
    local pid; pid=$(fvn a info app/watcher | sed -n 's/^pid: //p')
    fvn a restart app/watcher
    retry 200 0.05 eval '[[ $(fvn a info app/watcher | sed -n "s/^pid: //p") != "$pid" ]]'
    fvn a send watcher echo@b
    retry 200 0.05 lines_at_least 3 "$FV_TEST_OUT/watcher.mon"

    node_stop b KILL
    retry 300 0.05 lines_at_least 3 "$FV_TEST_OUT/watcher.got"
    run -0 sed -n 3p "$FV_TEST_OUT/watcher.got"
    assert_output "down|echo@b|noconnection"
    node_stop a
    nothing_survives
}

@test "rpc: a node started before its NATS server serves calls once the server is up" {
    NATS_N=1
    NATS_PORT[1]=$(free_ports 1)
    rpc_node a 1 echo:@W@/echo
    rpc_node b 1 echo:@W@/echo
    node_start b
    run -0 cluster_field b state
    assert_output connecting
    nats_start 1
    node_start a
    retry 300 0.05 both_up a b
    run -0 fvn a call echo@b "late server"
    assert_output "echo: late server"
    node_stop a
    node_stop b
    nothing_survives
}

@test "rpc: a node whose server is killed serves calls again through the server it reconnects to" {
    nats_cluster 2
    echo_nodes
    sed -i "s|^nats = .*|nats = $(nats_url 2), $(nats_url 1)|" "$BATS_TEST_TMPDIR/b.ini"
    pair_up
    run -0 fvn a call echo@b before
    assert_output "echo: before"
    local seq; seq=$(seq_of b)
    nats_stop 2 KILL
    retry 300 0.05 in_order b "$seq" "cluster:disconnected b" "cluster:connected b"
    retry 300 0.05 both_up a b
    run -0 fvn a call echo@b after
    assert_output "echo: after"
    run -0 fvn b call echo@a back
    assert_output "echo: back"
    node_stop a
    node_stop b
    nothing_survives
}

@test "rpc: a node killed and back within its silent heartbeats is a new run: its monitors get noconnection" {
    nats_cluster 1
    script watcher <<'SH'
forkvisor ready
while msg=$(forkvisor recv --shell); do
    eval "$msg"
    if [ "$FV_KIND" = cast ]; then
        forkvisor monitor "$FV_PAYLOAD"
        forkvisor call echo@b sync >/dev/null
        echo "$FV_PAYLOAD" >>"$FV_TEST_OUT/watcher.mon"
    else
        printf '%s|%s|%s\n' "$FV_KIND" "$FV_TOPIC" "$FV_PAYLOAD" >>"$FV_TEST_OUT/watcher.got"
    fi
done
SH
    rpc_node a 1 watcher:watcher
    rpc_node b 1 echo:@W@/echo
    # b beats every 3 s: silent for 9 s before a would call it down.
    sed -i 's/^heartbeat = 200$/heartbeat = 3000/' "$BATS_TEST_TMPDIR/b.ini"
    pair_up
    fvn a send watcher echo@b
    retry 200 0.05 lines_at_least 1 "$FV_TEST_OUT/watcher.mon"

    # Back long before 9 s; its first heartbeat, sent as it connects, names another run.
    node_stop b KILL
    node_start b
    retry 100 0.05 lines_at_least 1 "$FV_TEST_OUT/watcher.got"
    run -0 cat "$FV_TEST_OUT/watcher.got"
    assert_output "down|echo@b|noconnection"
    grep -q "node 'b' is down: it restarted within its heartbeats" "$BATS_TEST_TMPDIR/a.log"
    # And it is up again: a call reaches the new run.
    retry 100 0.05 node_heard a b up
    run -0 fvn a call echo@b again
    assert_output "echo: again"
    node_stop b
    node_stop a
    nothing_survives
}

# wire NAME KEY: wire_KEY of node NAME's `cluster --json`.
wire() { cluster_field "$1" "wire_$2"; }

@test "rpc: cluster, status --json and top count what crossed the wire; a node in no cluster shows none" {
    nats_cluster 2
    echo_nodes
    pair_up
    local in0 out0
    in0=$(wire b msgs_in)
    out0=$(wire a msgs_out)
    for _ in $(seq 20); do fvn a call echo@b ping >/dev/null; done
    # 20 calls out of a and into b, 20 answers back, besides the heartbeats.
    [ "$(wire a msgs_out)" -ge $((out0 + 20)) ]
    [ "$(wire b msgs_in)" -ge $((in0 + 20)) ]
    [ "$(wire a bytes_out)" -gt 0 ]
    run -0 fvn a status --json
    python3 -c 'import json, sys; c = json.loads(sys.argv[1])["cluster"]; assert c["wire_msgs_in"] >= 20, c' "$output"
    run -0 fvn a cluster
    assert_line --regexp '^wire: +[0-9]+ messages in \([0-9]+ bytes\), [0-9]+ out \([0-9]+ bytes\)$'
    run -0 fvn a top
    assert_line --regexp '^cluster: node a connected, 1 of 1 other nodes up; over NATS -/s in, -/s out, [0-9]+ dropped$'
    node_stop b
    node_stop a
    # Without [cluster], top has no such line.
    app_ini 'echo:@W@/echo'
    fv_start t.ini
    run -0 fv top
    refute_line --partial 'cluster:'
    fv_stop
    nothing_survives
}
