#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench`: measures forkvisor side by side with bare-loop floors in the same run and prints
# one table of medians with the ratios and the targets of the performance issue (met / not met).
# It only prints: no timed assertion anywhere; the exit status says only whether it could measure.
#
#   bench/run.sh [BUILD]          BUILD defaults to build (needs BUILD/forkvisor)
#
# Workers: hello = workers/hello.c built static (gcc -static -Os), the worker of the targets;
# stamp = bench/stamp.c, the same protocol in a 9 KB static program without libc, which leaves out
# the ~0.5 ms that static glibc spends starting up on this VM (both sides of every ratio carry
# that constant with hello, which hides the supervisor's own share). Both write CLOCK_MONOTONIC as
# their first action to $FV_BENCH_FILE.
#
# What is measured, and how (the C programs in bench/ say more):
#  - restart latency: SIGKILL of a worker → its successor's first instruction (its timestamp
#    minus the time just before kill). bench/restart drives posix_spawn loops, fork+exec loops
#    (bench/floor sup) and forkvisor nodes (one permanent worker, one_for_one) alike, interleaved
#    round by round; "ran 1 s" = the worker had run 1 s, "ran < 1 s" = it was killed right after
#    it started (a few ms). BENCH_ROUNDS samples of each (default 31).
#  - start of 1,000 workers: from just before the spawn of `forkvisor run` (simple_one_for_one,
#    instances = 1000) to the largest of the 1,000 timestamps; floor: 1,000 spawns in a loop,
#    same end. Then the node's VmRSS and Pss with 1,000 running, and per child: RSS / 1000 and
#    its growth over a node with 1 worker. Then stop: SIGTERM → the node has exited (waitpid);
#    floor: a loop that signals the 1,000 and reaps them. BENCH_RUNS runs (default 7), interleaved.
#  - crash loop: a worker that exits at once (bench/exit1, static, no libc) under an intensity
#    never reached, for BENCH_CRASH_SECONDS (default 2) after a warm-up: restarts per second and
#    the node's CPU (utime+stime from /proc/PID/stat) per restart, against the floor's getrusage
#    per spawn: its own share (clone, wait) and its children's (execve, exit). The kernel's cost of
#    one spawn is their sum. BENCH_CRASH_RUNS runs (default 3).
#  - messaging (issue 3), BENCH_MSG_RUNS runs (default 5), each run interleaving, 64 B messages:
#    bench/msgfloor's bare floors over SOCK_SEQPACKET socketpairs: a two-process ping-pong and a
#    three-process relay A→hub→B→hub→A (epoll in the hub), BENCH_RT_SEGMENTS segments per run
#    (default 3) of BENCH_CALL_BATCHES batches (default 5) of 2000 round trips, the median ns per
#    round trip of each segment; a one-sender-one-receiver hub forwarding
#    one send per message, and one forwarding whole records of 32 framed messages, each for
#    BENCH_CAST_SECONDS (default 1), messages per second the receiver counted. Then the same
#    through a forkvisor node, with bench/fvmsg workers on build/libforkvisor.a: a caller doing
#    the same batches of fv_call() to a GenServer echo (median ns per call), and a sender
#    fv_cast()ing for BENCH_CAST_SECONDS to a sink (mailbox_limit = 1000000) that counts with
#    fv_recv() (delivered per second; the node's CPU per message from /proc meanwhile). The relay
#    and the call once more with every process pinned to CPU 0 (see section 5 for why).
#  - pub/sub fan-out (issue 5), BENCH_PUB_RUNS runs (default 3), each interleaving Redis, a bare
#    hub and forkvisor for 1, 10 and 100 subscribers: one publisher publishes 64 B messages as
#    fast as it can for BENCH_PUB_SECONDS (default 1), then "end"; every subscriber counts what it
#    received until its "end" and checks the sequence numbers the payloads carry (gaps = lost).
#    Delivered per second = all that the subscribers counted / the time from just before the first
#    publication to the last subscriber's "end" (what was still queued is drained inside it).
#    Redis: redis-server (Debian's 7.0), started here on 127.0.0.1 at a free port (and a private
#    unix socket, to check that it is ours) with no persistence and `client-output-buffer-limit
#    pubsub 0 0 0` (slow subscribers are never disconnected: nothing is lost), stopped at the end;
#    bench/redispub speaks RESP itself: N subscriber processes (SUBSCRIBE, large reads) and a
#    publisher pipelining PUBLISH (at most 512 outstanding); the server's CPU per delivered
#    message from /proc. Bare hub: bench/msgfloor fanout, which joins the records of 32 frames
#    that are there into one chunk and sends that to each receiver. forkvisor: a node running N
#    bench/fvmsg subscribers (`subscribe = bench`, mailbox_limit = 1000000) and then an fvmsg
#    publisher (fv_publish); the node's CPU per delivered message from /proc meanwhile.
#  - restart during a flood: a node flooded by its workers also runs hello and stamp; the
#    restart latency of those, measured as in 1. (BENCH_FLOOD_ROUNDS rounds, default 15),
#    against the idle forkvisor restart of 1.; posix_spawn loops run beside it under the same
#    flood, for what the load alone costs. Three floods: 1. fa and fb cast to each other in
#    windows of 256 (each waits for the other's 256 before sending more: nothing dropped, the node
#    never idle); 2. blasts of 1024 casts between which each takes what has arrived, at the
#    default mailbox_limit: the node is saturated and drops most of them; 3. pub/sub: a publisher
#    publishing 64 B for ever to 100 subscribers at the default mailbox_limit (those that fall
#    behind lose messages).
#  - registry lookups (issue 4), BENCH_REG_RUNS runs (default 9): bench/reglookup builds a table
#    of 10,000 names with src/registry.c's writer API, as the node does, and forks a reader that
#    maps its reader fd read-only, as a worker maps fd 4, and times registry_lookup() over every
#    name in a random order (hits), and over 10,000 names nobody holds (misses): ns per lookup,
#    the median of 101 passes; then again while the writer rewrites entries non-stop (remove +
#    add with a new generation, on the other CPU). Floor: a plain open-addressing table of the
#    same names, slots and hash in the reader's private memory, nothing atomic.
#  - the cluster rows (issue 14): a remote call through NATS against a bare libnats request/reply,
#    and a fan-out across nodes against Redis; bench/cluster.sh says how.
# With BENCH=cluster (make bench BENCH=cluster), only the cluster rows are measured and printed
# (about 2 minutes); BENCH=all (the default) measures everything.
# Raw samples and the nodes' logs are left in BUILD/bench/results/.
set -euo pipefail

