# SPDX-License-Identifier: MIT
# Pub/sub across a cluster (issue 14 point 5; forkvisor-cluster(7)): what is published on one
# node reaches the subscribers of every node, once each and in order, never echoed back to its
# own node; a node gets from NATS only the topics its subscribers want, while they want them.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=180}"

setup() { load cluster_helper; }
teardown() {
    local pid
    for pid in "${SUB_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    cluster_teardown
}

SUB_PIDS=()

# ps_ini NAME SERVER...: node NAME (as node_ini) whose tree has app/pool, a simple_one_for_one
# supervisor of publishers: `start-child app/pool TOPIC RATE` publishes "p<PID> <SEQ>" on TOPIC,
# SEQ = 1, 2, ..., RATE a second (workers/soak-seq.c), until terminated.
ps_ini() {
    local name=$1 urls=""; shift
    for i; do urls+="${urls:+, }$(nats_url "$i")"; done
    {
        printf '[supervisor:app]\nchildren = w pool\n'
        printf '[worker:w]\nexec = @W@/sleeper\n'
        printf '[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = pub\n'
        printf '[worker:pub]\nexec = @W@/soak-seq pub\nrestart = temporary\n'
        printf '[cluster]\nnats = %s\nnode = %s\nheartbeat = 200\n' "$urls" "$name"
    } | conf "$name.ini"
}

# subscriber NAME OUT PATTERN...: `subscribe PATTERN...` on node NAME into $BATS_TEST_TMPDIR/OUT,
# in the background (its pid appended to SUB_PIDS) until the teardown; returns once the
# subscription is live.
subscriber() {
    local name=$1 out=$BATS_TEST_TMPDIR/$2; shift 2
    "$FORKVISOR" --control "$BATS_TEST_TMPDIR/$name/control.sock" subscribe "$@" --ready --timeout 170000 \
        > "$out" 2>&1 3>&- &
    SUB_PIDS+=($!)
    retry 200 0.05 grep -qx ready "$out"
}

# lines_in OUT PATTERN: how many lines of OUT match the regexp PATTERN.
lines_in() { grep -cE "$2" "$BATS_TEST_TMPDIR/$1" || true; }
# at_least OUT PATTERN N: OUT has N lines or more that match PATTERN.
at_least() { [ "$(lines_in "$1" "$2")" -ge "$3" ]; }
# seen OUT LINE: OUT has LINE.
seen() { grep -qxF "$2" "$BATS_TEST_TMPDIR/$1"; }

# probe FROM TOPIC OUT...: publishes "probe-FROM" on TOPIC from node FROM until every OUT has seen
# it: the subscriptions behind the OUTs have reached every server.
probe_seen() { local line=$1 out; shift; for out; do seen "$out" "$line" || return 1; done; }
probe() {
    local from=$1 topic=$2; shift 2
    for _ in $(seq 200); do
        fvn "$from" publish "$topic" "probe-$from"
        probe_seen "probe-$from" "$@" && return 0
        sleep 0.1
    done
    return 1
}

# last_seq OUT PID: the last SEQ of publisher PID in OUT, after checking that its lines are
# exactly 1..SEQ, in order (nothing lost, nothing twice).
last_seq() {
    python3 -c '
import sys
path, pid = sys.argv[1], sys.argv[2]
got = [int(l.split()[1]) for l in open(path) if l.startswith("p%s " % pid)]
if got != list(range(1, len(got) + 1)):
    dup = len(got) - len(set(got))
    missing = sorted(set(range(1, max(got, default=0) + 1)) - set(got))[:10]
    sys.exit("%s: %d lines of p%s, %d twice, missing %s" % (path, len(got), pid, dup, missing))
print(len(got))
' "$BATS_TEST_TMPDIR/$1" "$2"
}
# same_last PID OUT...: every OUT has PID's publications 1..N with the same N.
same_last() {
    local out n first=""
    for out in "${@:2}"; do
        n=$(last_seq "$out" "$1") || return 1
        [[ -z $first ]] && first=$n
        [[ $n == "$first" ]] || return 1
    done
}

# pubsub_counter NAME KEY: pubsub_KEY of node NAME's `cluster --json`.
pubsub_counter() { cluster_field "$1" "pubsub_$2"; }

# patterns_are NAME N: node NAME is subscribed to N patterns on NATS.
patterns_are() { [ "$(pubsub_counter "$1" patterns)" -eq "$2" ]; }
# pid_on NAME PATH: the pid of PATH on node NAME.
pid_on() { fvn "$1" info "$2" | sed -n 's/^pid: //p'; }

