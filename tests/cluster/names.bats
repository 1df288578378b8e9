# SPDX-License-Identifier: MIT
# Global names (issue 14 point 3; forkvisor-cluster(7), GLOBAL NAMES): a name registered with
# --global is unique across the nodes (two nodes race for it 50 times: one holder each time),
# whereis finds it from every node, a call and a cast by that name reach it from another node, a
# process's exit frees it at once, a SIGKILLed node's names go within the heartbeat bound, a
# cluster without quorum refuses with a clear error, and after every server has been restarted
# the names are published again.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=180}"

setup() {
    load cluster_helper
    export FORKVISOR
}
teardown() { cluster_teardown; }

both_up() { node_heard "$1" "$2" up && node_heard "$2" "$1" up; }

# script NAME <<'SH': an executable shell worker $BATS_TEST_TMPDIR/NAME, which records its pid.
script() {
    {
        printf '#!/bin/sh\necho $$ >>"$FV_TEST_OUT/pids"\nforkvisor() { "$FORKVISOR" "$@"; }\n'
        cat
    } >"$BATS_TEST_TMPDIR/$1"
    chmod +x "$BATS_TEST_TMPDIR/$1"
}

# The holder worker of node NODE (holder_NODE): a cast "take NAME" waits for the file go.NAME
# (so that two nodes ask at once), registers NAME with --global and writes "NODE rc=RC" (and the
# refusal) to take.NAME; "drop NAME" unregisters it; "relay NAME" calls NAME, casts to it and
# monitors it from this worker, "where NAME" runs whereis in it (both into relay.NODE, downs
# too); a call is answered "NODE:PID:PAYLOAD"; a cast of anything else goes to casts.NODE.
holder_script() {
    local node=$1
    script "holder_$node" <<SH
node=$node
SH
    cat >>"$BATS_TEST_TMPDIR/holder_$node" <<'SH'
forkvisor ready
while msg=$(forkvisor recv --shell); do
    eval "$msg"
    case $FV_KIND:$FV_PAYLOAD in
    cast:take\ *)
        name=${FV_PAYLOAD#take }
        while [ ! -e "$FV_TEST_OUT/go.$name" ]; do sleep 0.01; done
        err=$(forkvisor register --global "$name" 2>&1)
        echo "$node rc=$? $err" >>"$FV_TEST_OUT/take.$name" ;;
    cast:drop\ *)
        forkvisor unregister --global "${FV_PAYLOAD#drop }" >>"$FV_TEST_OUT/drop.$node" 2>&1
        echo "rc=$?" >>"$FV_TEST_OUT/drop.$node" ;;
    cast:relay\ *)
        forkvisor call "${FV_PAYLOAD#relay }" "relayed" >>"$FV_TEST_OUT/relay.$node" 2>&1
        forkvisor send "${FV_PAYLOAD#relay }" "cast by $node's worker"
        forkvisor monitor "${FV_PAYLOAD#relay }"
        echo "monitoring" >>"$FV_TEST_OUT/relay.$node" ;;
    cast:where\ *)
        forkvisor whereis "${FV_PAYLOAD#where }" >>"$FV_TEST_OUT/relay.$node" 2>&1 ;;
    down:*)
        echo "down $FV_TOPIC $FV_PAYLOAD" >>"$FV_TEST_OUT/relay.$node" ;;
    cast:exit)
        exit 0 ;;
    cast:*)
        echo "$FV_PAYLOAD" >>"$FV_TEST_OUT/casts.$node" ;;
    call:*)
        forkvisor reply "$FV_REF" "$node:$$:$FV_PAYLOAD" ;;
    esac
done
SH
}

