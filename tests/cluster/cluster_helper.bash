# SPDX-License-Identifier: MIT
# The cluster suite's helpers (forkvisor-cluster(7)): NATS servers on 127.0.0.1 with ports of
# their own, routed into one NATS cluster with JetStream (stored in the test's directory), and
# forkvisor nodes, each with its own control socket, runtime directory and log. Every server and
# node a test starts is stopped by pid in its teardown.
load ../bats/test_helper

command -v nats-server >/dev/null || skip "nats-server is not installed (apt-get install nats-server)"

# free_ports N: N TCP ports of 127.0.0.1 that nobody listens on now, one a line.
free_ports() {
    python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
' "$1"
}

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_closed() { ! port_open "$1"; }

# nats_cluster N: starts N NATS servers routed to each other (N = 1: one server on its own);
# NATS_PORT[i] is server i's client port (1-based). Returns once every one accepts clients.
nats_cluster() {
    local n=$1 i j ports routes
    mapfile -t ports < <(free_ports $((2 * n)))
    NATS_N=$n
    for ((i = 1; i <= n; i++)); do
        NATS_PORT[i]=${ports[i - 1]}
        NATS_ROUTE[i]=${ports[n + i - 1]}
    done
    for ((i = 1; i <= n; i++)); do
        routes=""
        for ((j = 1; j <= n; j++)); do
            [[ $j -eq $i ]] || routes+="${routes:+,}nats://127.0.0.1:${NATS_ROUTE[j]}"
        done
        NATS_ROUTES[i]=$routes
        nats_start "$i"
    done
}

# nats_start I: (re)starts server I as nats_cluster set it up.
nats_start() {
    local i=$1
    mkdir -p "$BATS_TEST_TMPDIR/nats$i"
    # One server is no NATS cluster: JetStream refuses a cluster without routes.
    local cluster=()
    [[ $NATS_N -eq 1 ]] ||
        cluster=(--cluster_name fv --cluster "nats://127.0.0.1:${NATS_ROUTE[i]}" --routes "${NATS_ROUTES[i]}")
    # NATS_DEBUG=-D (or -DV) in the environment: the servers log every connection (and message).
    nats-server ${NATS_DEBUG:-} -a 127.0.0.1 -p "${NATS_PORT[i]}" -n "s$i" "${cluster[@]}" \
        -js -sd "$BATS_TEST_TMPDIR/nats$i" -l "$BATS_TEST_TMPDIR/nats$i.log" </dev/null >/dev/null 2>&1 3>&- &
    NATS_PID[i]=$!
    echo "${NATS_PID[i]}" >> "$BATS_TEST_TMPDIR/nats.pids"
    retry 200 0.05 port_open "${NATS_PORT[i]}"
}

# nats_stop I [SIGNAL]: stops server I (SIGTERM, or SIGNAL) and waits until it is gone.
nats_stop() {
    local i=$1 sig=${2:-TERM}
    [[ -n ${NATS_PID[i]:-} ]] || return 0
    kill "-$sig" "${NATS_PID[i]}" 2>/dev/null || true
    retry 200 0.05 pid_dead "${NATS_PID[i]}" || kill -KILL "${NATS_PID[i]}" 2>/dev/null || true
    wait "${NATS_PID[i]}" 2>/dev/null || true
    unset "NATS_PID[$i]"
    retry 200 0.05 port_closed "${NATS_PORT[i]}"
}

# nats_url I: server I's client URL.
nats_url() { echo "nats://127.0.0.1:${NATS_PORT[$1]}"; }

