# SPDX-License-Identifier: MIT
# Signals and process hygiene: SIGTERM shutdown, a second SIGTERM during shutdown, children die
# with a SIGKILLed daemon, orphans reaped as PID 1 and as a subreaper, kill_group leftovers.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() { fv_teardown; }

log_has() { grep -qF -- "$1" "$(fv_log)"; }
# reaped PID: no such process at all (not even a zombie).
reaped() { [[ ! -e /proc/$1 ]]; }

# The previous incarnation's grandchildren must be gone when the next one starts: this wrapper
# runs first in every incarnation of a forker worker and records any that are still alive
# (after a 200 ms grace for a SIGKILL in flight) in $FV_TEST_OUT/alive-at-restart.
write_prev_check() {
    cat >"$BATS_TEST_TMPDIR/prev-check.sh" <<'SH'
#!/bin/sh
list=$FV_TEST_OUT/$FORKVISOR_NAME.grandchildren
alive() { [ -r /proc/$1/status ] && ! grep -q '^State:.*Z' /proc/$1/status 2>/dev/null; }
if [ -r "$list" ]; then
    for p in $(cat "$list"); do
        i=0
        while alive "$p" && [ $i -lt 10 ]; do sleep 0.02; i=$((i + 1)); done
        alive "$p" && echo "$p" >>"$FV_TEST_OUT/alive-at-restart"
    done
    echo checked >>"$FV_TEST_OUT/checks"
fi
exec "$@"
SH
}
checks_at_least() { [[ $(cat "$FV_TEST_OUT/checks" 2>/dev/null | wc -l) -ge $1 ]]; }
# none_alive_at_restart: no incarnation found a grandchild of the previous one still alive.
none_alive_at_restart() {
    [ ! -e "$FV_TEST_OUT/alive-at-restart" ] || { echo "alive at restart: $(cat "$FV_TEST_OUT/alive-at-restart")" >&2; return 1; }
}

@test "SIGTERM shuts the tree down in order and run exits 0" {
    app_ini a:@W@/sleeper b:@S@/sleeper.sh
    fv_start t.ini
    kill -TERM "$FV_PID"
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    run -0 cat "$(fv_log)"
    assert_output --partial "Received SIGTERM, shutting down"
    [ "$(order_of Stopped)" = "app/b app/a app" ]
    no_survivors
}

@test "a second SIGTERM during a slow shutdown is logged and ignored" {
    app_ini a:@W@/ignore-term shutdown=1000
    fv_start t.ini
    local t0 t1
    t0=$(date +%s%N)
    kill -TERM "$FV_PID"
    retry 100 0.02 log_has "Received SIGTERM, shutting down"
    kill -TERM "$FV_PID"
    retry 100 0.02 log_has "Received SIGTERM during shutdown, ignoring"
    kill -INT "$FV_PID"
    retry 100 0.02 log_has "Received SIGINT during shutdown, ignoring"
    # Still shutting down: the worker ignores SIGTERM and the 1000 ms have not run out.
    kill -0 "$FV_PID"
    fv_wait_exit
    t1=$(date +%s%N)
    [ "$FV_STATUS" -eq 0 ]
    (( (t1 - t0) / 1000000 >= 950 )) || { echo "exited after $(( (t1 - t0) / 1000000 )) ms" >&2; return 1; }
    run -0 cat "$(fv_log)"
    assert_output --regexp "'app/a' \(pid [0-9]+\) killed by signal KILL"
    assert_output --partial "Tree 'app' stopped"
    no_survivors
}

@test "kill -9 of the daemon leaves no child alive" {
    app_ini a:@W@/sleeper sub:{ b:@W@/ignore-term c:@S@/sleeper.sh }
    fv_start t.ini
    local p
    for p in $(cat "$FV_TEST_OUT/pids"); do pid_alive "$p"; done
    kill -KILL "$FV_PID"
    wait "$FV_PID" || true
    unset FV_PID
    # Parent-death signal: every child gets SIGKILL.
    no_survivors
}