# names_node NAME SERVER [HEARTBEAT]: conf NAME.ini, node NAME on NATS server SERVER (and the
# others after it, for failover) with its holder worker, heartbeat HEARTBEAT ms (200). With
# GLOBAL_WORKER=NAME set, a sleeper worker `cfg` with register_global = NAME too.
names_node() {
    local name=$1 server=$2 beat=${3:-200} urls="" i
    holder_script "$name"
    for ((i = 0; i < NATS_N; i++)); do
        urls+="${urls:+, }$(nats_url $(((server - 1 + i) % NATS_N + 1)))"
    done
    {
        printf '[supervisor:app]\nchildren = holder%s\n' "${GLOBAL_WORKER:+ cfg}"
        printf '[worker:holder]\nexec = @T@/holder_%s\nready = mailbox\n' "$name"
        [[ -z ${GLOBAL_WORKER:-} ]] || printf '[worker:cfg]\nexec = @W@/sleeper\nregister_global = %s\n' "$GLOBAL_WORKER"
        printf '[cluster]\nnats = %s\nnode = %s\nheartbeat = %s\n' "$urls" "$name" "$beat"
    } | conf "$name.ini"
}

# take NODE NAME: node NODE's holder asks for NAME (once go.NAME exists).
take() { fvn "$1" send holder "take $2"; }
# taken NAME N: N answers are in take.NAME.
taken() { [[ -r $FV_TEST_OUT/take.$1 && $(wc -l <"$FV_TEST_OUT/take.$1") -ge $2 ]]; }
# whereis_is NODE NAME WANT: whereis NAME on node NODE prints WANT.
whereis_is() { [[ $(fvn "$1" whereis "$2" 2>/dev/null) == "$3" ]]; }
holder_pid() { fvn "$1" info app/holder | sed -n 's/^pid: //p'; }

# three_nodes [HEARTBEAT]: three NATS servers, nodes a, b and c on servers 1, 2 and 3, each
# hearing the others, and the name store ready.
three_nodes() {
    nats_cluster 3
    names_node a 1 "$@"
    names_node b 2 "$@"
    names_node c 3 "$@"
    node_start a
    node_start b
    node_start c
    retry 300 0.05 both_up a b
    retry 300 0.05 both_up a c
    retry 300 0.05 both_up b c
    kv_ready a
}

# kv_ready NODE: JetStream has elected its leaders (a few seconds after the servers start): a
# name can be taken from node NODE (and is let go of again).
kv_ready() {
    local i
    for ((i = 0; i < 30; i++)); do
        touch "$FV_TEST_OUT/go.warm$i"
        take "$1" "warm$i"
        retry 600 0.05 taken "warm$i" 1
        if grep -q "rc=0" "$FV_TEST_OUT/take.warm$i"; then
            fvn "$1" send holder "drop warm$i"
            return 0
        fi
    done
    return 1
}

@test "names: a global name is seen from every node, and reached by a call and a cast" {
    three_nodes
    local pb; pb=$(holder_pid b)
    touch "$FV_TEST_OUT/go.db"
    take b db
    retry 600 0.05 taken db 1
    run -0 cat "$FV_TEST_OUT/take.db"
    assert_output "b rc=0 "
    # The holder's node: its pid, as for a local name; the others: PID@NODE.
    retry 300 0.05 whereis_is b db "$pb"
    retry 300 0.05 whereis_is a db "$pb@b"
    retry 300 0.05 whereis_is c db "$pb@b"
    run -0 fvn a registry
    assert_output --partial "db@b"
    assert_output --partial global

    run -0 fvn a call db "from a"
    assert_output "b:$pb:from a"
    run -0 fvn c call db "from c"
    assert_output "b:$pb:from c"
    run -0 fvn a send db "cast from a"
    retry 200 0.05 grep -qx "cast from a" "$FV_TEST_OUT/casts.b"

    # From a worker of node a, through its mailbox and its registry: whereis, call, cast, monitor.
    fvn a send holder "where db"
    retry 200 0.05 grep -qx "$pb@b" "$FV_TEST_OUT/relay.a"
    fvn a send holder "relay db"
    retry 200 0.05 grep -qx "monitoring" "$FV_TEST_OUT/relay.a"
    run -0 grep -x "b:$pb:relayed" "$FV_TEST_OUT/relay.a"
    retry 200 0.05 grep -qx "cast by a's worker" "$FV_TEST_OUT/casts.b"
    # The holder ends: the monitor's down names NAME@NODE, with the exit reason.
    fvn b send holder exit
    retry 300 0.05 grep -q "^down db@b " "$FV_TEST_OUT/relay.a"
    retry 300 0.05 eval '! fvn c whereis db'

    nothing_after
}

