# SPDX-License-Identifier: MIT
# A worker's process knobs (issue 15, point 8): oom_score_adj, ioprio and cpu_affinity reach the
# child as the kernel reports them (/proc/PID/oom_score_adj, ionice -p, taskset -p), set before its
# user changes; what the node may not do is a failed start that says why; bad values are refused
# by `check` as FILE:LINE. And `info`, `info --json` and `status --json` show a worker's CPU time,
# which grows while it works and starts again with a new incarnation, with and without cgroups.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=60}"

setup() { load test_helper; }
teardown() { fv_teardown; }

# The highest CPU this machine has, and its affinity mask as taskset prints it.
last_cpu() { echo $(($(nproc --all) - 1)); }
mask_of() { printf '%x' $((1 << $1)); }
affinity() { taskset -p "$1" | sed -n 's/.*current affinity mask: //p'; }
# has_cap N: this shell has capability number N (CAP_SYS_RESOURCE is 24) in its effective set.
has_cap() { (( 0x$(sed -n 's/^CapEff:\t//p' /proc/self/status) >> $1 & 1 )); }

@test "oom_score_adj, ioprio and cpu_affinity reach the child, also as another user and after a restart" {
    [[ $EUID -eq 0 ]] || skip "needs root (realtime I/O class, user = nobody)"
    getent passwd nobody >/dev/null || skip "no user nobody"
    command -v ionice >/dev/null && command -v taskset >/dev/null || skip "needs ionice and taskset"
    local cpu adj=250; cpu=$(last_cpu)
    # Lowered where the node may (some containers take CAP_SYS_RESOURCE even from root).
    ! has_cap 24 || adj=-250
    app_ini "k:@W@/sleeper" oom_score_adj=$adj ioprio=best-effort:6 cpu_affinity="$cpu" \
        "rt:@W@/sleeper" ioprio=realtime:1 cpu_affinity="0-$cpu" \
        "idle:@W@/sleeper" ioprio=idle oom_score_adj=+700 \
        "nb:/bin/sleep 1000" user=nobody directory=/ oom_score_adj=500 ioprio=best-effort:2 cpu_affinity="$cpu" \
        "plain:@W@/sleeper"
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    local k rt idle nb plain
    k=$(pid_of app/k) rt=$(pid_of app/rt) idle=$(pid_of app/idle) nb=$(pid_of app/nb) plain=$(pid_of app/plain)
    echo "$nb" >>"$FV_TEST_OUT/pids"
    [ "$(cat /proc/$k/oom_score_adj)" = "$adj" ]
    [ "$(ionice -p "$k")" = "best-effort: prio 6" ]
    [ "$(affinity "$k")" = "$(mask_of "$cpu")" ]
    [ "$(ionice -p "$rt")" = "realtime: prio 1" ]
    [ "$(affinity "$rt")" = "$(affinity "$FV_PID")" ]
    [ "$(ionice -p "$idle")" = idle ]
    [ "$(cat /proc/$idle/oom_score_adj)" = 700 ]
    # Set before the uid change, and kept across it.
    [ "$(stat -c %u /proc/$nb)" = "$(id -u nobody)" ]
    [ "$(cat /proc/$nb/oom_score_adj)" = 500 ]
    [ "$(ionice -p "$nb")" = "best-effort: prio 2" ]
    [ "$(affinity "$nb")" = "$(mask_of "$cpu")" ]
    # Without them, a worker has the node's.
    [ "$(cat /proc/$plain/oom_score_adj)" = "$(cat /proc/$FV_PID/oom_score_adj)" ]
    [ "$(ionice -p "$plain")" = "$(ionice -p "$FV_PID")" ]
    [ "$(affinity "$plain")" = "$(affinity "$FV_PID")" ]
    # Each start sets them again.
    kill -KILL "$k"
    retry 200 0.05 pid_changed app/k "$k"
    k=$(pid_of app/k)
    [ "$(cat /proc/$k/oom_score_adj)" = "$adj" ]
    [ "$(ionice -p "$k")" = "best-effort: prio 6" ]
    [ "$(affinity "$k")" = "$(mask_of "$cpu")" ]
    fv_stop
    no_survivors
}

@test "check refuses bad values of oom_score_adj, ioprio and cpu_affinity as FILE:LINE" {
    conf t.ini <<'EOF'
[supervisor:app]
children = a, b, c, d, e, f
[worker:a]
exec = @W@/sleeper
oom_score_adj = -1001
[worker:b]
exec = @W@/sleeper
ioprio = best-effort:8
[worker:c]
exec = @W@/sleeper
ioprio = idle:2
[worker:d]
exec = @W@/sleeper
ioprio = rt
[worker:e]
exec = @W@/sleeper
cpu_affinity = 0,3-1
[worker:f]
exec = @W@/sleeper
cpu_affinity = 0-8191
EOF
    local f=$BATS_TEST_TMPDIR/t.ini
    run -2 "$FORKVISOR" check "$f"
    assert_line "$f:5: bad value '-1001' for oom_score_adj: expected an integer from -1000 to 1000"
    assert_line "$f:8: bad value 'best-effort:8' for ioprio: expected realtime[:LEVEL], best-effort[:LEVEL] or idle, LEVEL from 0 (first served) to 7"
    assert_line --partial "$f:11: bad value 'idle:2' for ioprio: expected"
    assert_line --partial "$f:14: bad value 'rt' for ioprio: expected"
    assert_line "$f:17: bad value '0,3-1' for cpu_affinity: expected CPU numbers and ranges, as 0-3,6"
    assert_line "$f:20: bad value '0-8191' for cpu_affinity: this machine has no CPU $(($(last_cpu) + 1)) (it has $(cat /sys/devices/system/cpu/present))"
    [ "${#lines[@]}" -eq 6 ]
}

