#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make soak: a tree of 200 workers under every strategy, SIGKILLed at random several times a
# second for SOAK_SECONDS (default 600) while status, call, publish and reload traffic goes on.
# At the end it asserts, and prints as a table:
#   - the node is alive, every configured child is running, no child of the node is a zombie;
#   - the node's fd count and RSS are within 5 % of their level after warm-up (both measured on a
#     settled tree: traffic paused, the same configuration, every child running); RSS here is
#     the node's anonymous and shared pages, without the file-backed ones (see rss() below);
#   - nothing was lost on the mailboxes. A publisher worker numbers its messages (p<PID> <SEQ>),
#     and so does this script for the ones it publishes from outside (cli <SEQ>); a subscriber
#     worker checks, per source, that each number is one more than the last. The first message
#     it gets from a source only sets where that source starts, so what a restarted publisher or
#     a restarted subscriber missed while it was down is not counted. A number skipped is missing;
#     missing messages the node dropped for the subscriber and said so (its mailbox counter
#     "dropped", summed over its incarnations) are explained; the rest is the loss, and must be 0.
#     A message seen twice or out of order must not happen either.
# Usage: tests/soak/soak.sh BUILD_DIR. Environment: SOAK_SECONDS (600), SOAK_KILLS (kills per
# second, 4), SOAK_TRAFFIC (the traffic loops to run, default "kill status call publish reload";
# fewer, to tell which one moves a figure), SOAK_DIR (work directory, kept; default a temporary one, removed on success).
set -uo pipefail

BUILD=$(cd "${1:-build}" && pwd)
FORKVISOR=$BUILD/forkvisor
WORKERS=$BUILD/workers
DURATION=${SOAK_SECONDS:-600}
KILLS=${SOAK_KILLS:-4}
TRAFFIC=${SOAK_TRAFFIC:-kill status call publish reload}
WARMUP=$((DURATION / 10 > 10 ? DURATION / 10 : 10))
DIR=${SOAK_DIR:-$(mktemp -d /tmp/fv-soak.XXXXXX)}
mkdir -p "$DIR/out"
export FV_TEST_OUT=$DIR/out
CTL=$DIR/control.sock
LOG=$DIR/forkvisor.log

fv() { "$FORKVISOR" --control "$CTL" "$@"; }
say() { printf 'soak: %s\n' "$*" >&2; }
now() { date +%s; }

# --- the tree ------------------------------------------------------------------------------
# app (one_for_one): ofo (one_for_one, 60 sleepers), ofa (one_for_all, 20), rfo (rest_for_one,
# 20), pool (simple_one_for_one, 97 instances), echo (answers calls), seqpub and seqsub: 200
# workers. Configuration B adds one more worker, extra; reloads switch between A and B.
write_config() { # FILE WITH_EXTRA
    local i
    {
        printf '[supervisor:app]\nintensity = 100000\nperiod = 10\n'
        printf 'children = ofo, ofa, rfo, pool, echo, seqpub, seqsub%s\n' "$([[ $2 == yes ]] && echo ', extra')"
        for s in ofo:one_for_one:60 ofa:one_for_all:20 rfo:rest_for_one:20; do
            IFS=: read -r name strategy n <<<"$s"
            printf '[supervisor:%s]\nstrategy = %s\nintensity = 100000\nperiod = 10\nchildren = %s1\n' \
                "$name" "$strategy" "$name"
            for ((i = 2; i <= n; i++)); do printf '    %s%d\n' "$name" "$i"; done
            for ((i = 1; i <= n; i++)); do printf '[worker:%s%d]\nexec = %s/sleeper\n' "$name" "$i" "$WORKERS"; done
        done
        printf '[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = job\ninstances = 97\n'
        printf 'intensity = 100000\nperiod = 10\n'
        printf '[worker:job]\nexec = %s/sleeper job-%%i\n' "$WORKERS"
        printf '[worker:echo]\nexec = %s/echo\nready = mailbox\n' "$WORKERS"
        printf '[worker:seqpub]\nexec = %s/soak-seq pub soak:seq 200\nready = mailbox\n' "$WORKERS"
        printf '[worker:seqsub]\nexec = %s/soak-seq sub\nready = mailbox\nsubscribe = soak:*\nmailbox_limit = 100000\n' \
            "$WORKERS"
        [[ $2 != yes ]] || printf '[worker:extra]\nexec = %s/sleeper\n' "$WORKERS"
    } >"$1"
}
write_config "$DIR/a.ini" no
write_config "$DIR/b.ini" yes
EXPECTED_A=200
use_config() { cp "$DIR/$1.ini" "$DIR/t.ini.new" && mv "$DIR/t.ini.new" "$DIR/t.ini"; }