nothing_after() {
    local n
    for n in a b c; do node_stop "$n"; done
    nothing_survives
}

@test "names: two nodes race for a name 50 times: one holder each time, seen as such from both" {
    three_nodes
    local pa pb round winner
    pa=$(holder_pid a)
    pb=$(holder_pid b)
    for ((round = 0; round < 50; round++)); do
        take a "race$round"
        take b "race$round"
        touch "$FV_TEST_OUT/go.race$round"
        retry 600 0.05 taken "race$round" 2
        one_winner "race$round"
        winner=$(grep "rc=0" "$FV_TEST_OUT/take.race$round" | cut -d' ' -f1)
        if [[ $winner == a ]]; then
            retry 200 0.05 whereis_is a "race$round" "$pa"
            retry 200 0.05 whereis_is b "race$round" "$pa@a"
        else
            retry 200 0.05 whereis_is b "race$round" "$pb"
            retry 200 0.05 whereis_is a "race$round" "$pb@b"
        fi
    done
    nothing_after
}

# one_winner NAME: of the two nodes that asked for NAME, one has it and the other was refused:
# taken, as a rule, or (when its server went away under it, as happens on a loaded machine) no
# quorum or not connected; it holds nothing either way.
one_winner() {
    local f=$FV_TEST_OUT/take.$1
    if [[ $(grep -c "rc=0" "$f") -ne 1 || $(grep -cE "rc=1 .*(taken|no quorum|not connected)" "$f") -ne 1 ]]; then
        cat "$f"
        return 1
    fi
}

@test "names: a process that ends or unregisters frees its global names at once" {
    # A heartbeat of 5 s: a bucket TTL of 15 s, far beyond the waits below.
    three_nodes 5000
    local pb
    touch "$FV_TEST_OUT/go.job" "$FV_TEST_OUT/go.other"
    take b job
    retry 600 0.05 taken job 1
    pb=$(holder_pid b)
    retry 300 0.05 whereis_is a job "$pb@b"
    # Its holder ends: the key is deleted, every mirror drops it, and another node takes it.
    fvn b send holder exit
    retry 100 0.05 eval '[[ $(holder_pid b) != "$pb" ]]'
    retry 100 0.05 eval '! fvn a whereis job'
    take a job
    retry 600 0.05 taken job 2
    run -0 sed -n 2p "$FV_TEST_OUT/take.job"
    assert_output "a rc=0 "
    retry 100 0.05 whereis_is b job "$(holder_pid a)@a"

    # Unregistered: the same.
    fvn a send holder "drop job"
    retry 100 0.05 grep -q "rc=0" "$FV_TEST_OUT/drop.a"
    retry 100 0.05 eval '! fvn b whereis job'
    # A global name is no local one to let go of twice.
    fvn a send holder "drop job"
    retry 100 0.05 grep -q "rc=1" "$FV_TEST_OUT/drop.a"
    run -0 cat "$FV_TEST_OUT/drop.a"
    assert_output --partial "not registered by this process"
    nothing_after
}

@test "names: a SIGKILLed node's names disappear from the others within the heartbeat bound" {
    three_nodes
    local pb
    touch "$FV_TEST_OUT/go.db"
    take b db
    retry 600 0.05 taken db 1
    pb=$(holder_pid b)
    retry 300 0.05 whereis_is a db "$pb@b"
    retry 300 0.05 whereis_is c db "$pb@b"
    node_stop b KILL
    # Down after 3 heartbeats, its names with it; its keys expire after 3 heartbeats too.
    retry 300 0.05 eval '! fvn a whereis db'
    retry 300 0.05 eval '! fvn c whereis db'
    run -1 fvn a call db x --timeout 2000
    assert_output --partial noproc
    take a db
    retry 600 0.05 taken db 2
    run -0 sed -n 2p "$FV_TEST_OUT/take.db"
    assert_output "a rc=0 "
    retry 300 0.05 whereis_is c db "$(holder_pid a)@a"
    nothing_after
}

