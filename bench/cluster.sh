# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# The cluster rows of `make bench` (issue 14, forkvisor-cluster(7)), sourced by bench/run.sh, which
# runs them after its own rows, or alone with BENCH=cluster. They skip, with a note and a row that
# says why, when nats-server, libnats (libnats-dev) or a forkvisor built with it is missing.
#
# One nats-server on 127.0.0.1 (a random port, no NATS cluster, JetStream: what the rows
# measure goes through one server) and three forkvisor nodes connected to it, a, b and c, which
# stay up from run to run; the measuring workers wait for a cast "go" (bench/fvmsg, FV_BENCH_GO).
# BENCH_NATS_ARGS: more arguments for nats-server (-D: its debug log, in results/nats.log).
# BENCH_CLUSTER_RUNS runs (default 5), each interleaving:
#  - remote call round trip A→B→A: bench/fvmsg caller on node a fv_call()s echo@b (the fvmsg
#    echo GenServer on node b) with 64 B, in RT_SEGMENTS segments per run of CALL_BATCHES
#    batches of CALL_N (as the local call of section 5), the median ns per call of each segment.
#    Floor: bench/natsfloor, a bare libnats request/reply between two processes on the same
#    server, same payload, same batches, segment for segment: a responder subscribed with a
#    callback that publishes the data back to the reply subject, a requester calling
#    natsConnection_Request() in a loop, both with natsOptions_SetSendAsap (libnats' fastest);
#    and once per run the same with libnats' default options (CALL_BATCHES batches of 200),
#    where a reply waits for the flusher thread. And the same calls of echo from a caller on node
#    b, a local call: what the two mailbox hops of the remote call (worker → node a, node b →
#    echo) cost, which the floor does not have.
#  - cross-node fan-out to 10 and 100 subscribers: an fvmsg publisher on node a publishes 64 B
#    on its topic (f10 or f100) for BENCH_PUB_SECONDS, then "end"; fvmsg subscribers on nodes b
#    and c, half on each (mailbox_limit 1000000), count what they receive and the gaps in the
#    sequence numbers, as in section 6. Delivered per second = all that the subscribers counted
#    / from just before the first publication to the last subscriber's "end". Nothing slows a
#    publisher down to what other nodes take (the node drops what NATS cannot take, and so does
#    a node whose queue from libnats is full), so "lossless for subscribers that keep up" needs
#    a pace: before the runs, the highest rate found lossless (fanout_search), and each run
#    publishes at 80% of it; each run also publishes once as fast as it can, for what gets
#    through and what is lost then. Against Redis pub/sub (bench/redispub), flow-controlled and
#    lossless, with the same number of subscribers, in the same run.
#  - global-name lookup: bench/fvmsg lookup on node b times fv_whereis_node() of fvbench_global,
#    the global name of a worker on node a (register_global; mirrored into b's registry), against
#    the same call for fvbench_lookup, its own name on node b, as long (the hash and the compare
#    cost by the byte): the median ns per lookup of 101 passes of 10000.
#    The server runs JetStream for it (the names' bucket).

CLUSTER_RUNS=${BENCH_CLUSTER_RUNS:-5}
CLUSTER_FANOUTS="10 100"
CLUSTER_FLOOR_DEFAULTS_N=200
CLUSTER_SKIP=     # why the rows are skipped, when they are
NATS_PID=
NATS_URL=
NATS_MON=
NATS_VERSION=
CLUSTER_PIDS=()   # the nodes and the responders, stopped by cleanup() on any exit

# cluster_build: bench/natsfloor, when libnats is there.
cluster_build() {
        if ! ${PKG_CONFIG:-pkg-config} --exists libnats 2>/dev/null; then
                CLUSTER_SKIP="no libnats (apt-get install libnats-dev)"
                return 0
        fi
        cbuild natsfloor -std=gnu17 -O2 -Wall -Wextra -D_GNU_SOURCE "$HERE/natsfloor.c" \
                $(${PKG_CONFIG:-pkg-config} --cflags --libs libnats) -lpthread
}