@test "as PID 1 in a pid namespace, orphans are reaped" {
    [[ $(id -u) -eq 0 ]] || skip "needs root for a pid namespace"
    unshare --pid --fork --mount-proc true 2>/dev/null || skip "unshare --pid --fork --mount-proc is not permitted here"
    # Pids inside the namespace mean nothing outside: the markers go elsewhere than
    # $FV_TEST_OUT, so that no_survivors and teardown never read them as host pids.
    local nsout="$BATS_TEST_TMPDIR/ns-out"
    mkdir -p "$nsout"
    cat >"$BATS_TEST_TMPDIR/check.sh" <<'SH'
#!/bin/sh
# Runs inside the namespace as a worker: waits for the orphans to be gone from /proc (reaped,
# not zombies), then reports what it saw.
out=$FV_TEST_OUT
result() { echo "$1" >"$out/result.tmp" && mv "$out/result.tmp" "$out/result"; exit 0; }
i=0
while [ ! -e "$out/orph.started" ]; do
    i=$((i + 1)); [ $i -gt 250 ] && result "orphaner did not start"; sleep 0.02
done
for p in $(cat "$out/orph.orphans"); do
    i=0
    while [ -e "/proc/$p" ]; do
        i=$((i + 1))
        [ $i -gt 250 ] && result "not reaped: $p $(grep '^State' /proc/$p/status 2>/dev/null)"
        sleep 0.02
    done
done
z=$(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | tr '\n' ' ')
[ -z "$z" ] || result "zombies: $z"
result "ok pid1=$(cat /proc/1/comm) orphans=$(wc -l <"$out/orph.orphans")"
SH
    app_ini "orph:@W@/orphaner 3" "check:/bin/sh @T@/check.sh" temporary
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    mkdir -p "$FV_RUNTIME_DIR"
    FV_TEST_OUT=$nsout unshare --pid --fork --mount-proc --kill-child \
        "$FORKVISOR" run "$BATS_TEST_TMPDIR/t.ini" --control "$FV_RUNTIME_DIR/control.sock" \
        >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    retry 100 0.05 fv wait --timeout 100
    # The daemon's host pid and its namespace, to check afterwards that nothing is left in it.
    local fvpid ns
    fvpid=$(ps --ppid "$FV_PID" -o pid= | tr -d ' ')
    ns=$(readlink "/proc/$fvpid/ns/pid")
    [ "$ns" != "$(readlink /proc/self/ns/pid)" ]
    retry 200 0.05 test -e "$nsout/result"
    run -0 cat "$nsout/result"
    assert_output "ok pid1=forkvisor orphans=3"
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    # Nothing is left in that namespace.
    ns_empty() {
        local f
        for f in /proc/[0-9]*/ns/pid; do [[ $(readlink "$f" 2>/dev/null) != "$1" ]] || return 1; done
    }
    retry 100 0.05 ns_empty "$ns"
}

@test "with subreaper = yes, orphans are adopted and reaped" {
    conf t.ini <<'INI'
[forkvisor]
subreaper = yes
[supervisor:app]
children = orph, adopt
[worker:orph]
exec = @W@/orphaner 3
[worker:adopt]
exec = /bin/sh -c '(exec sleep 1000 <&- >&- 2>&- & echo $! >"$FV_TEST_OUT/long.orphan"; echo $! >>"$FV_TEST_OUT/pids"); exec @W@/sleeper'
INI
    fv_start t.ini
    # The orphaner's orphans live 50 ms after being re-parented, then exit: they must be
    # reaped (gone from /proc, not zombies).
    local p
    # The orphaner writes its .started marker after the list of its orphans.
    retry 100 0.05 file_has "$FV_TEST_OUT/orph.started"
    [ "$(wc -l <"$FV_TEST_OUT/orph.orphans")" -eq 3 ]
    for p in $(cat "$FV_TEST_OUT/orph.orphans"); do
        retry 100 0.05 reaped "$p"
    done
    # A long-lived orphan shows whose child it became, and is reaped when it dies.
    retry 100 0.05 test -s "$FV_TEST_OUT/long.orphan"
    p=$(cat "$FV_TEST_OUT/long.orphan")
    [ "$(awk '/^PPid:/ { print $2 }' "/proc/$p/status")" = "$FV_PID" ]
    kill -TERM "$p"
    retry 100 0.05 reaped "$p"
    # No zombie among the daemon's children.
    run ps --ppid "$FV_PID" -o stat=
    refute_output --partial Z
    fv_stop
    no_survivors
}

@test "kill_group: a worker's group is killed before its successor starts" {
    write_prev_check
    app_ini intensity=5 "f:/bin/sh @T@/prev-check.sh @W@/forker 2"
    fv_start t.ini
    retry 100 0.05 test -s "$FV_TEST_OUT/f.started"
    local old gc
    old=$(pid_of app/f)
    gc=$(cat "$FV_TEST_OUT/f.grandchildren")
    [ "$(wc -w <<<"$gc")" -eq 2 ]
    for p in $gc; do pid_alive "$p"; done
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/f "$old"
    retry 100 0.05 checks_at_least 1
    none_alive_at_restart
    for p in $gc; do retry 100 0.05 pid_dead "$p"; done
    run -0 cat "$(fv_log)"
    assert_output --regexp "'app/f' \(pid $old\) killed by signal KILL"
    fv_stop
    no_survivors
}

@test "kill_group: leftovers of a worker that exited are killed before its restart" {
    write_prev_check
    app_ini intensity=2 period=30 \
        "g:/bin/sh @T@/prev-check.sh @W@/forker 2 --exit" restart=permanent
    fv_start_nowait t.ini
    # Three incarnations, two restarts, then the restart intensity ends the tree.
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 cat "$(fv_log)"
    assert_output --partial "Supervisor 'app' gave up"
    [ "$(count_in_log "Started 'app/g'")" -eq 3 ]
    checks_at_least 2
    none_alive_at_restart
    # 3 forkers and 6 grandchildren, none left.
    [ "$(wc -l <"$FV_TEST_OUT/pids")" -eq 9 ]
    no_survivors
}