@test "names: without a quorum of servers a name is refused with a clear error, never half taken" {
    three_nodes
    nats_stop 2
    nats_stop 3
    touch "$FV_TEST_OUT/go.solo"
    take a solo
    retry 600 0.05 taken solo 1
    run -0 cat "$FV_TEST_OUT/take.solo"
    assert_output --partial "a rc=1"
    assert_output --partial "no quorum"
    run -1 fvn a whereis solo
    # Local work goes on.
    run -0 fvn a call holder "still here"
    assert_output --partial "still here"
    nats_start 2
    nats_start 3
    retry 300 0.05 both_up a b
    kv_ready a
    nothing_after
}

@test "names: every server stopped and restarted: the names are published again" {
    three_nodes
    local pb pa
    touch "$FV_TEST_OUT/go.db" "$FV_TEST_OUT/go.cache"
    take b db
    take a cache
    retry 600 0.05 taken db 1
    retry 600 0.05 taken cache 1
    pb=$(holder_pid b)
    pa=$(holder_pid a)
    retry 300 0.05 whereis_is a db "$pb@b"
    retry 300 0.05 whereis_is c cache "$pa@a"
    nats_stop 1
    nats_stop 2
    nats_stop 3
    retry 300 0.05 cluster_state_is a disconnected
    # Each node keeps its own names, and loses sight of the others'.
    run -0 fvn b whereis db
    assert_output "$pb"
    retry 300 0.05 eval '! fvn a whereis db'
    nats_start 1
    nats_start 2
    nats_start 3
    retry 600 0.05 both_up a b
    retry 600 0.05 both_up a c
    retry 600 0.05 whereis_is a db "$pb@b"
    retry 600 0.05 whereis_is c db "$pb@b"
    retry 600 0.05 whereis_is c cache "$pa@a"
    retry 600 0.05 whereis_is b cache "$pa@a"
    run -0 fvn c call db "after"
    assert_output "b:$pb:after"
    nothing_after
}

# cfg_pid NODE: the pid of node NODE's worker app/cfg.
cfg_pid() { fvn "$1" info app/cfg | sed -n 's/^pid: //p'; }

@test "names: register_global in the configuration: taken once connected, again by each incarnation" {
    nats_cluster 3
    names_node a 1
    # The global name is the worker's section name, its local name too (register's default).
    GLOBAL_WORKER=cfg names_node b 2
    node_start a
    node_start b
    retry 300 0.05 both_up a b
    local pb
    pb=$(cfg_pid b)
    retry 600 0.05 whereis_is b cfg "$pb"
    retry 600 0.05 whereis_is a cfg "$pb@b"
    # Its next incarnation takes it again; the last one's key went with it.
    fvn b signal app/cfg KILL
    retry 200 0.05 eval '[[ -n $(cfg_pid b) && $(cfg_pid b) != "$pb" ]]'
    pb=$(cfg_pid b)
    retry 600 0.05 whereis_is a cfg "$pb@b"
    # A name of a's own (its holder's, on every node) hides b's global one on a only.
    touch "$FV_TEST_OUT/go.holder"
    take b holder
    retry 600 0.05 taken holder 1
    run -0 cat "$FV_TEST_OUT/take.holder"
    assert_output "b rc=0 "
    local pa; pa=$(holder_pid a)
    run -0 fvn a whereis holder
    assert_output "$pa"
    run -0 fvn a call holder "mine"
    assert_output "a:$pa:mine"
    # Between two incarnations of a's holder, b's is seen on a; the next one gets its name back.
    fvn a send holder exit
    retry 200 0.05 eval '[[ -n $(holder_pid a) && $(holder_pid a) != "$pa" ]]'
    pa=$(holder_pid a)
    run -0 fvn a call holder "mine again"
    assert_output "a:$pa:mine again"
    # Taken elsewhere: refused.
    touch "$FV_TEST_OUT/go.cfg"
    take a cfg
    retry 600 0.05 taken cfg 1
    run -0 cat "$FV_TEST_OUT/take.cfg"
    assert_output --partial "taken"
    node_stop a
    node_stop b
    nothing_survives
}

@test "names: check refuses register_global without [cluster]" {
    printf '[supervisor:app]\nchildren = w\n[worker:w]\nexec = @W@/sleeper\nregister_global = db\n' | conf lone.ini
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/lone.ini"
    assert_output --partial "register_global = db needs a [cluster] section"
}