# nats_start: nats-server on 127.0.0.1 at a port of its choosing (-p -1), with its monitoring
# port too, both read from the ports file it writes; sets NATS_PID, NATS_URL and NATS_MON.
nats_start() {
        local ports=$TMP/nats-server_
        # shellcheck disable=SC2086 # BENCH_NATS_ARGS: more arguments, e.g. -D (debug log)
        nats-server -a 127.0.0.1 -p -1 -m -1 --ports_file_dir "$TMP" -l "$R/nats.log" -js -sd "$TMP/js" ${BENCH_NATS_ARGS:-} </dev/null >/dev/null 2>&1 &
        NATS_PID=$!
        ports=$TMP/nats-server_$NATS_PID.ports
        for _ in $(seq 200); do
                [ -s "$ports" ] && break
                kill -0 "$NATS_PID" 2>/dev/null || break
                sleep 0.05
        done
        [ -s "$ports" ] || return 1
        NATS_URL=$(sed -n 's/.*"nats":\["\([^"]*\)".*/\1/p' "$ports")
        NATS_MON=$(sed -n 's/.*"monitoring":\["http:\/\/127.0.0.1:\([0-9]*\)".*/\1/p' "$ports")
        [ -n "$NATS_URL" ] && [ -n "$NATS_MON" ]
}

# nats_interest SUBJECT: how many subscriptions of the server match SUBJECT (its /subsz; bash's
# /dev/tcp, no curl).
nats_interest() {
        local reply
        reply=$( (
                exec 3<>"/dev/tcp/127.0.0.1/$NATS_MON" || exit 1
                printf 'GET /subsz?subs=1&test=%s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "${1//%/%25}" >&3
                cat <&3
        ) 2>/dev/null) || return 1
        printf '%s\n' "$reply" | sed -n 's/^ *"total": *\([0-9]*\).*/\1/p' | head -n 1
}

# topic_subject TOPIC: the NATS subject of a topic of letters and digits (forkvisor-cluster(7)).
topic_subject() {
        printf 'fvbench.pub.%s%%' "$(printf '%s' "$1" | sed 's/./&./g')"
}

# cluster_node_ini NAME WORKERS: node NAME of the bench cluster, with the children key and the
# worker sections of the file WORKERS.
cluster_node_ini() {
        printf '[supervisor:m]\nstrategy = one_for_one\nintensity = 1000000\nperiod = 1\n'
        cat "$2"
        printf '\n[cluster]\nnats = %s\nnode = %s\nprefix = fvbench\n' "$NATS_URL" "$1"
}

# children_of NAME...: a children key over lines of 10.
children_of() {
        local i=0 n
        printf 'children ='
        for n; do
                [ $((i++ % 10)) = 0 ] && printf '\n       '
                printf ' %s' "$n"
        done
        printf '\n'
}

# subscribers_on FIRST LAST TOPIC PREFIX: fvmsg subscribers PREFIX<FIRST>..PREFIX<LAST> of TOPIC.
subscribers_on() {
        local i
        for i in $(seq "$1" "$2"); do
                msg_worker "$4$i" subscriber "ready = mailbox" "subscribe = $3" "mailbox_limit = $PUB_LIMIT" \
                        "environment = FV_BENCH_OUT=$TMP/cpub.out"
        done
}

cluster_up() { # NODE OTHER...: NODE is connected and hears every OTHER up
        local json o
        json=$("$FV" --control "$TMP/n.$1.sock" cluster --json 2>/dev/null) || return 1
        case $json in *'"state": "connected"'*) ;; *) return 1 ;; esac
        shift
        for o; do
                case $json in *"{\"node\": \"$o\", \"state\": \"up\""*) ;; *) return 1 ;; esac
        done
}