# --- running -------------------------------------------------------------------------------
LOOPS=()
NODE=
# ours PID: PID is alive, not a zombie, and runs one of our workers. Thousands of pids are
# recorded over a soak and the kernel hands them out again: a pid alone may be anybody's now.
ours() {
    local cmd
    [[ -r /proc/$1/cmdline ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null || return 1
    # It may exit between the two looks: the redirection's own error is silenced too.
    cmd=$( { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null) || return 1
    [[ $cmd == "$WORKERS/"* ]]
}
cleanup() {
    local p
    touch "$DIR/stop" 2>/dev/null
    for p in "${LOOPS[@]}"; do kill "$p" 2>/dev/null; done
    wait "${LOOPS[@]}" 2>/dev/null
    if [[ -n $NODE ]] && kill -0 "$NODE" 2>/dev/null; then
        kill -TERM "$NODE"
        for ((p = 0; p < 200; p++)); do kill -0 "$NODE" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$NODE" 2>/dev/null
    fi
    if [[ -r $FV_TEST_OUT/pids ]]; then
        while read -r p; do ours "$p" && kill -KILL "$p" 2>/dev/null; done <"$FV_TEST_OUT/pids"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

use_config a
"$FORKVISOR" run "$DIR/t.ini" --control "$CTL" </dev/null >"$LOG" 2>&1 &
NODE=$!
for ((i = 0; i < 600; i++)); do fv wait --timeout 100 >/dev/null 2>&1 && break; sleep 0.1; done
fv wait --timeout 100 >/dev/null 2>&1 || { say "the tree did not start; see $LOG"; exit 1; }
say "tree of $EXPECTED_A workers up (node pid $NODE); $DURATION s, $KILLS kills/s, warm-up $WARMUP s; in $DIR"

# Traffic loops. Each runs until $DIR/stop exists, stands still while $DIR/pause exists (after
# writing $DIR/NAME.paused), and at the end writes its counters to $DIR/NAME.count.
paused() {
    if [[ -e $DIR/pause ]]; then
        : >"$DIR/$1.paused"
        while [[ -e $DIR/pause && ! -e $DIR/stop ]]; do sleep 0.05; done
        rm -f "$DIR/$1.paused"
    fi
}
loop_kill() {
    local kills=0 pids delay
    delay=$(awk -v k="$KILLS" 'BEGIN { printf "%.3f", 1 / k }')
    while [[ ! -e $DIR/stop ]]; do
        paused kill
        # Any running worker but the subscriber (its own restarts are accounted for, but its
        # drop counter would be lost with it).
        mapfile -t pids < <(fv status 2>/dev/null | awk '$2 == "worker" && $3 == "running" && $1 != "app/seqsub" { print $4 }')
        if ((${#pids[@]} > 0)); then
            kill -KILL "${pids[RANDOM % ${#pids[@]}]}" 2>/dev/null && kills=$((kills + 1))
        fi
        sleep "$delay"
    done
    echo "kills=$kills" >"$DIR/kill.count"
}
loop_status() {
    local ok=0 fail=0
    while [[ ! -e $DIR/stop ]]; do
        paused status
        if fv status >/dev/null 2>&1 && fv status --json >/dev/null 2>&1; then ok=$((ok + 1)); else fail=$((fail + 1)); fi
        sleep 0.2
    done
    echo "ok=$ok fail=$fail" >"$DIR/status.count"
}
loop_call() {
    local ok=0 fail=0 n=0 out
    while [[ ! -e $DIR/stop ]]; do
        paused call
        n=$((n + 1))
        # A call fails while echo is being restarted (noproc, callee exited): counted, not fatal.
        if out=$(fv call echo "soak $n" --timeout 2000 2>/dev/null) && [[ $out == "echo: soak $n" ]]; then
            ok=$((ok + 1))
        else
            fail=$((fail + 1))
        fi
        sleep 0.1
    done
    echo "ok=$ok fail=$fail" >"$DIR/call.count"
}
loop_publish() {
    local ok=0 fail=0 n=1
    while [[ ! -e $DIR/stop ]]; do
        paused publish
        # A number is used again until a publish of it succeeds: the node never saw a failed one.
        if fv publish soak:cli "cli $n" >/dev/null 2>&1; then ok=$((ok + 1)); n=$((n + 1)); else fail=$((fail + 1)); fi
        sleep 0.05
    done
    echo "ok=$ok fail=$fail" >"$DIR/publish.count"
}
loop_reload() {
    local ok=0 fail=0 hup=0 i=0
    while [[ ! -e $DIR/stop ]]; do
        paused reload
        i=$((i + 1))
        if ((i % 2)); then use_config b; else use_config a; fi
        if ((i % 3 == 0)); then
            kill -HUP "$NODE" && hup=$((hup + 1))
        elif fv reload >/dev/null 2>&1; then ok=$((ok + 1)); else fail=$((fail + 1)); fi
        local t
        for ((t = 0; t < 50; t++)); do [[ ! -e $DIR/stop ]] || break; sleep 0.1; done
    done
    echo "ok=$ok fail=$fail hup=$hup" >"$DIR/reload.count"
}
for l in $TRAFFIC; do
    "loop_$l" &
    LOOPS+=($!)
done

# settle: pause the traffic, configuration A, every child running, no zombie.
settle() {
    local l i
    : >"$DIR/pause"
    for l in $TRAFFIC; do
        for ((i = 0; i < 200; i++)); do [[ ! -e $DIR/$l.paused ]] || break; sleep 0.05; done
    done
    use_config a
    fv reload >/dev/null 2>&1 || say "reload to configuration A failed"
    for ((i = 0; i < 300; i++)); do
        all_running && [[ $(zombies) -eq 0 ]] && return 0
        sleep 0.1
    done
    say "the tree did not settle: $(fv status 2>&1 | awk '$3 != "running"' | head -5 | paste -sd ';')"
    return 1
}
resume() { rm -f "$DIR/pause"; }
workers_running() { fv status 2>/dev/null | awk '$2 == "worker" && $3 == "running"' | wc -l; }
all_running() {
    local s; s=$(fv status 2>/dev/null) || return 1
    [[ $(awk 'NR > 1 && $3 != "running"' <<<"$s" | wc -l) -eq 0 ]] &&
        [[ $(awk '$2 == "worker"' <<<"$s" | wc -l) -eq $EXPECTED_A ]]
}
zombies() { ps --ppid "$NODE" -o stat= | grep -c Z; }
fds() { ls "/proc/$NODE/fd" | wc -l; }
# The node's own memory: anonymous and shared (the registry) resident pages. File-backed pages
# (RssFile: the text of the binary and its libraries) are left out: they grow as code paths run
# for the first time, which says nothing about what the node holds. VmRSS is shown beside it.
rss() { awk '/^Rss(Anon|Shmem):/ { s += $2 } END { print s }' "/proc/$NODE/status"; }
vmrss() { awk '/^VmRSS:/ { print $2 }' "/proc/$NODE/status"; }
# heap: "IN_USE SYSTEM" in kB, glibc's malloc_stats() of the node (asked through gdb, which stops
# it for a moment; printed to the node's stderr, its log): what is allocated, and what the
# allocator holds from the system. Shown to tell a leak (in use grows) from the allocator keeping
# or first touching pages it already has (RSS grows, in use does not). Empty without gdb.
heap() {
    command -v gdb >/dev/null || return 0
    local before; before=$(wc -l <"$LOG")
    gdb -p "$NODE" -batch -ex 'call (void) malloc_stats()' >/dev/null 2>&1 || return 0
    tail -n +"$((before + 1))" "$LOG" | awk '/^Total/ { t = 1 } t && /system bytes/ { s = $NF } t && /in use bytes/ { u = $NF }
        END { if (u != "") printf "%d %d\n", u / 1024, s / 1024 }'
}
# subscriber drops: the node's count for the current incarnation of seqsub.
sub_dropped() { fv status --json app/seqsub 2>/dev/null | sed -n 's/.*"path": "app\/seqsub".*"dropped": \([0-9]*\).*/\1/p'; }

START=$(now)
while (($(now) - START < WARMUP)); do sleep 1; done
settle || exit 1
WARM_FDS=$(fds) WARM_RSS=$(rss) WARM_VMRSS=$(vmrss) WARM_HEAP=$(heap)
say "after warm-up: $WARM_FDS fds, $WARM_RSS kB anonymous and shared RSS ($WARM_VMRSS kB VmRSS)"
resume
# The RSS every 30 s under traffic, for the shape of its curve (a leak climbs straight; an
# allocator settling into its pattern flattens): printed at the end, kept in $DIR/rss.log.
NEXT_SAMPLE=$(now)
while (($(now) - START < DURATION)); do
    sleep 1
    kill -0 "$NODE" 2>/dev/null || break
    if (($(now) >= NEXT_SAMPLE)); then
        echo "$(($(now) - START)) $(rss)" >>"$DIR/rss.log"
        NEXT_SAMPLE=$((NEXT_SAMPLE + 30))
    fi
done

# --- the end -------------------------------------------------------------------------------
FAIL=()
check() { # DESCRIPTION CONDITION...
    local what=$1; shift
    if "$@"; then RESULT=ok; else RESULT=FAIL; FAIL+=("$what"); fi
}
if kill -0 "$NODE" 2>/dev/null; then
    settle
    SETTLED=$?
else
    SETTLED=1
fi
ALIVE=no; kill -0 "$NODE" 2>/dev/null && ALIVE=yes
END_FDS=$(fds 2>/dev/null || echo 0) END_RSS=$(rss 2>/dev/null || echo 0) END_VMRSS=$(vmrss 2>/dev/null || echo 0)
END_HEAP=$(heap 2>/dev/null)
RUNNING=$(workers_running) ZOMBIES=$(zombies)
DROPPED=$(sub_dropped); DROPPED=${DROPPED:-0}
SUB_RESTARTS=$(fv info app/seqsub 2>/dev/null | sed -n 's/^restarts: //p')
RESTARTS=$(fv status 2>/dev/null | awk 'NR > 1 { s += $5 } END { print s + 0 }')
touch "$DIR/stop"
rm -f "$DIR/pause"
wait "${LOOPS[@]}" 2>/dev/null
LOOPS=()
# The subscriber's reports, one file per incarnation.
received=0 missing=0 gaps=0 disorder=0
for f in "$FV_TEST_OUT"/seqsub.stats.*; do
    [[ -r $f ]] || continue
    for kv in $(cat "$f"); do
        case $kv in
        received=*) received=$((received + ${kv#*=})) ;;
        missing=*) missing=$((missing + ${kv#*=})) ;;
        gaps=*) gaps=$((gaps + ${kv#*=})) ;;
        disorder=*) disorder=$((disorder + ${kv#*=})) ;;
        esac
    done
done
LOST=$((missing > DROPPED ? missing - DROPPED : 0))
count() { sed -n "s/.*\\b$2=\\([0-9]*\\).*/\\1/p" "$DIR/$1.count" 2>/dev/null; }

within5() { # A B: B within 5 % of A
    local a=$1 b=$2 d
    d=$((b > a ? b - a : a - b))
    ((d * 100 <= a * 5))
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == 0) print "-"; else printf "%+.1f%%", (b - a) * 100 / a }'; }

row() { printf '%-34s %14s %14s  %s\n' "$@"; }
echo
row FIGURE VALUE LIMIT RESULT
row -------------------------------- ------------- ------------- ------
row "duration (s)" "$(($(now) - START))" "$DURATION" ""
row "SIGKILLs sent" "$(count kill kills)" "$KILLS/s" ""
row "restarts (all children)" "$RESTARTS" "" ""
row "status ok / failed" "$(count status ok) / $(count status fail)" "" ""
row "calls ok / failed" "$(count call ok) / $(count call fail)" "" ""
row "publishes (cli) ok / failed" "$(count publish ok) / $(count publish fail)" "" ""
row "reloads ok / failed / SIGHUP" "$(count reload ok) / $(count reload fail) / $(count reload hup)" "" ""
check "node alive" test "$ALIVE" = yes
row "node alive" "$ALIVE" "yes" "$RESULT"
check "tree settled" test "$SETTLED" -eq 0
row "tree settled at the end" "$([[ $SETTLED -eq 0 ]] && echo yes || echo no)" "yes" "$RESULT"
check "every configured child running" test "$RUNNING" -eq "$EXPECTED_A"
row "workers running / configured" "$RUNNING / $EXPECTED_A" "all" "$RESULT"
check "zero zombies" test "$ZOMBIES" -eq 0
row "zombie children" "$ZOMBIES" "0" "$RESULT"
check "fd count within 5 %" within5 "$WARM_FDS" "$END_FDS"
row "node fds warm-up -> end" "$WARM_FDS -> $END_FDS" "5 %" "$RESULT ($(pct "$WARM_FDS" "$END_FDS"))"
check "RSS within 5 %" within5 "$WARM_RSS" "$END_RSS"
row "node RSS kB (anon+shmem)" "$WARM_RSS -> $END_RSS" "5 %" "$RESULT ($(pct "$WARM_RSS" "$END_RSS"))"
row "node VmRSS kB (with file pages)" "$WARM_VMRSS -> $END_VMRSS" "" "($(pct "$WARM_VMRSS" "$END_VMRSS"))"
if [[ -n ${WARM_HEAP:-} && -n ${END_HEAP:-} ]]; then
    row "heap kB in use (malloc_stats)" "${WARM_HEAP% *} -> ${END_HEAP% *}" "" "($(pct "${WARM_HEAP% *}" "${END_HEAP% *}"))"
    row "heap kB from the system" "${WARM_HEAP#* } -> ${END_HEAP#* }" "" "($(pct "${WARM_HEAP#* }" "${END_HEAP#* }"))"
fi
row "messages received (subscriber)" "$received" "" ""
row "sequence gaps / numbers missing" "$gaps / $missing" "" ""
row "dropped by the node (reported)" "$DROPPED" "" ""
row "subscriber restarts" "${SUB_RESTARTS:-?}" "" ""
check "nothing lost" test "$LOST" -eq 0
row "lost (missing - dropped)" "$LOST" "0" "$RESULT"
check "no duplicate or reordered message" test "$disorder" -eq 0
row "duplicated or out of order" "$disorder" "0" "$RESULT"
check "received anything" test "$received" -gt 0
echo
[[ -s $DIR/rss.log ]] && say "RSS kB under traffic, every 30 s: $(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 }' "$DIR/rss.log")"

# An orderly shutdown, exit 0, nothing left behind.
if [[ $ALIVE == yes ]]; then
    fv shutdown >/dev/null 2>&1
    wait "$NODE"
    st=$?
    NODE=
    check "shutdown exit 0" test "$st" -eq 0
    survivors() {
        local p n=0
        while read -r p; do ours "$p" && n=$((n + 1)); done <"$FV_TEST_OUT/pids"
        echo "$n"
    }
    for ((i = 0; i < 100; i++)); do left=$(survivors); ((left == 0)) && break; sleep 0.05; done
    check "no survivors" test "$left" -eq 0
    say "shutdown: exit $st, $left processes left"
fi
grep -E 'Sanitizer|runtime error:' "$LOG" >/dev/null && FAIL+=("sanitizer report in the log")

if ((${#FAIL[@]})); then
    say "FAILED: $(printf '%s; ' "${FAIL[@]}")log and files kept in $DIR"
    exit 1
fi
say "passed"
[[ -n ${SOAK_DIR:-} ]] || rm -rf "$DIR"
exit 0