# node_ini NAME SERVER... [-- KEY=VALUE...]: conf NAME.ini, a node named NAME with the root
# supervisor app over a sleeper `w` and an echo worker `echo`, connecting to the SERVERs (indexes,
# in that order) with a heartbeat of 200 ms; KEY=VALUE words after -- go into [cluster] too.
node_ini() {
    local name=$1 urls="" kv; shift
    while [[ $# -gt 0 && $1 != -- ]]; do urls+="${urls:+, }$(nats_url "$1")"; shift; done
    [[ ${1:-} == -- ]] && shift
    {
        printf '[supervisor:app]\nchildren = w echo\n'
        printf '[worker:w]\nexec = @W@/sleeper\n'
        printf '[worker:echo]\nexec = @W@/echo\nready = mailbox\n'
        printf '[cluster]\nnats = %s\nnode = %s\nheartbeat = 200\n' "$urls" "$name"
        for kv; do echo "${kv%%=*} = ${kv#*=}"; done
    } | conf "$name.ini"
}

# node_start NAME: runs NAME.ini as node NAME, its socket in $BATS_TEST_TMPDIR/NAME/, its log
# $BATS_TEST_TMPDIR/NAME.log; returns once its tree runs.
node_start() {
    local name=$1
    export FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$BATS_TEST_TMPDIR/$name" "$FV_TEST_OUT"
    "$FORKVISOR" run "$BATS_TEST_TMPDIR/$name.ini" --control "$BATS_TEST_TMPDIR/$name/control.sock" \
        </dev/null >"$BATS_TEST_TMPDIR/$name.log" 2>&1 3>&- &
    NODE_PID[$name]=$!
    echo "$name ${NODE_PID[$name]}" >> "$BATS_TEST_TMPDIR/nodes"
    fvn "$name" wait --timeout 15000
}

declare -gA NODE_PID

# fvn NAME ARGS...: forkvisor ARGS... against node NAME.
fvn() { local name=$1; shift; "$FORKVISOR" --control "$BATS_TEST_TMPDIR/$name/control.sock" "$@"; }

# node_stop NAME [SIGNAL]: stops node NAME (SIGTERM, or SIGNAL) and waits until it is gone.
node_stop() {
    local name=$1 sig=${2:-TERM} pid=${NODE_PID[$1]:-}
    [[ -n $pid ]] || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    retry 400 0.05 pid_dead "$pid" || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "NODE_PID[$name]"
}

# cluster_field NAME KEY: KEY of node NAME's `cluster --json`.
cluster_field() {
    fvn "$1" cluster --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}
cluster_state_is() { [[ $(cluster_field "$1" state) == "$2" ]]; }
# node_heard NAME OTHER STATE: node NAME lists OTHER as STATE (up or down).
node_heard() {
    fvn "$1" cluster --json | python3 -c '
import json, sys
nodes = {n["node"]: n["state"] for n in json.load(sys.stdin)["nodes"]}
sys.exit(0 if nodes.get(sys.argv[1]) == sys.argv[2] else 1)' "$2" "$3"
}

# seq_of NAME: the sequence number of node NAME's last event.
seq_of() { fvn "$1" status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["seq"])'; }

# events_since NAME SEQ: node NAME's kept events after SEQ, as "EVENT NODE" lines (path for the
# tree's), in order.
events_since() {
    fvn "$1" events --since "$2" --timeout 200 | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print(e["event"], e.get("node") or e["path"])'
}
# in_order NAME SEQ LINE...: the LINEs appear in node NAME's events after SEQ, in that order.
in_order() {
    local name=$1 seq=$2
    shift 2
    events_since "$name" "$seq" | python3 -c '
import sys
want = sys.argv[1:]
for line in sys.stdin:
    if want and line.rstrip("\n") == want[0]:
        want.pop(0)
sys.exit(1 if want else 0)' "$@"
}

# cluster_teardown: every node, then every NATS server, stopped by pid; the nodes' logs shown
# (for a failed test) and checked for sanitizer reports; no worker left behind.
cluster_teardown() {
    local name pid i ok=0 log
    fv_stop
    for name in "${!NODE_PID[@]}"; do node_stop "$name"; done
    for i in "${!NATS_PID[@]}"; do nats_stop "$i"; done
    if [[ -r $BATS_TEST_TMPDIR/nats.pids ]]; then
        while read -r pid; do
            pid_alive "$pid" || continue
            echo "a NATS server survived: $pid"
            kill -KILL "$pid" 2>/dev/null
            ok=1
        done < "$BATS_TEST_TMPDIR/nats.pids"
    fi
    if [[ -n ${FV_TEST_OUT:-} && -r $FV_TEST_OUT/pids ]]; then
        while read -r pid; do ours "$pid" && kill -KILL "$pid" 2>/dev/null; done < "$FV_TEST_OUT/pids"
    fi
    for log in "$BATS_TEST_TMPDIR"/*.log; do
        [[ -r $log && $log != */nats*.log ]] || continue
        echo "--- $log"
        cat "$log"
        ! grep -qE 'Sanitizer|runtime error:' "$log" || ok=1
    done
    return $ok
}

# nothing_survives: no node or worker of the test is left (the NATS servers are stopped, and
# checked, by the teardown).
nothing_survives() {
    local name pid
    while read -r name pid; do pid_dead "$pid" || return 1; done < "$BATS_TEST_TMPDIR/nodes"
    no_survivors
}