# cluster_start: the server, the nodes (waiting until a hears b and c, and the server holds the
# subscribers' interest), and the floor's responders; sets CLUSTER_SKIP when it cannot.
cluster_start() {
        local n i half c m ok=0
        command -v nats-server >/dev/null || { CLUSTER_SKIP="no nats-server (apt-get install nats-server)"; return 0; }
        [ -z "$CLUSTER_SKIP" ] || return 0
        NATS_VERSION=$(nats-server --version 2>/dev/null | sed -n 's/.*v\([0-9.]*\).*/\1/p')
        nats_start || { CLUSTER_SKIP="nats-server would not start (see $R/nats.log)"; return 0; }
        # a: the caller and one publisher per fan-out; b: echo, and half the subscribers of each
        # fan-out; c: the other half.
        local go="environment = FV_BENCH_GO=1"
        {
                children_of caller holder $(printf 'p%s ' $CLUSTER_FANOUTS)
                msg_worker caller "caller echo@b $CALL_BATCHES $CALL_N" "ready = mailbox" "$go FV_BENCH_OUT=$TMP/rcall.out"
                msg_worker holder echo "ready = mailbox" "register_global = fvbench_global"
                for n in $CLUSTER_FANOUTS; do
                        msg_worker "p$n" "publisher f$n $PUB_SECONDS" "ready = mailbox" "$go FV_BENCH_OUT=$TMP/cpub.out"
                done
        } >"$TMP/cw.a"
        for c in b c; do
                {
                        local kids=()
                        [ $c = b ] && kids+=(echo lcaller fvbench_lookup)
                        for n in $CLUSTER_FANOUTS; do
                                half=$((n / 2))
                                if [ $c = b ]; then
                                        kids+=($(seq -f "f${n}s%g" 1 $half))
                                else
                                        kids+=($(seq -f "f${n}s%g" $((half + 1)) "$n"))
                                fi
                        done
                        children_of "${kids[@]}"
                        if [ $c = b ]; then
                                msg_worker echo echo "ready = mailbox"
                                msg_worker lcaller "caller echo $CALL_BATCHES $CALL_N" "ready = mailbox" "$go FV_BENCH_OUT=$TMP/lcall.out"
                                msg_worker fvbench_lookup "lookup fvbench_lookup fvbench_global" "ready = mailbox" "$go FV_BENCH_OUT=$TMP/lookup.out"
                        fi
                        for n in $CLUSTER_FANOUTS; do
                                half=$((n / 2))
                                if [ $c = b ]; then
                                        subscribers_on 1 $half "f$n" "f${n}s"
                                else
                                        subscribers_on $((half + 1)) "$n" "f$n" "f${n}s"
                                fi
                        done
                } >"$TMP/cw.$c"
        done
        for c in a b c; do
                cluster_node_ini $c "$TMP/cw.$c" >"$TMP/cluster.$c.ini"
                if ! "$FV" check "$TMP/cluster.$c.ini" >"$R/cluster.check.txt" 2>&1; then
                        CLUSTER_SKIP="$FV cannot run a [cluster] node (built without libnats?): $(tail -n 1 "$R/cluster.check.txt")"
                        return 0
                fi
        done
        for c in b c a; do
                "$FV" run "$TMP/cluster.$c.ini" --control "$TMP/n.$c.sock" </dev/null >/dev/null 2>>"$R/cluster.$c.log" &
                CLUSTER_PIDS+=("$!")
        done
        for c in a b c; do
                for _ in $(seq 200); do [ -S "$TMP/n.$c.sock" ] && break; sleep 0.05; done
                "$FV" --control "$TMP/n.$c.sock" wait --timeout 30000 >/dev/null || { CLUSTER_SKIP="node $c did not start (see $R/cluster.$c.log)"; return 0; }
        done
        for i in $(seq 600); do
                ok=1
                cluster_up a b c || ok=0
                cluster_up b a || ok=0
                for n in $CLUSTER_FANOUTS; do
                        [ "$(nats_interest "$(topic_subject "f$n")")" = 2 ] || ok=0
                done
                case $("$FV" --control "$TMP/n.b.sock" whereis fvbench_global 2>/dev/null) in *@a) ;; *) ok=0 ;; esac
                [ $ok = 1 ] && break
                sleep 0.05
        done
        [ $ok = 1 ] || { CLUSTER_SKIP="the nodes did not hear each other, or b did not see a's global name, within 30 s (see $R/cluster.*.log)"; return 0; }
        for m in asap defaults; do
                "$B/natsfloor" responder $m "$NATS_URL" "fvbench-floor.$m" >"$TMP/responder.$m" 2>>"$R/natsfloor.log" &
                CLUSTER_PIDS+=("$!")
        done
        for m in asap defaults; do
                for _ in $(seq 200); do grep -q ready "$TMP/responder.$m" && break; sleep 0.05; done
                grep -q ready "$TMP/responder.$m" || { CLUSTER_SKIP="bench/natsfloor's responder did not start (see $R/natsfloor.log)"; return 0; }
        done
}

