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
# Raw samples and the nodes' logs are left in BUILD/bench/results/.
set -euo pipefail

BUILD=${1:-build}
ROUNDS=${BENCH_ROUNDS:-31}
RUNS=${BENCH_RUNS:-7}
CRASH_SECONDS=${BENCH_CRASH_SECONDS:-2}
CRASH_RUNS=${BENCH_CRASH_RUNS:-3}
N=1000
CC=${CC:-cc}

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
for p in floor restart fvnode; do
        cbuild $p -std=gnu17 -O2 -Wall -Wextra -D_GNU_SOURCE "$HERE/$p.c"
done
cbuild hello -static -Os -s -D_GNU_SOURCE "$HERE/../workers/hello.c"
NOLIBC="-static -Os -s -nostdlib -fno-stack-protector -fno-builtin -Wall -Wextra"
cbuild stamp $NOLIBC "$HERE/stamp.c"
cbuild exit1 $NOLIBC "$HERE/exit1.c"

note() { printf 'bench: %s\n' "$*" >&2; }

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
for c in "$TMP"/*.ini; do
        "$FV" check "$c" >/dev/null
done

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

# --- the table --------------------------------------------------------------------------------
# med FILE COLUMN [PATTERN]: the median of column COLUMN over the lines of FILE matching PATTERN.
med() {
        awk -v c="$2" -v pat="${3:-}" 'pat == "" || $0 ~ pat { print $c }' "$1" | sort -g |
                awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
                        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
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

awk "${V[@]}" '
function ms(ns) { return sprintf("%.2f ms", ns / 1e6) }
function sec(ns) { return ns >= 1e9 ? sprintf("%.2f s", ns / 1e9) : sprintf("%.0f ms", ns / 1e6) }
function us(ns) { return sprintf("%.0f µs", ns / 1e3) }
function ratio(a, b) { return b > 0 ? sprintf("%.2f×", a / b) : "—" }
function met(ok) { return ok ? "met" : "**not met**" }
function row(what, floor, fork, fv, r, target, verdict) {
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", what, floor, fork, fv, r, target, verdict
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
        print ""
}'
# The node copies its environment into every child's (SPEC 5), so its memory per child grows
# with it: say what it was.
note "the nodes ran with an environment of $(env | wc -l) variables, $(env | wc -c) bytes"
rm -rf "$B/results"
cp -r "$R" "$B/results"
note "raw samples and the nodes' logs: $B/results/"
