# SPDX-License-Identifier: MIT
# The reliability suite (issue 11's plan) runs on the bats suites' helpers: a daemon per test,
# polling, no survivors. Each @test is named "CASE: what it shows", CASE being the plan's name.
load ../bats/test_helper

# Two traps these helpers keep clear of: retry runs its command again, but its arguments are
# expanded once (poll through a function, never `retry N D test "$(...)"`); and bats' `run`
# sets a variable i of its own (a loop over `run` calls needs another name).

# fv_start_big CONFIG [ARGS...]: fv_start for a large tree, which may take a while to boot on a
# busy machine or under a sanitizer.
fv_start_big() {
    fv_start_nowait "$@"
    retry 600 0.05 fv wait --timeout 100
}

# worker_rows: "PATH STATE PID RESTARTS" for every worker in `status`, one a line.
worker_rows() { fv status | awk '$2 == "worker" { print $1, $3, $4, $5 }'; }

# wide_ini PREFIX N EXEC [KEY=VALUE...]: conf t.ini with the root supervisor app (with the
# settings given) over N workers PREFIX1..PREFIXN running EXEC, the children listed over
# continuation lines (a line holds at most 198 bytes).
wide_ini() {
    local prefix=$1 n=$2 exec=$3 i kv; shift 3
    {
        echo "[supervisor:app]"
        for kv; do echo "${kv%%=*} = ${kv#*=}"; done
        echo "children = ${prefix}1"
        for ((i = 2; i <= n; i++)); do echo "    $prefix$i"; done
        for ((i = 1; i <= n; i++)); do printf '[worker:%s%d]\nexec = %s\n' "$prefix" "$i" "$exec"; done
    } | conf t.ini
}

# no_zombie_children: no child of the daemon is a zombie.
no_zombie_children() { ! ps --ppid "$FV_PID" -o stat= | grep -q Z; }

# log_has TEXT: the daemon's log has a line containing TEXT.
log_has() { grep -qF -- "$1" "$(fv_log)"; }

# need_pid_namespace: skip the test where no pid namespace of its own can be made.
need_pid_namespace() {
    [[ $(id -u) -eq 0 ]] || skip "needs root for a pid namespace"
    unshare --pid --fork --mount-proc true 2>/dev/null || skip "unshare --pid --fork --mount-proc is not permitted here"
}

# fv_start_init CONFIG NSOUT: run the daemon as PID 1 of a pid namespace of its own and wait
# until the tree runs. Pids inside mean nothing outside, so the workers' markers go to NSOUT
# (made here) instead of $FV_TEST_OUT. FV_PID is unshare's pid (it ends with the daemon's exit
# status), FV_INIT the daemon's pid as seen from outside, FV_NS its namespace.
fv_start_init() {
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    mkdir -p "$FV_RUNTIME_DIR" "$2"
    FV_TEST_OUT=$2 unshare --pid --fork --mount-proc --kill-child \
        "$FORKVISOR" run "$BATS_TEST_TMPDIR/$1" --control "$FV_RUNTIME_DIR/control.sock" \
        >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    retry 300 0.05 fv wait --timeout 100
    FV_INIT=$(ps --ppid "$FV_PID" -o pid= | tr -d ' ')
    FV_NS=$(readlink "/proc/$FV_INIT/ns/pid")
}

# ns_empty NS: no process is left in the pid namespace NS.
ns_empty() {
    local f
    for f in /proc/[0-9]*/ns/pid; do [[ $(readlink "$f" 2>/dev/null) != "$1" ]] || return 1; done
}