cluster_stop() {
        local p
        for p in "${CLUSTER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
        for p in "${CLUSTER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
        CLUSTER_PIDS=()
        if [ -n "$NATS_PID" ]; then
                kill -TERM "$NATS_PID" 2>/dev/null || true
                wait "$NATS_PID" 2>/dev/null || true
                NATS_PID=
        fi
}

# go_until NODE WORKER OUTFILE LINES [GO]: casts "go" (or GO) to WORKER on NODE and waits (120 s at
# most) until the workers wrote LINES lines to OUTFILE; fails with a note.
go_until() {
        local node=$1 w=$2 out=$3 lines=$4 i=0
        : >"$out"
        "$FV" --control "$TMP/n.$node.sock" send "$w" "${5:-go}" >/dev/null || { note "cluster: cannot start $w on $node"; return 1; }
        while [ "$(wc -l <"$out")" -lt "$lines" ]; do
                if [ $((i += 1)) -gt 2400 ]; then
                        note "cluster: $w on $node: no figures within 120 s; the end of the nodes' logs, and what the workers wrote:"
                        tail -n 20 "$R"/cluster.[abc].log >&2
                        cat "$out" >&2
                        return 1
                fi
                sleep 0.05
        done
}

# fanout_once N RATE FILE: one fan-out to N subscribers, the publisher paced at RATE publications
# per second (0: as fast as it can); appends "DELIVERED_PER_S PUBLISHED DELIVERED LOST NOT_DELIVERED
# WINDOW_NS RATE" to FILE (lost: sequence gaps; not delivered: published × N - delivered).
fanout_once() {
        local n=$1 rate=$2
        go_until a "p$n" "$TMP/cpub.out" $((n + 1)) "go $rate" || return 1
        awk -v n="$n" -v rate="$rate" '$1 == "pub" { p = $2; t0 = $3 }
                $1 == "sub" { d += $2; l += $5; if ($3 > te) te = $3 }
                END { printf "%.0f %d %d %d %d %.0f %d\n", d * 1e9 / (te - t0), p, d, l, p * n - d, te - t0, rate }' \
                "$TMP/cpub.out" >>"$3"
}