@test "lowering oom_score_adj without CAP_SYS_RESOURCE is a failed start that says why" {
    [[ $EUID -eq 0 ]] || skip "needs root to drop a capability"
    command -v setpriv >/dev/null || skip "needs setpriv"
    [ "$(cat /proc/self/oom_score_adj)" -gt -500 ] || skip "this shell's oom_score_adj is -500 already"
    app_ini "w:@W@/sleeper" oom_score_adj=-500
    # The daemon as root without CAP_SYS_RESOURCE: the child cannot lower it, and the node says so.
    printf '#!/bin/sh\nexec setpriv --inh-caps=-sys_resource --bounding-set=-sys_resource %s "$@"\n' \
        "$FORKVISOR" >"$BATS_TEST_TMPDIR/nocap"
    chmod +x "$BATS_TEST_TMPDIR/nocap"
    FORKVISOR=$BATS_TEST_TMPDIR/nocap fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -ne 0 ]
    run -0 grep -F "'app/w' failed to start: failed to set oom_score_adj to -500: Permission denied (lowering it needs CAP_SYS_RESOURCE)" "$(fv_log)"
    no_survivors
}

# cpu_of PATH FIELD: FIELD (cpu_user_usec, cpu_system_usec) of PATH in info --json.
cpu_of() {
    fv info --json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}
# busy_beyond PATH USEC: PATH has used more than USEC of user CPU time.
busy_beyond() { local u; u=$(cpu_of "$1" cpu_user_usec) && [[ $u != None && $u -gt $2 ]]; }

# A worker that spins on its first start and sleeps on later ones: its CPU time grows, then after
# a restart starts again from (almost) nothing, whatever its cgroup counted before. With
# `child`, a child of it spins (the worker waits for it): only a cgroup counts that; the test
# kills the child, the worker exits and is restarted in the same, now empty, cgroup.
cpu_time_grows_and_starts_again() {
    cat >"$BATS_TEST_TMPDIR/spin" <<'SH'
#!/bin/sh
echo $$ >>"$FV_TEST_OUT/pids"
if [ -e "$FV_TEST_OUT/spun" ]; then exec sleep 1000; fi
touch "$FV_TEST_OUT/spun"
if [ "${1:-}" = child ]; then
    sh -c 'echo $$ >>"$FV_TEST_OUT/pids"; echo $$ >"$FV_TEST_OUT/spinner"; while :; do :; done' &
    wait
    exit 1
fi
while :; do :; done
SH
    chmod +x "$BATS_TEST_TMPDIR/spin"
    app_ini "busy:spin $1" "idle:@W@/sleeper"
    fv_start t.ini
    retry 400 0.05 busy_beyond app/busy 0
    local first; first=$(cpu_of app/busy cpu_user_usec)
    retry 400 0.05 busy_beyond app/busy "$first"
    retry 400 0.05 busy_beyond app/busy 300000
    # The text and status --json say it too.
    run -0 fv info app/busy
    assert_line --regexp '^cpu: [0-9]+\.[0-9]{3} s user, [0-9]+\.[0-9]{3} s system$'
    run -0 fv status --json
    python3 -c '
import json, sys
rows = {p["path"]: p for p in json.loads(sys.argv[1])["processes"]}
assert rows["app/busy"]["cpu_user_usec"] > 300000, rows["app/busy"]
assert rows["app/idle"]["cpu_user_usec"] < 300000, rows["app/idle"]
assert isinstance(rows["app/idle"]["cpu_system_usec"], int), rows["app/idle"]
assert "cpu_user_usec" not in rows["app"], rows["app"]
' "$output"
    # A new incarnation counts from its start: the sleeper now is far below 300 ms.
    local old; old=$(pid_of app/busy)
    if [[ $1 == child ]]; then kill -KILL "$(cat "$FV_TEST_OUT/spinner")"; else kill -KILL "$old"; fi
    retry 200 0.05 pid_changed app/busy "$old"
    local again; again=$(cpu_of app/busy cpu_user_usec)
    [ "$again" -lt 300000 ]
    # A stopped worker has none.
    run -0 fv stop app/idle
    [ "$(cpu_of app/idle cpu_user_usec)" = None ]
    run -0 fv info app/idle
    refute_line --partial 'cpu:'
    fv_stop
    no_survivors
}

@test "info and status --json: a worker's CPU time is its cgroup's, its children's too, and starts again with it" {
    local v2; v2=$(findmnt -n -o TARGET -t cgroup2 | head -n 1)
    [[ $EUID -eq 0 && -n $v2 && -w $v2 ]] || skip "no writable cgroup v2 hierarchy here"
    cpu_time_grows_and_starts_again child
    run -0 grep -F "Process tracking: cgroup" "$(fv_log)"
}

@test "info and status --json: a worker's CPU time without cgroups (/proc/PID/stat)" {
    export FORKVISOR_CGROUP=no
    cpu_time_grows_and_starts_again self
    run -0 grep -F "no cgroup: FORKVISOR_CGROUP=no" "$(fv_log)"
}