BUILD=${1:-build}
ROUNDS=${BENCH_ROUNDS:-31}
RUNS=${BENCH_RUNS:-7}
CRASH_SECONDS=${BENCH_CRASH_SECONDS:-2}
CRASH_RUNS=${BENCH_CRASH_RUNS:-3}
MSG_RUNS=${BENCH_MSG_RUNS:-5}
CALL_BATCHES=${BENCH_CALL_BATCHES:-5}
RT_SEGMENTS=${BENCH_RT_SEGMENTS:-3}
CALL_N=2000
CAST_SECONDS=${BENCH_CAST_SECONDS:-1}
FLOOD_ROUNDS=${BENCH_FLOOD_ROUNDS:-15}
FLOOD_WINDOW=256
REG_RUNS=${BENCH_REG_RUNS:-9}
PUB_SECONDS=${BENCH_PUB_SECONDS:-1}
PUB_RUNS=${BENCH_PUB_RUNS:-3}
PUB_LIMIT=1000000
FANOUTS="1 10 100"
FLOOD_SUBS=100
N=1000
CC=${CC:-cc}
BENCH=${BENCH:-all}
case $BENCH in
all | cluster) ;;
*) echo "bench: BENCH is all or cluster, not '$BENCH'" >&2; exit 2 ;;
esac

BUILD=$(cd "$BUILD" && pwd)
FV=$BUILD/forkvisor
B=$BUILD/bench
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$FV" ] || { echo "bench: $FV is missing: run make first" >&2; exit 1; }
mkdir -p "$B"
TMP=$(mktemp -d /tmp/fvbench.XXXXXX)
R=$TMP/results # copied to $B/results at the end
mkdir "$R"