# fanout_search N: the highest publication rate to N subscribers found lossless, doubling from
# BENCH_CLUSTER_RATE (default 20000 per second) until one loses, then halving the interval, in
# 7 tries, in FAN_BEST[N]; the runs publish at 80% of it, FAN_RATE[N] (0: none found): on this
# noisy machine the best rate of the search loses now and then. The tries in
# $R/cluster.search.N.txt.
declare -A FAN_RATE FAN_BEST
fanout_search() {
        local n=$1 r=${BENCH_CLUSTER_RATE:-20000} good=0 bad=0 miss
        for _ in 1 2 3 4 5 6 7; do
                fanout_once "$n" "$r" "$R/cluster.search.$n.txt" || return 1
                miss=$(tail -n 1 "$R/cluster.search.$n.txt" | cut -d' ' -f5)
                if [ "$miss" = 0 ]; then
                        good=$r
                        if [ $bad = 0 ]; then r=$((r * 2)); else r=$(((good + bad) / 2)); fi
                else
                        bad=$r
                        r=$(((good + bad) / 2))
                fi
                [ "$r" -gt 0 ] || break
        done
        FAN_BEST[$n]=$good
        FAN_RATE[$n]=$((good * 4 / 5))
}

# cluster_bench: the measurements, into $R/cluster.*.txt.
cluster_bench() {
        local i n redis_here=
        cluster_start
        if [ -n "$CLUSTER_SKIP" ]; then
                note "cluster rows skipped: $CLUSTER_SKIP"
                cluster_stop
                return 0
        fi
        if [ -z "$REDIS_PID" ]; then
                redis_start && redis_here=1 || note "cluster: no redis-server, or it would not start: no Redis figures"
        fi
        REDIS_VERSION=$(redis-server --version 2>/dev/null | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
        note "load average before the cluster rows: $(cut -d' ' -f1-3 /proc/loadavg)"
        note "cluster: the highest lossless publication rate to $CLUSTER_FANOUTS subscribers across nodes, 7 tries each..."
        for n in $CLUSTER_FANOUTS; do
                fanout_search "$n" || { CLUSTER_SKIP="the fan-out to $n failed (see $R/cluster.*.log)"; break; }
                note "  $n subscribers: ${FAN_BEST[$n]} publications/s; the runs publish ${FAN_RATE[$n]}/s"
        done
        note "cluster: $CLUSTER_RUNS runs (remote call and bare libnats request/reply; fan-out to $CLUSTER_FANOUTS subscribers: Redis, forkvisor paced, forkvisor as fast as it can) on nats-server ${NATS_VERSION:-?}..."
        for i in $(seq "$CLUSTER_RUNS"); do
                [ -z "$CLUSTER_SKIP" ] || break
                for _ in $(seq "$RT_SEGMENTS"); do
                        timeout 120 "$B/natsfloor" requester asap "$NATS_URL" fvbench-floor.asap "$CALL_BATCHES" $CALL_N \
                                >>"$R/cluster.floor.txt" || { CLUSTER_SKIP="bench/natsfloor failed"; break 2; }
                        go_until a caller "$TMP/rcall.out" 1 || { CLUSTER_SKIP="the remote call failed (see $R/cluster.*.log)"; break 2; }
                        cut -d' ' -f2- "$TMP/rcall.out" >>"$R/cluster.call.txt"
                        go_until b lcaller "$TMP/lcall.out" 1 || { CLUSTER_SKIP="the local call on b failed (see $R/cluster.*.log)"; break 2; }
                        cut -d' ' -f2- "$TMP/lcall.out" >>"$R/cluster.lcall.txt"
                done
                go_until b fvbench_lookup "$TMP/lookup.out" 1 || { CLUSTER_SKIP="the lookups on b failed (see $R/cluster.*.log)"; break; }
                cat "$TMP/lookup.out" >>"$R/cluster.lookup.txt"
                timeout 120 "$B/natsfloor" requester defaults "$NATS_URL" fvbench-floor.defaults "$CALL_BATCHES" \
                        $CLUSTER_FLOOR_DEFAULTS_N >>"$R/cluster.floor.defaults.txt" || { CLUSTER_SKIP="bench/natsfloor failed"; break; }
                for n in $CLUSTER_FANOUTS; do
                        if [ -n "$REDIS_PID" ]; then
                                timeout 120 "$B/redispub" "$REDIS_ADDR" "$n" "$PUB_SECONDS" "$REDIS_PID" >>"$R/cluster.redis.$n.txt"
                        fi
                        if [ "${FAN_RATE[$n]:-0}" -gt 0 ]; then
                                fanout_once "$n" "${FAN_RATE[$n]}" "$R/cluster.pub.$n.txt" ||
                                        { CLUSTER_SKIP="the fan-out to $n failed (see $R/cluster.*.log)"; break 2; }
                        fi
                        fanout_once "$n" 0 "$R/cluster.flood.$n.txt" || { CLUSTER_SKIP="the fan-out to $n failed (see $R/cluster.*.log)"; break 2; }
                done
                note "  run $i/$CLUSTER_RUNS done"
        done
        for n in a b c; do
                "$FV" --control "$TMP/n.$n.sock" cluster --json >"$R/cluster.$n.json" 2>/dev/null || true
        done
        [ -z "$redis_here" ] || redis_stop
        cluster_stop
        [ -z "$CLUSTER_SKIP" ] || note "cluster rows cut short: $CLUSTER_SKIP"
}

# cluster_rows: the rows of the table (with run.sh's TABLE_FNS).
cluster_rows() {
        local V=(-v "skip=$CLUSTER_SKIP" -v redisv="${REDIS_VERSION:-}")
        if [ -s "$R/cluster.call.txt" ]; then
                V+=(-v "c_floor=$(med "$R/cluster.floor.txt" 2)" -v "c_call=$(med "$R/cluster.call.txt" 1)")
                [ -s "$R/cluster.floor.defaults.txt" ] && V+=(-v "c_def=$(med "$R/cluster.floor.defaults.txt" 2)")
                [ -s "$R/cluster.lcall.txt" ] && V+=(-v "c_local=$(med "$R/cluster.lcall.txt" 1)")
                [ -s "$R/cluster.lookup.txt" ] && V+=(-v "l_local=$(med "$R/cluster.lookup.txt" 2)" -v "l_global=$(med "$R/cluster.lookup.txt" 3)")
        fi
        for n in $CLUSTER_FANOUTS; do
                [ -s "$R/cluster.redis.$n.txt" ] && V+=(-v "f_redis_$n=$(med "$R/cluster.redis.$n.txt" 1)")
                if [ -s "$R/cluster.pub.$n.txt" ]; then
                        V+=(-v "f_fv_$n=$(med "$R/cluster.pub.$n.txt" 1)" -v "f_rate_$n=${FAN_RATE[$n]:-0}" -v "f_best_$n=${FAN_BEST[$n]:-0}")
                        V+=(-v "f_lost_$n=$(awk '{ s += $5 } END { print s + 0 }' "$R/cluster.pub.$n.txt")")
                        V+=(-v "f_pub_$n=$(awk -v n="$n" '{ s += $2 * n } END { print s + 0 }' "$R/cluster.pub.$n.txt")")
                fi
                if [ -s "$R/cluster.flood.$n.txt" ]; then
                        V+=(-v "f_flood_$n=$(med "$R/cluster.flood.$n.txt" 1)")
                        V+=(-v "f_floodmiss_$n=$(awk '{ m += $5; p += $2 } END { print (p > 0 ? m / (p * '"$n"') : 0) }' "$R/cluster.flood.$n.txt")")
                        V+=(-v "f_floodpub_$n=$(med "$R/cluster.flood.$n.txt" 2)")
                fi
        done
        awk "${V[@]}" "$TABLE_FNS"'
function fan_row(what, redis, fv) {
        if (fv == "")
                row(what, "—", "—", "—", "—", "≥ 2× Redis", "not measured")
        else if (redis == "")
                row(what, "—", "—", mps(fv), "—", "≥ 2× Redis", "no Redis")
        else
                row(what, mps(redis), "—", mps(fv), ratio(fv, redis), "≥ 2× Redis", met(fv >= 2 * redis))
}
BEGIN {
        if (skip != "" && c_call == "") {
                row("cluster rows (issue 14): skipped, " skip, "—", "—", "—", "—", "", "")
                exit
        }
        row("remote call round trip A→B→A through NATS: a worker on node a fv_call()s echo@b, 64 B (floor: bare libnats request/reply between 2 processes, SendAsap)", usf(c_floor), "—", usf(c_call), ratio(c_call, c_floor), "≤ 1.5× floor", met(c_call <= 1.5 * c_floor))
        if (c_def != "")
                row("  bare libnats request/reply with its default options (the reply waits for the flusher thread)", usf(c_def), "—", "—", "—", "", "")
        if (c_local != "")
                row("  the same calls of echo from a worker on node b: a local call, the share of the two mailbox hops the floor has not", "—", "—", usf(c_local), "—", "", "")
        rdis = redisv == "" ? "no redis-server" : "Redis " redisv " pub/sub, same subscribers"
        pace10 = f_fv_10 == "" ? "" : ", the publisher paced at " f_rate_10 "/s, 80% of the highest rate found lossless (" f_best_10 "/s)"
        pace100 = f_fv_100 == "" ? "" : ", paced at " f_rate_100 "/s (80% of " f_best_100 "/s)"
        fan_row("cross-node fan-out: publisher on node a, 10 subscribers on nodes b and c (5 + 5), 64 B, delivered" pace10 " (floor: " rdis ")", f_redis_10, f_fv_10)
        fan_row("cross-node fan-out to 100 subscribers (50 on b + 50 on c)" pace100, f_redis_100, f_fv_100)
        if (f_fv_10 != "" || f_fv_100 != "")
                row("  cross-node fan-out, paced: not delivered / published × subscribers, all runs, 10; 100 subscribers", "—", "—", sprintf("%d / %d; %d / %d", f_lost_10, f_pub_10, f_lost_100, f_pub_100), "—", "0 (lossless)", met(f_lost_10 + f_lost_100 == 0))
        if (f_flood_10 != "" || f_flood_100 != "")
                row("  cross-node fan-out, publisher as fast as it can (no flow control across nodes): delivered; not delivered, 10 / 100 subscribers", "—", "—", sprintf("%s; %.0f%% / %s; %.0f%%", mps(f_flood_10), 100 * f_floodmiss_10, mps(f_flood_100), 100 * f_floodmiss_100), "—", "", "")
        if (l_global == "")
                row("global-name lookup on a node that does not hold the name", "—", "—", "—", "—", "= local lookup", "not measured")
        else
                row("global-name lookup on node b of a name held on node a, fv_whereis_node() (floor: the same for a name of node b, as long)", sprintf("%.1f ns", l_local), "—", sprintf("%.1f ns", l_global), ratio(l_global, l_local), "the same ns (≤ 1.1× local)", met(l_global <= 1.1 * l_local))
        if (skip != "")
                row("cluster rows cut short: " skip, "—", "—", "—", "—", "", "")
}'
}

# cluster_notes: the footnote of the cluster rows.
cluster_notes() {
        [ -s "$R/cluster.call.txt" ] || return 0
        printf 'cluster: one nats-server %s on 127.0.0.1 (no NATS cluster; JetStream, for the global names), nodes a, b and c connected to it, prefix fvbench, heartbeat 1 s; %d runs; round trips as the local call (%d segments per run of %d batches of %d, median of the segments), the floor segment for segment; fan-out: %s s per run, Redis, forkvisor paced and forkvisor as fast as it can interleaved, delivered/s as for the local fan-out, subscribers at mailbox_limit %d; the paced rate was searched once before the runs (raw: cluster.search.*.txt). Raw: cluster.*.txt, the nodes'"'"' counters at the end: cluster.*.json.\n\n' \
                "${NATS_VERSION:-?}" "$CLUSTER_RUNS" "$RT_SEGMENTS" "$CALL_BATCHES" "$CALL_N" "$PUB_SECONDS" "$PUB_LIMIT"
}