# show_state: what the nodes and subscribers have, for a failed test.
show_state() {
    local n
    for n in a b c; do fvn "$n" cluster --json; done
    wc -l "$BATS_TEST_TMPDIR"/*.out
}

all_connected() { local n; for n; do cluster_state_is "$n" connected || return 1; done; }

# nodes_up NAME:SERVER,SERVER... ...: ps_ini and node_start each NAME with its SERVERs; returns
# once all are connected, with D0[NAME] what each dropped so far (the tree's events from
# before it connected).
declare -gA D0
nodes_up() {
    local spec names=()
    for spec; do
        names+=("${spec%%:*}")
        ps_ini "${spec%%:*}" $(tr , " " <<< "${spec#*:}")
    done
    for spec in "${names[@]}"; do node_start "$spec"; done
    retry 300 0.05 all_connected "${names[@]}"
    for spec in "${names[@]}"; do D0[$spec]=$(pubsub_counter "$spec" dropped); done
}

@test "pubsub: three nodes, exact and prefix topics: each message once, in order, never echoed" {
    nats_cluster 3
    nodes_up a:1,2,3 b:2,3,1 c:3,1,2

    # a: orders:* (b's publications, and its own); b: orders:eu exactly; c: orders:*, orders:e*
    # (both match orders:eu: the servers send c a's publications twice) and the unrelated other:*.
    subscriber a a.out 'orders:*'
    subscriber b b.out orders:eu
    subscriber c c.out 'orders:*' 'orders:e*' 'other:*'
    probe a orders:eu b.out c.out
    probe b orders:us a.out c.out

    # a publishes on orders:eu, b on orders:us, each numbering its own, until 2000 and 1000
    # went by (at a rate the subscribers' queues take: a slow subscriber loses its own
    # messages, in a cluster or not).
    fvn a start-child app/pool orders:eu 800
    fvn b start-child app/pool orders:us 400
    local pa pb
    pa=$(pid_on a app/pool/pub.1)
    pb=$(pid_on b app/pool/pub.1)
    retry 900 0.1 at_least c.out "^p$pa " 2000 || { show_state; false; }
    retry 900 0.1 at_least c.out "^p$pb " 1000 || { show_state; false; }
    fvn a terminate-child app/pool/pub.1
    fvn b terminate-child app/pool/pub.1
    # Everyone has each message once, in its publisher's order, up to the same last one: a
    # its own once (no echo).
    retry 300 0.1 same_last "$pa" a.out b.out c.out || { show_state; last_seq a.out "$pa"; last_seq b.out "$pa"; last_seq c.out "$pa"; false; }
    retry 300 0.1 same_last "$pb" a.out c.out || { show_state; last_seq a.out "$pb"; last_seq c.out "$pb"; false; }
    # b's own orders:us never came to b (it wants orders:eu only), and nothing else did: every
    # publication NATS brought it went to its subscriber (a's probes and publications).
    run -0 lines_in b.out "^p$pb "
    assert_output 0
    [ "$(pubsub_counter b in)" -eq "$(lines_in b.out "^(p$pa .*|probe-a)$")" ]
    # a's own publications came back to a through NATS not even once.
    [ "$(pubsub_counter a duplicates)" -eq 0 ]
    [ "$(pubsub_counter a in)" -eq "$(lines_in a.out "^(p$pb .*|probe-b)$")" ]
    [ "$(pubsub_counter a out)" -ge 2000 ]
    for n in a b c; do [ "$(pubsub_counter "$n" dropped)" -eq "${D0[$n]}" ]; done
    # c delivered a's publications once, and dropped their second copies.
    [ "$(pubsub_counter c duplicates)" -ge 2000 ]
    [ "$(pubsub_counter c patterns)" -eq 3 ]
    run -0 fvn a cluster
    assert_line --regexp "^pub/sub: +[0-9]+ in, [0-9]+ out, ${D0[a]} dropped, 0 duplicates, 1 patterns\$"
}

@test "pubsub: a subscriber of two patterns gets one publisher's messages on both in publish order" {
    nats_cluster 1
    nodes_up a:1 b:1

    # Two patterns, two NATS subscriptions on b: the messages of both still reach b's loop in
    # the order the server sent them, which is a's publish order.
    subscriber b b.out 'x:*' 'y:*'
    probe a x:a b.out
    probe a y:a b.out
    fvn a start-child app/pool x:a,y:a 4000
    local pa
    pa=$(pid_on a app/pool/pub.1)
    retry 600 0.1 at_least b.out "^p$pa " 3000 || { show_state; false; }
    fvn a terminate-child app/pool/pub.1
    retry 300 0.1 same_last "$pa" b.out || { show_state; last_seq b.out "$pa"; false; }
    [ "$(pubsub_counter b patterns)" -eq 2 ]
    [ "$(pubsub_counter b dropped)" -eq "${D0[b]}" ]
}

@test "pubsub: a node whose subscribers want nothing published gets no traffic; interest follows the subscriptions" {
    nats_cluster 3
    nodes_up a:1 b:2 c:3

    subscriber b b.out 'jobs:*'
    subscriber c c.out other
    [ "$(pubsub_counter c patterns)" -eq 1 ]
    probe a jobs:x b.out
    probe a other c.out
    fvn a start-child app/pool jobs:x 500
    local pa
    pa=$(pid_on a app/pool/pub.1)
    retry 600 0.1 at_least b.out "^p$pa " 500
    fvn a terminate-child app/pool/pub.1
    retry 300 0.1 same_last "$pa" b.out
    # c took in the probe on other, and nothing of jobs:x.
    [ "$(pubsub_counter c in)" -eq "$(lines_in c.out '^probe-a$')" ]
    [ "$(pubsub_counter c duplicates)" -eq 0 ]
    [ "$(pubsub_counter c dropped)" -eq "${D0[c]}" ]

    # c's subscriber goes: so does c's interest in other. Then it subscribes to jobs:x (the
    # servers learn of that after they learnt it wants other no more): what a publishes on
    # other meanwhile does not come to c.
    kill "${SUB_PIDS[1]}"
    wait "${SUB_PIDS[1]}" || true
    retry 200 0.05 patterns_are c 0
    subscriber c c2.out jobs:x
    probe a jobs:x c2.out
    fvn a publish other lost
    fvn a publish jobs:x last
    retry 200 0.05 seen c2.out last
    [ "$(pubsub_counter c in)" -eq $(($(lines_in c.out '^probe-a$') + $(lines_in c2.out '^(probe-a|last)$'))) ]
}

# restarted_seen OUT NODE: restarts app/w on node NODE, then true once OUT has that node's
# "started" of app/w.
restarted_seen() {
    fvn "$2" restart app/w >/dev/null
    grep -q "^{\"event\": \"started\", \"path\": \"app/w\", .*\"node\": \"$2\"" "$BATS_TEST_TMPDIR/$1"
}

@test "pubsub: events --cluster shows the other nodes' started and exited, each with its node; plain events only this node's" {
    nats_cluster 2
    nodes_up a:1,2 b:2,1

    "$FORKVISOR" --control "$BATS_TEST_TMPDIR/b/control.sock" events --cluster --ready --timeout 170000 \
        > "$BATS_TEST_TMPDIR/b.out" 2>&1 3>&- &
    SUB_PIDS+=($!)
    "$FORKVISOR" --control "$BATS_TEST_TMPDIR/b/control.sock" events --ready --timeout 170000 \
        > "$BATS_TEST_TMPDIR/b-plain.out" 2>&1 3>&- &
    SUB_PIDS+=($!)
    retry 200 0.05 grep -qx ready "$BATS_TEST_TMPDIR/b.out"
    retry 200 0.05 grep -qx ready "$BATS_TEST_TMPDIR/b-plain.out"
    [ "$(pubsub_counter b patterns)" -eq 1 ]
    # a restarts its worker until b has heard of it (b's interest reached a's server).
    retry 100 0.2 restarted_seen b.out a
    run -0 cat "$BATS_TEST_TMPDIR/b.out"
    assert_line --regexp '^\{"event": "exited", "path": "app/w", "pid": [0-9]+, .*, "node": "a", "time": "[^"]*", "seq": [0-9]+\}$'
    assert_line --regexp '^\{"event": "started", "path": "app/w", "pid": [0-9]+, .*"node": "a", "time": "[^"]*", "seq": [0-9]+\}$'
    # b's own events are there too, as plain events has them (no "node").
    fvn b restart app/w
    retry 200 0.05 grep -q '^{"event": "started", "path": "app/w", "pid": [0-9]*, "restarts": 0, "time"' "$BATS_TEST_TMPDIR/b.out"
    retry 200 0.05 grep -q '^{"event": "started", "path": "app/w", "pid": [0-9]*, "restarts": 0, "time"' "$BATS_TEST_TMPDIR/b-plain.out"
    run -0 cat "$BATS_TEST_TMPDIR/b-plain.out"
    refute_output --partial '"node": "a"'
    # a, where nobody asked for events --cluster, took nothing in.
    [ "$(pubsub_counter a in)" -eq 0 ]
}