# --- every process we start is killed on any exit ---------------------------------------------
PIDS=()
REDIS_PID= # apart: fv_until and flood_phase reset PIDS
CLUSTER_PIDS=() NATS_PID= # the same, for bench/cluster.sh
any_alive() {
        local p
        for p in "${PIDS[@]}"; do
                kill -0 "$p" 2>/dev/null && return 0
        done
        return 1
}
cleanup() {
        local p
        # SIGTERM first: the floor loops and forkvisor then take their workers down with them.
        [ -z "$REDIS_PID" ] || PIDS+=("$REDIS_PID")
        PIDS+=("${CLUSTER_PIDS[@]}")
        [ -z "$NATS_PID" ] || PIDS+=("$NATS_PID")
        for p in "${PIDS[@]}"; do
                kill -TERM "$p" 2>/dev/null || true
        done
        for _ in $(seq 30); do
                any_alive || break
                sleep 0.1
        done
        for p in "${PIDS[@]}"; do
                kill -KILL "$p" 2>/dev/null || true
                wait "$p" 2>/dev/null || true
        done
        rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- the measuring programs and the static workers (renamed into place: a bench running at the
# same time keeps its binaries) ------------------------------------------------------------------
cbuild() { # NAME CC-ARGS...
        local name=$1
        shift
        $CC "$@" -o "$B/.$name.$$"
        mv -f "$B/.$name.$$" "$B/$name"
}
for p in floor restart fvnode msgfloor redispub; do
        cbuild $p -std=gnu17 -O2 -Wall -Wextra -D_GNU_SOURCE "$HERE/$p.c"
done
[ -f "$BUILD/libforkvisor.a" ] || { echo "bench: $BUILD/libforkvisor.a is missing: run make first" >&2; exit 1; }
cbuild fvmsg -std=gnu17 -O2 -Wall -Wextra -D_GNU_SOURCE -I"$HERE/../lib" "$HERE/fvmsg.c" "$BUILD/libforkvisor.a"
cbuild reglookup -std=gnu17 -O2 -Wall -Wextra -D_GNU_SOURCE -fstack-protector-strong -fPIE -pie -D_FORTIFY_SOURCE=2 \
        -I"$HERE/../src" "$HERE/reglookup.c" "$HERE/../src/registry.c"
cbuild hello -static -Os -s -D_GNU_SOURCE "$HERE/../workers/hello.c"
NOLIBC="-static -Os -s -nostdlib -fno-stack-protector -fno-builtin -Wall -Wextra"
cbuild stamp $NOLIBC "$HERE/stamp.c"
cbuild exit1 $NOLIBC "$HERE/exit1.c"
. "$HERE/cluster.sh"
cluster_build

note() { printf 'bench: %s\n' "$*" >&2; }
# The table's awk functions, shared with the cluster rows (bench/cluster.sh): a row, ratios and
# verdicts, µs and messages per second.
TABLE_FNS='
function ratio(a, b) { return b > 0 ? sprintf("%.2f×", a / b) : "—" }
function met(ok) { return ok ? "met" : "**not met**" }
function row(what, floor, fork, fv, r, target, verdict) {
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", what, floor, fork, fv, r, target, verdict
}
function usf(ns) { return sprintf("%.1f µs", ns / 1e3) }
function mps(r) { return r >= 1e6 ? sprintf("%.2f M msg/s", r / 1e6) : sprintf("%.0f k msg/s", r / 1e3) }
'
# med FILE COLUMN [PATTERN]: the median of column COLUMN over the lines of FILE matching PATTERN.
med() {
        awk -v c="$2" -v pat="${3:-}" 'pat == "" || $0 ~ pat { print $c }' "$1" | sort -g |
                awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
                        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- configurations -----------------------------------------------------------------------------
# A configuration's end, shared by all: the intensity is never reached, and worker NAME runs PROG
# with its output discarded and, given a TSFILE, FV_BENCH_FILE=TSFILE.
never_gives_up() { # NAME PROG [TSFILE]
        cat <<EOF
intensity = 1000000
period = 1

[worker:$1]
exec = $2
stdout = null
stderr = null
EOF
        if [ -n "${3:-}" ]; then
                echo "environment = FV_BENCH_FILE=$3"
        fi
}
one_worker_ini() { # PROG TSFILE
        cat <<EOF
[supervisor:b]
strategy = one_for_one
children = w
EOF
        never_gives_up w "$1" "$2"
}
pool_ini() { # PROG N TSFILE
        cat <<EOF
[supervisor:b]
strategy = simple_one_for_one
template = w
instances = $2
EOF
        never_gives_up w "$1" "$3"
}
one_worker_ini "$B/hello" "$TMP/ts.restart.fv.hello" >"$TMP/restart.hello.ini"
one_worker_ini "$B/stamp" "$TMP/ts.restart.fv.stamp" >"$TMP/restart.stamp.ini"
pool_ini "$B/hello" $N "$TMP/ts.start.fv.hello" >"$TMP/start.hello.ini"
pool_ini "$B/stamp" $N "$TMP/ts.start.fv.stamp" >"$TMP/start.stamp.ini"
pool_ini "$B/hello" 1 "$TMP/ts.start1" >"$TMP/start1.ini"
{
        cat <<EOF
[supervisor:b]
strategy = one_for_one
children = c
EOF
        never_gives_up c "$B/exit1"
} >"$TMP/crash.ini"
# Messaging: the workers' stdout is discarded, their stderr goes to the node's log.
msg_worker() { # NAME ARGS [KEY = VALUE]...
        local name=$1 args=$2
        shift 2
        printf '\n[worker:%s]\nexec = %s %s\nstdout = null\n' "$name" "$B/fvmsg" "$args"
        printf '%s\n' "$@"
}
{
        printf '[supervisor:m]\nstrategy = one_for_one\nintensity = 1000000\nperiod = 1\nchildren = echo, caller\n'
        msg_worker echo echo "ready = mailbox"
        msg_worker caller "caller echo $CALL_BATCHES $CALL_N" "ready = mailbox" "environment = FV_BENCH_OUT=$TMP/call.out"
} >"$TMP/call.ini"
{
        printf '[supervisor:m]\nstrategy = one_for_one\nintensity = 1000000\nperiod = 1\nchildren = sink, sender\n'
        msg_worker sink sink "ready = mailbox" "mailbox_limit = 1000000" "environment = FV_BENCH_OUT=$TMP/cast.out"
        # Its own limit too: a sender whose casts keep hitting a full mailbox for a second is
        # treated as flooding past 100 times its limit, and the bench measures what gets through.
        msg_worker sender "sender sink $CAST_SECONDS" "ready = mailbox" "mailbox_limit = 1000000" \
                "environment = FV_BENCH_OUT=$TMP/cast.out"
} >"$TMP/cast.ini"
# The floods: fa and fb cast 64 B to each other, in windows of FLOOD_WINDOW (each waits for as
# many from the other before it sends more: nothing is dropped), or in blasts of 1024 between
# which each takes what has arrived (at the default mailbox_limit, most are dropped).
for k in window blast; do
        a=$FLOOD_WINDOW
        [ $k = blast ] && a=0
        {
                printf '[supervisor:b]\nstrategy = one_for_one\nchildren = w, s, fa, fb\n'
                never_gives_up w "$B/hello" "$TMP/ts.flood.$k.fv.hello"
                printf '\n'
                never_gives_up s "$B/stamp" "$TMP/ts.flood.$k.fv.stamp" | sed '1,2d'
                msg_worker fa "flood fb $a" "ready = mailbox"
                msg_worker fb "flood fa $a" "ready = mailbox"
        } >"$TMP/flood.$k.ini"
done
# Pub/sub: N subscribers, then the publisher (ordered start: it starts once they are all ready).
# children goes on over indented lines (a line holds at most 198 bytes).
children_list() { # PREFIX N [LAST...]
        local i
        printf 'children ='
        for i in $(seq "$2"); do
                [ $((i % 10)) = 1 ] && printf '\n       '
                printf ' %s%d' "$1" "$i"
        done
        shift 2
        printf ' %s' "$@"
        printf '\n'
}
subscribers() { # PREFIX N KEY = VALUE...
        local i p=$1 n=$2
        shift 2
        for i in $(seq "$n"); do
                msg_worker "$p$i" subscriber "ready = mailbox" "$@"
        done
}
for n in $FANOUTS; do
        {
                printf '[supervisor:p]\nstrategy = one_for_one\nintensity = 1000000\nperiod = 1\n'
                children_list s "$n" pub
                subscribers s "$n" "subscribe = bench" "mailbox_limit = $PUB_LIMIT" "environment = FV_BENCH_OUT=$TMP/pub.out"
                msg_worker pub "publisher bench $PUB_SECONDS" "ready = mailbox" "environment = FV_BENCH_OUT=$TMP/pub.out"
        } >"$TMP/pub.$n.ini"
done
# The pub/sub flood: a publisher publishing for ever to FLOOD_SUBS subscribers at the default
# mailbox_limit, beside hello and stamp.
{
        printf '[supervisor:b]\nstrategy = one_for_one\n'
        children_list q $FLOOD_SUBS w s pub
        never_gives_up w "$B/hello" "$TMP/ts.flood.pubsub.fv.hello"
        printf '\n'
        never_gives_up s "$B/stamp" "$TMP/ts.flood.pubsub.fv.stamp" | sed '1,2d'
        subscribers q $FLOOD_SUBS "subscribe = flood"
        msg_worker pub "publisher flood 0" "ready = mailbox"
} >"$TMP/flood.pubsub.ini"
for c in "$TMP"/*.ini; do
        "$FV" check "$c" >/dev/null
done

# --- Redis, for the pub/sub rows (6.) and the cluster rows (9.) ---------------------------------
# redis_start: redis-server on 127.0.0.1 at a free port, and on a private unix socket through
# which we check that the server answering is ours (a port taken makes it exit); sets REDIS_PID
# and REDIS_ADDR; fails when there is no redis-server.
REDIS_ADDR=
redis_start() {
        local port
        command -v redis-server >/dev/null && command -v redis-cli >/dev/null || return 1
        for _ in 1 2 3 4 5; do
                port=$((20000 + RANDOM % 30000))
                redis-server --bind 127.0.0.1 --port $port --unixsocket "$TMP/redis.sock" --unixsocketperm 700 \
                        --save "" --appendonly no --client-output-buffer-limit "pubsub 0 0 0" --daemonize no \
                        --dir "$TMP" --logfile "$R/redis.log" </dev/null >/dev/null 2>&1 &
                REDIS_PID=$!
                for _ in $(seq 100); do
                        if [ "$(redis-cli -s "$TMP/redis.sock" ping 2>/dev/null)" = PONG ]; then
                                REDIS_ADDR=127.0.0.1:$port
                                return 0
                        fi
                        kill -0 "$REDIS_PID" 2>/dev/null || break
                        sleep 0.05
                done
                kill "$REDIS_PID" 2>/dev/null || true
                wait "$REDIS_PID" || true
                REDIS_PID=
        done
        return 1
}
redis_stop() {
        [ -n "$REDIS_PID" ] || return 0
        kill -TERM "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" || true
        REDIS_PID=
}

# --- BENCH=cluster: the cluster rows alone (bench/cluster.sh) -------------------------------------
if [ "$BENCH" = cluster ]; then
        cluster_bench
        printf '\nforkvisor vs. floors, medians: the cluster rows only (BENCH=cluster)\n\n'
        echo "| | floor | — | forkvisor | forkvisor / floor | target | |"
        echo "|---|---:|---:|---:|---:|---|---|"
        cluster_rows
        echo
        cluster_notes
        rm -rf "$B/results"
        cp -r "$R" "$B/results"
        note "raw samples and the nodes' logs: $B/results/"
        exit 0
fi

# --- 1. restart latency -----------------------------------------------------------------------
note "restart latency: $ROUNDS rounds of ~1 s (posix_spawn loop, fork+exec loop, forkvisor; hello, stamp)..."
TARGETS=()
for w in hello stamp; do
        for m in spawn fork; do
                FV_BENCH_FILE=$TMP/ts.restart.$m.$w "$B/floor" sup $m "$B/$w" &
                p=$!
                PIDS+=("$p")
                TARGETS+=("$m.$w" "$TMP/ts.restart.$m.$w" "cat /proc/$p/task/$p/children")
        done
        "$FV" run "$TMP/restart.$w.ini" --control "$TMP/r.$w.sock" </dev/null >/dev/null 2>"$R/restart.$w.log" &
        PIDS+=("$!")
        TARGETS+=("forkvisor.$w" "$TMP/ts.restart.fv.$w" "'$FV' --control '$TMP/r.$w.sock' info b/w")
done
for w in hello stamp; do
        for _ in $(seq 100); do [ -S "$TMP/r.$w.sock" ] && break; sleep 0.05; done
        "$FV" --control "$TMP/r.$w.sock" wait b/w --state running --timeout 5000 >/dev/null
done
"$B/restart" "$ROUNDS" 1000 "${TARGETS[@]}" >"$R/restart.txt"
kill -TERM "${PIDS[@]}"
wait "${PIDS[@]}" || true
PIDS=()

# --- 2./3. start and stop of 1,000 ------------------------------------------------------------
note "start and stop of $N workers: $RUNS runs of each (hello, stamp)..."
"$B/fvnode" startstop "$FV" "$TMP/start1.ini" "$TMP/s.sock" "$R/start1.log" "$TMP/ts.start1" 1 >"$R/start1.txt"
for i in $(seq "$RUNS"); do
        for w in hello stamp; do
                for m in spawn fork; do
                        FV_BENCH_FILE=$TMP/ts.start.$m.$w "$B/floor" startstop $m $N "$B/$w" "$TMP/ts.start.$m.$w" \
                                >>"$R/startstop.$m.$w.txt"
                done
                "$B/fvnode" startstop "$FV" "$TMP/start.$w.ini" "$TMP/s.sock" "$R/start.$w.log" \
                        "$TMP/ts.start.fv.$w" $N >>"$R/startstop.fv.$w.txt"
        done
        note "  run $i/$RUNS done"
done

# --- 4. crash loop ----------------------------------------------------------------------------
note "crash loop: $CRASH_RUNS runs of $CRASH_SECONDS s (floor, forkvisor)..."
for i in $(seq "$CRASH_RUNS"); do
        "$B/floor" crash "$CRASH_SECONDS" "$B/exit1" >>"$R/crash.floor.txt"
        "$B/fvnode" crash "$FV" "$TMP/crash.ini" "$TMP/c.sock" "$R/crash.log" "$CRASH_SECONDS" >>"$R/crash.fv.txt"
done

# --- 5. messaging: bare floors and forkvisor, interleaved run by run ---------------------------
# fv_until NAME CONFIG OUTFILE LINES: runs a node until its workers wrote LINES lines to OUTFILE
# (60 s at most), then stops it.
# With PIN set (a command prefix), the node and so its workers run under it.
fv_until() {
        local name=$1 ini=$2 out=$3 lines=$4 p i=0
        : >"$out"
        ${PIN:-} "$FV" run "$ini" --control "$TMP/$name.sock" </dev/null >/dev/null 2>>"$R/$name.log" &
        p=$!
        PIDS=("$p")
        while [ "$(wc -l <"$out")" -lt "$lines" ]; do
                if ! kill -0 "$p" 2>/dev/null || [ $((i += 1)) -gt 1200 ]; then
                        note "$name: no figures from the node's workers; the end of its log, and what they wrote:"
                        tail -n 20 "$R/$name.log" >&2
                        cat "$out" >&2
                        exit 1
                fi
                sleep 0.05
        done
        kill -TERM "$p"
        wait "$p" || true
        PIDS=()
}
# Other processes on this small machine move the messaging figures most: say what load there was.
note "load average before messaging: $(cut -d' ' -f1-3 /proc/loadavg)"
note "messaging: $MSG_RUNS runs (ping-pong, relay, call; hub casts one by one, batched, forkvisor cast)..."
MF="timeout 120 $B/msgfloor"
# Round trips on this 2-vCPU VM are bimodal: ~3-13 µs when the scheduler keeps the processes on
# one CPU, 30-120 µs when each hop is a cross-CPU wake-up (an IPI to an idle vCPU), and which
# one a batch gets is luck. So the relay and the call are also measured with every process
# pinned to CPU 0 (taskset): the same path without the lottery, for a ratio that holds still.
PIN0=
command -v taskset >/dev/null && PIN0="taskset -c 0"
# The mode also lasts for seconds: the round trips alternate in short segments (RT_SEGMENTS per
# run of CALL_BATCHES batches each), so that the floor and forkvisor sample the same spells.
for i in $(seq "$MSG_RUNS"); do
        for _ in $(seq "$RT_SEGMENTS"); do
                $MF pingpong "$CALL_BATCHES" $CALL_N >>"$R/msg.pingpong.txt"
                $MF relay "$CALL_BATCHES" $CALL_N >>"$R/msg.relay.txt"
                fv_until call "$TMP/call.ini" "$TMP/call.out" 1
                cut -d' ' -f2- "$TMP/call.out" >>"$R/msg.call.txt" # median, then every batch
                if [ -n "$PIN0" ]; then
                        $PIN0 $MF relay "$CALL_BATCHES" $CALL_N >>"$R/msg.relay.pinned.txt"
                        PIN=$PIN0 fv_until call "$TMP/call.ini" "$TMP/call.out" 1
                        cut -d' ' -f2- "$TMP/call.out" >>"$R/msg.call.pinned.txt"
                fi
        done
        $MF cast "$CAST_SECONDS" >>"$R/msg.cast.txt"
        $MF batch "$CAST_SECONDS" >>"$R/msg.batch.txt"
        fv_until cast "$TMP/cast.ini" "$TMP/cast.out" 2
        # delivered/s, node, sink and sender CPU per message, sent, delivered
        awk '$1 == "sink" { c = $2; dt = $3; node = $4; sink = $5 } $1 == "sender" { s = $2; scpu = $3 }
                END { printf "%.0f %.1f %.1f %.1f %d %d\n", c * 1e9 / dt, node / c, sink / c, scpu / c, s, c }' \
                "$TMP/cast.out" >>"$R/msg.fvcast.txt"
        tail -n 1 "$R/msg.fvcast.txt" | awk '$5 != $6 { exit 1 }' ||
                note "  forkvisor cast: $(tail -n 1 "$R/msg.fvcast.txt" | awk '{ print $5 - $6 }') of the casts were not delivered"
        note "  run $i/$MSG_RUNS done"
done

# --- 6. pub/sub fan-out: Redis, a bare hub and forkvisor, interleaved run by run -----------------
REDIS_VERSION=
if redis_start; then
        REDIS_VERSION=$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')
else
        note "no redis-server (apt-get install redis-server), or it would not start (see $R/redis.log): no Redis figures"
fi
note "pub/sub fan-out: $PUB_RUNS runs of $PUB_SECONDS s to $FANOUTS subscribers (Redis ${REDIS_VERSION:-missing}, bare hub, forkvisor)..."
for i in $(seq "$PUB_RUNS"); do
        for n in $FANOUTS; do
                if [ -n "$REDIS_PID" ]; then
                        timeout 120 "$B/redispub" "$REDIS_ADDR" "$n" "$PUB_SECONDS" "$REDIS_PID" >>"$R/pub.redis.$n.txt"
                fi
                $MF fanout "$n" "$PUB_SECONDS" >>"$R/pub.floor.$n.txt"
                fv_until pub.$n "$TMP/pub.$n.ini" "$TMP/pub.out" $((n + 1))
                # delivered/s, node CPU per delivered, published, delivered, lost, window, subscriber
                # CPU per delivered: the window ends at the last subscriber's end, whose reading of
                # the node's CPU is the one taken.
                awk '$1 == "pub" { p = $2; t0 = $3; c0 = $4 }
                        $1 == "sub" { d += $2; l += $5; sc += $6; if ($3 > te) { te = $3; c1 = $4 } }
                        END { printf "%.0f %.1f %d %d %d %d %.1f\n", d * 1e9 / (te - t0), (c1 - c0) / d, p, d, l, te - t0, sc / d }' \
                        "$TMP/pub.out" >>"$R/pub.fv.$n.txt"
        done
        note "  run $i/$PUB_RUNS done"
done
redis_stop

# --- 7. restart latency during a flood ---------------------------------------------------------
# flood_phase KIND: a node running hello, stamp and the flooders of KIND (window: nothing dropped;
# blast: mailbox_limit reached, most casts dropped; pubsub: a publisher and FLOOD_SUBS
# subscribers), posix_spawn loops beside it; restart rounds on all four; the messages delivered to
# and dropped at the flooders (subscribers) before and after, with their pids.
flooders() { # KIND: the workers flooded, the last one started last
        if [ "$1" = pubsub ]; then
                printf 'q%d ' $(seq $FLOOD_SUBS)
                echo pub
        else
                echo fa fb
        fi
}
flood_state() { # KIND
        local t
        t=$(date +%s%N)
        for w in $(flooders "$1"); do "$FV" --control "$TMP/f.$1.sock" info "b/$w"; done |
                awk -v t="$t" '/^pid:/ { pid = pid " " $2 } /^messages out:/ { out += $3 }
                        /^messages dropped:/ { d += $3 } END { print t, out, d pid }'
}
flood_phase() {
        local k=$1 w p f0 f1 targets=()
        "$FV" run "$TMP/flood.$k.ini" --control "$TMP/f.$k.sock" </dev/null >/dev/null 2>"$R/flood.$k.log" &
        PIDS=("$!")
        for w in hello stamp; do
                FV_BENCH_FILE=$TMP/ts.flood.$k.spawn.$w "$B/floor" sup spawn "$B/$w" &
                p=$!
                PIDS+=("$p")
                targets+=("spawn.$w" "$TMP/ts.flood.$k.spawn.$w" "cat /proc/$p/task/$p/children")
        done
        for w in hello:w stamp:s; do
                targets+=("forkvisor.${w%:*}" "$TMP/ts.flood.$k.fv.${w%:*}" "'$FV' --control '$TMP/f.$k.sock' info b/${w#*:}")
        done
        for _ in $(seq 100); do [ -S "$TMP/f.$k.sock" ] && break; sleep 0.05; done
        "$FV" --control "$TMP/f.$k.sock" wait "b/$(flooders "$k" | awk '{ print $NF }')" --state running --timeout 10000 >/dev/null
        sleep 0.5
        f0=$(flood_state "$k")
        "$B/restart" "$FLOOD_ROUNDS" 1000 "${targets[@]}" >"$R/restart.flood.$k.txt"
        f1=$(flood_state "$k")
        printf '%s\n%s\n' "$f0" "$f1" >"$R/flood.$k.state.txt"
        kill -TERM "${PIDS[@]}"
        wait "${PIDS[@]}" || true
        PIDS=()
        awk '{ $1 = $2 = $3 = "" } NR == 1 { p = $0 } NR == 2 && $0 != p { exit 1 }' "$R/flood.$k.state.txt" ||
                note "  the flooders were restarted during the flood (see $R/flood.$k.log)"
}
note "restart during a flood: 3 × $FLOOD_ROUNDS rounds of ~1 s (forkvisor; posix_spawn loops under the same load)..."
flood_phase window
flood_phase blast
flood_phase pubsub
note "load average after the floods: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 8. registry lookups from a child -------------------------------------------------------------
note "registry lookups: $REG_RUNS runs (floor, idle, while the writer rewrites)..."
"$B/reglookup" "$REG_RUNS" >"$R/registry.txt"

# --- 9. the cluster rows (bench/cluster.sh) -------------------------------------------------------
cluster_bench

# --- the table --------------------------------------------------------------------------------
V=()
for w in hello stamp; do
        for m in spawn fork forkvisor; do
                V+=(-v "rl_${m}_$w=$(med "$R/restart.txt" 3 "^$m[.]$w long")")
                V+=(-v "rs_${m}_$w=$(med "$R/restart.txt" 3 "^$m[.]$w short")")
        done
        for m in spawn fork fv; do
                V+=(-v "st_${m}_$w=$(med "$R/startstop.$m.$w.txt" 1)")
        done
        for m in spawn fork; do
                V+=(-v "sp_${m}_$w=$(med "$R/startstop.$m.$w.txt" 2)")
        done
        V+=(-v "sp_fv_$w=$(med "$R/startstop.fv.$w.txt" 5)")
done
V+=(-v "rss=$(med "$R/startstop.fv.hello.txt" 2)" -v "hwm=$(med "$R/startstop.fv.hello.txt" 3)")
V+=(-v "pss=$(med "$R/startstop.fv.hello.txt" 4)" -v "rss1=$(awk '{ print $2 }' "$R/start1.txt")")
V+=(-v "cr_floor=$(med "$R/crash.floor.txt" 1)" -v "cself=$(med "$R/crash.floor.txt" 2)")
V+=(-v "ckids=$(med "$R/crash.floor.txt" 3)" -v "cr_fv=$(med "$R/crash.fv.txt" 1)")
V+=(-v "cnode=$(med "$R/crash.fv.txt" 2)" -v "ckids_fv=$(med "$R/crash.fv.txt" 3)")
V+=(-v "ksum=$(awk '{ print $2 + $3 }' "$R/crash.floor.txt" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')")
V+=(-v "nlong=$(grep -c '^forkvisor[.]hello long' "$R/restart.txt")" -v runs="$RUNS" -v cruns="$CRASH_RUNS")
V+=(-v csec="$CRASH_SECONDS" -v n="$N")
V+=(-v "m_pp=$(med "$R/msg.pingpong.txt" 1)" -v "m_relay=$(med "$R/msg.relay.txt" 1)" -v "m_call=$(med "$R/msg.call.txt" 1)")
if [ -n "$PIN0" ]; then
        V+=(-v "m_relay0=$(med "$R/msg.relay.pinned.txt" 1)" -v "m_call0=$(med "$R/msg.call.pinned.txt" 1)")
fi
V+=(-v "m_cast=$(med "$R/msg.cast.txt" 1)" -v "m_batch=$(med "$R/msg.batch.txt" 1)" -v "m_fvcast=$(med "$R/msg.fvcast.txt" 1)")
V+=(-v "m_hubcpu=$(med "$R/msg.batch.txt" 2)" -v "m_hubcpu1=$(med "$R/msg.cast.txt" 2)" -v "m_nodecpu=$(med "$R/msg.fvcast.txt" 2)")
V+=(-v "m_rcvcpu=$(med "$R/msg.batch.txt" 3)" -v "m_sinkcpu=$(med "$R/msg.fvcast.txt" 3)")
V+=(-v "m_sndcpu=$(med "$R/msg.batch.txt" 4)" -v "m_sendercpu=$(med "$R/msg.fvcast.txt" 4)")
V+=(-v fwin="$FLOOD_WINDOW" -v rtseg="$RT_SEGMENTS" -v csend="$CAST_SECONDS" -v msgruns="$MSG_RUNS" -v calls="$CALL_N" -v batches="$CALL_BATCHES")
for n in $FANOUTS; do
        for m in redis floor fv; do
                [ -s "$R/pub.$m.$n.txt" ] || continue
                V+=(-v "ps_${m}_$n=$(med "$R/pub.$m.$n.txt" 1)")
                [ $m = floor ] || V+=(-v "pc_${m}_$n=$(med "$R/pub.$m.$n.txt" 2)")
        done
done
V+=(-v "ps_lost_fv=$(cat "$R"/pub.fv.*.txt | awk '{ s += $5 } END { print s + 0 }')")
V+=(-v "ps_lost_redis=$(cat "$R"/pub.redis.*.txt 2>/dev/null | awk '{ s += $5 } END { print s + 0 }')")
V+=(-v pubruns="$PUB_RUNS" -v pubsec="$PUB_SECONDS" -v publimit="$PUB_LIMIT" -v redisv="$REDIS_VERSION" -v fsubs="$FLOOD_SUBS")
for k in window blast pubsub; do
        for w in hello stamp; do
                for m in spawn forkvisor; do
                        V+=(-v "fl_${k}_${m}_$w=$(med "$R/restart.flood.$k.txt" 3 "^$m[.]$w long")")
                        V+=(-v "fs_${k}_${m}_$w=$(med "$R/restart.flood.$k.txt" 3 "^$m[.]$w short")")
                done
        done
        # delivered and dropped per second between the two samples
        V+=(-v "$(awk -v k="$k" 'NR == 1 { t = $1; o = $2; d = $3 }
                NR == 2 { printf "fr_%s=%.0f %.0f", k, ($2 - o) * 1e9 / ($1 - t), ($3 - d) * 1e9 / ($1 - t) }' \
                "$R/flood.$k.state.txt")")
done
V+=(-v "nflood=$(grep -c '^forkvisor[.]hello long' "$R/restart.flood.window.txt")")
for w in bare_hit bare_miss hit miss busy_hit busy_miss; do
        V+=(-v "rg_$w=$(med "$R/registry.txt" 2 "^$w ")")
done
V+=(-v "rg_rw=$(sed -n 's/^busy_hit .*rewrites_per_s=//p' "$R/registry.txt" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')")
V+=(-v "rg_busyfrac=$(sed -n 's/^busy_[a-z]* [0-9.]* busy=\([0-9.]*\).*/\1/p' "$R/registry.txt" | sort -g | tail -n 1)")
V+=(-v "rg_names=$(sed -n 's/^# \([0-9]*\) names.*/\1/p' "$R/registry.txt")" -v regruns="$REG_RUNS")
cluster_rows >"$TMP/cluster.rows"
V+=(-v "crows=$TMP/cluster.rows")

awk "${V[@]}" "$TABLE_FNS"'
function ms(ns) { return sprintf("%.2f ms", ns / 1e6) }
function sec(ns) { return ns >= 1e9 ? sprintf("%.2f s", ns / 1e9) : sprintf("%.0f ms", ns / 1e6) }
function us(ns) { return sprintf("%.0f µs", ns / 1e3) }
function nsf(ns) { return sprintf("%.1f ns", ns) }
function reg_row(what, floor, fv, target, ok) {
        row(what, nsf(floor), "—", nsf(fv), ratio(fv, floor), target, met(ok))
}
function flood_row(what, sp, fv, idle) {
        row(what, ms(sp), "—", ms(fv), ratio(fv, idle), "≤ 2× idle", met(fv <= 2 * idle))
}
function pub_row(what, redis, fv, times) {
        if (redis == "")
                row(what, "—", "—", mps(fv), "—", times ? "≥ " times "× Redis" : "", times ? "no Redis" : "")
        else
                row(what, mps(redis), "—", mps(fv), ratio(fv, redis), times ? "≥ " times "× Redis" : "", times ? met(fv >= times * redis) : "")
}
function restart_row(what, sp, fk, fv) {
        row(what, ms(sp), ms(fk), ms(fv), ratio(fv, sp), "≤ 1.1× floor", met(fv <= 1.1 * sp))
}
BEGIN {
        printf "\nforkvisor vs. floors, medians (restart: %d samples each, interleaved; start/stop: %d runs; crash loop: %d runs of %s s)\n", nlong, runs, cruns, csec
        print "hello = workers/hello.c static (glibc); stamp = bench/stamp.c, 9 KB static without libc\n"
        print "| | posix_spawn loop (floor) | fork+exec loop | forkvisor | forkvisor / floor | target | |"
        print "|---|---:|---:|---:|---:|---|---|"
        restart_row("restart, hello (ran 1 s)", rl_spawn_hello, rl_fork_hello, rl_forkvisor_hello)
        restart_row("restart, hello, child that ran < 1 s", rs_spawn_hello, rs_fork_hello, rs_forkvisor_hello)
        restart_row("restart, stamp (ran 1 s)", rl_spawn_stamp, rl_fork_stamp, rl_forkvisor_stamp)
        restart_row("restart, stamp, child that ran < 1 s", rs_spawn_stamp, rs_fork_stamp, rs_forkvisor_stamp)
        row("start " n " hello", sec(st_spawn_hello), sec(st_fork_hello), sec(st_fv_hello), ratio(st_fv_hello, st_spawn_hello), "≤ 1.2× floor", met(st_fv_hello <= 1.2 * st_spawn_hello))
        row("start " n " stamp", sec(st_spawn_stamp), sec(st_fork_stamp), sec(st_fv_stamp), ratio(st_fv_stamp, st_spawn_stamp), "≤ 1.2× floor", met(st_fv_stamp <= 1.2 * st_spawn_stamp))
        row("node RSS at " n " (VmRSS; VmHWM)", "—", "—", sprintf("%.2f MiB (%.2f)", rss / 1024, hwm / 1024), "—", "≤ 8 MiB", met(rss <= 8192))
        row("node memory per child: RSS / " n "; growth over 1 worker; PSS / " n, "—", "—", sprintf("%.1f; %.1f; %.1f KiB", rss / n, (rss - rss1) / (n - 1), pss / n), "—", "(runit: 93 KiB PSS)", "")
        row("stop " n " hello (SIGTERM → node exited)", sec(sp_spawn_hello), sec(sp_fork_hello), sec(sp_fv_hello), ratio(sp_fv_hello, sp_spawn_hello), "≤ 1.2× floor", met(sp_fv_hello <= 1.2 * sp_spawn_hello))
        row("stop " n " stamp", sec(sp_spawn_stamp), sec(sp_fork_stamp), sec(sp_fv_stamp), ratio(sp_fv_stamp, sp_spawn_stamp), "≤ 1.2× floor", met(sp_fv_stamp <= 1.2 * sp_spawn_stamp))
        row("crash loop (exit1): restarts per second", sprintf("%.0f/s", cr_floor), "—", sprintf("%.0f/s", cr_fv), ratio(cr_fv, cr_floor), "never gives up", "")
        row("crash loop: supervisor CPU per restart", us(cself), "—", us(cnode), ratio(cnode, cself), "", "")
        row("crash loop: children CPU per restart (execve, exit)", us(ckids), "—", us(ckids_fv), ratio(ckids_fv, ckids), "", "")
        row("crash loop: node CPU per restart vs kernel cost of a spawn (floor: loop + child)", us(ksum), "—", us(cnode), ratio(cnode, ksum), "< 1× kernel spawn", met(cnode < ksum))
        row("ping-pong, 2 processes, SEQPACKET 64 B: round trip (bare)", usf(m_pp), "—", "—", "—", "", "")
        row("relay A→hub→B→hub→A, epoll hub, 64 B: round trip (bare)", usf(m_relay), "—", "—", "—", "", "")
        row("call round trip between two workers through the node, 64 B (floor: the relay)", usf(m_relay), "—", usf(m_call), ratio(m_call, m_relay), "≤ 1.3× relay", met(m_call <= 1.3 * m_relay))
        if (m_relay0 > 0) {
                row("relay, all 3 processes pinned to CPU 0 (bare)", usf(m_relay0), "—", "—", "—", "", "")
                row("call round trip, node and both workers pinned to CPU 0 (floor: the pinned relay)", usf(m_relay0), "—", usf(m_call0), ratio(m_call0, m_relay0), "≤ 1.3× relay", met(m_call0 <= 1.3 * m_relay0))
        }
        row("casts through a hub, one send per message (bare)", mps(m_cast), "—", "—", "—", "", "")
        row("casts through a hub forwarding records of 32 (bare)", mps(m_batch), "—", "—", "—", "", "")
        row("cast throughput worker → worker through the node, 64 B, delivered (floor: batched hub)", mps(m_batch), "—", mps(m_fvcast), ratio(m_fvcast, m_batch), "≥ 0.5× batched hub", met(m_fvcast >= 0.5 * m_batch))
        row("  CPU per cast: hub / node; receiver / sink; sender (batched hub → node)", sprintf("%.0f; %.0f; %.0f ns", m_hubcpu, m_rcvcpu, m_sndcpu), "—", sprintf("%.0f; %.0f; %.0f ns", m_nodecpu, m_sinkcpu, m_sendercpu), ratio(m_nodecpu, m_hubcpu), "", "")
        split(fr_window, fw, " ")
        split(fr_blast, fb, " ")
        split(fr_pubsub, fp, " ")
        row("flood 1, fa ⇄ fb in windows of " fwin " casts: delivered; dropped", "—", "—", sprintf("%s; %s", mps(fw[1]), mps(fw[2])), "—", "", "")
        flood_row("restart, hello (ran 1 s), during flood 1 (÷ idle forkvisor restart, 1st row)", fl_window_spawn_hello, fl_window_forkvisor_hello, rl_forkvisor_hello)
        flood_row("restart, stamp (ran 1 s), during flood 1 (÷ idle, 3rd row)", fl_window_spawn_stamp, fl_window_forkvisor_stamp, rl_forkvisor_stamp)
        row("flood 2, fa ⇄ fb in blasts of 1024 at mailbox_limit 1024: delivered; dropped", "—", "—", sprintf("%s; %s", mps(fb[1]), mps(fb[2])), "—", "", "")
        flood_row("restart, hello (ran 1 s), during flood 2 (÷ idle, 1st row)", fl_blast_spawn_hello, fl_blast_forkvisor_hello, rl_forkvisor_hello)
        flood_row("restart, stamp (ran 1 s), during flood 2 (÷ idle, 3rd row)", fl_blast_spawn_stamp, fl_blast_forkvisor_stamp, rl_forkvisor_stamp)
        pub_floor = "bare hub writing whole chunks to each subscriber"
        row("pub/sub fan-out, 64 B, delivered: " pub_floor ", 1 / 10 / 100 subscribers (bare)", sprintf("%s / %s / %s", mps(ps_floor_1), mps(ps_floor_10), mps(ps_floor_100)), "—", "—", sprintf("forkvisor: %s / %s / %s", ratio(ps_fv_1, ps_floor_1), ratio(ps_fv_10, ps_floor_10), ratio(ps_fv_100, ps_floor_100)), "", "")
        rdis = redisv == "" ? "no redis-server" : "Redis " redisv " pub/sub"
        pub_row("pub/sub fan-out to 1 subscriber, 64 B, delivered (floor: " rdis ")", ps_redis_1, ps_fv_1, 0)
        pub_row("pub/sub fan-out to 10 subscribers", ps_redis_10, ps_fv_10, 5)
        pub_row("pub/sub fan-out to 100 subscribers", ps_redis_100, ps_fv_100, 5)
        row("  pub/sub: server CPU per delivered message, Redis → node, 1 / 10 / 100 subscribers", redisv == "" ? "—" : sprintf("%.0f / %.0f / %.0f ns", pc_redis_1, pc_redis_10, pc_redis_100), "—", sprintf("%.0f / %.0f / %.0f ns", pc_fv_1, pc_fv_10, pc_fv_100), redisv == "" ? "—" : sprintf("%s / %s / %s", ratio(pc_fv_1, pc_redis_1), ratio(pc_fv_10, pc_redis_10), ratio(pc_fv_100, pc_redis_100)), "", "")
        row("flood 3, a publisher → " fsubs " subscribers at mailbox_limit 1024, 64 B: delivered; dropped", "—", "—", sprintf("%s; %s", mps(fp[1]), mps(fp[2])), "—", "", "")
        flood_row("restart, hello (ran 1 s), during flood 3 (÷ idle, 1st row)", fl_pubsub_spawn_hello, fl_pubsub_forkvisor_hello, rl_forkvisor_hello)
        flood_row("restart, stamp (ran 1 s), during flood 3 (÷ idle, 3rd row)", fl_pubsub_spawn_stamp, fl_pubsub_forkvisor_stamp, rl_forkvisor_stamp)
        reg_row("registry lookup from a child, " rg_names " names, hit (floor: plain table in private memory)", rg_bare_hit, rg_hit, "≤ 60 ns", rg_hit <= 60)
        reg_row("registry lookup from a child, " rg_names " names, miss", rg_bare_miss, rg_miss, "≤ 60 ns", rg_miss <= 60)
        reg_row(sprintf("registry lookup, hit, while the node rewrites entries non-stop (%.1f M/s; " ratio(rg_busy_hit, rg_hit) " idle)", rg_rw / 1e6), rg_bare_hit, rg_busy_hit, "≤ 120 ns (2 × 60)", rg_busy_hit <= 120)
        reg_row("registry lookup, miss, while the node rewrites (" ratio(rg_busy_miss, rg_miss) " idle)", rg_bare_miss, rg_busy_miss, "≤ 120 ns (2 × 60)", rg_busy_miss <= 120)
        while ((getline line < crows) > 0) # the cluster rows, made by bench/cluster.sh
                print line
        print ""
        printf "messaging: %d runs; round trips: %d segments per run, each the median of %d batches of %d, then the median of the %d segments; casts: %s s per run, median of the runs. restart during the floods: %d samples each (raw: restart.flood.*.txt, also children that ran < 1 s); their floor column is a posix_spawn loop under the same flood.\n", msgruns, rtseg, batches, calls, msgruns * rtseg, csend, nflood
        printf "pub/sub: %d runs of %s s each, Redis, bare hub and forkvisor interleaved; delivered/s = all that the subscribers counted / from just before the first publication to the end reaching the last subscriber; Redis on 127.0.0.1 with client-output-buffer-limit pubsub 0 0 0 (slow subscribers are never disconnected), a publisher pipelining PUBLISH (≤ 512 outstanding); forkvisor subscribers at mailbox_limit %d; lost (sequence gaps): forkvisor %d, Redis %d.\n", pubruns, pubsec, publimit, ps_lost_fv, ps_lost_redis
        printf "registry: %d runs, each the median of 101 passes over the names in a random order; busy answers (-EBUSY) while rewriting: at most %.4f%% of lookups.\n\n", regruns, rg_busyfrac * 100
}'
cluster_notes
# The node copies its environment into every child's (SPEC 5), so its memory per child grows
# with it: say what it was.
note "the nodes ran with an environment of $(env | wc -l) variables, $(env | wc -c) bytes"
rm -rf "$B/results"
cp -r "$R" "$B/results"
note "raw samples and the nodes' logs: $B/results/"
