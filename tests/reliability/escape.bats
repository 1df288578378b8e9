# SPDX-License-Identifier: MIT
# Nothing escapes the node (issue 11, part 2): what a worker starts dies with it, with its
# restart, with the node's shutdown and with the node's own death, whether it forked, double-forked
# or setsid'd; cgroup mode and the process-group fallback; the resource keys.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() { fv_teardown; }

# helpers_script NAME [EXIT]: a shell worker that starts a child in its session (sleep 1234) and
# a setsid'd one (sleep 1235), records both, marks NAME.started, then waits (or exits EXIT).
helpers_script() {
    cat > "$BATS_TEST_TMPDIR/$1" <<SH
#!/bin/sh
sleep 1234 & echo \$! >> "\$FV_TEST_OUT/pids"; echo \$! >> "\$FV_TEST_OUT/\$FORKVISOR_NAME.helpers"
setsid sleep 1235 & echo \$! >> "\$FV_TEST_OUT/pids"; echo \$! >> "\$FV_TEST_OUT/\$FORKVISOR_NAME.helpers"
echo \$\$ > "\$FV_TEST_OUT/\$FORKVISOR_NAME.started.tmp" && mv "\$FV_TEST_OUT/\$FORKVISOR_NAME.started.tmp" "\$FV_TEST_OUT/\$FORKVISOR_NAME.started"
${2:+exit $2}
wait
SH
    chmod +x "$BATS_TEST_TMPDIR/$1"
}

# helpers_dead NAME: every helper NAME recorded is gone.
helpers_dead() {
    local p
    while read -r p; do pid_alive "$p" && return 1; done < "$FV_TEST_OUT/$1.helpers"
    return 0
}
# helpers_alive NAME: every helper NAME recorded is alive.
helpers_alive() {
    local p
    while read -r p; do pid_alive "$p" || return 1; done < "$FV_TEST_OUT/$1.helpers"
}

# cgroup_mode: skip the test where no cgroup can be had (not root, or no writable cgroup v2
# hierarchy); where one can, the daemon must say it tracks by cgroup.
cgroup_mode() {
    local v2; v2=$(findmnt -n -o TARGET -t cgroup2 | head -n 1)
    [[ $(id -u) -eq 0 && -n $v2 && -w $v2 ]] || skip "no writable cgroup v2 hierarchy here"
    retry 100 0.05 grep -q "Process tracking:" "$(fv_log)"
    run -0 grep "Process tracking: cgroup" "$(fv_log)"
}

# guard_of PID: the pid of the daemon's guard process.
guard_of() { pgrep -P "$1" -x forkvisor-guard; }

@test "daemon SIGKILLed: in cgroup mode, what it started dies within a second, setsid'd helpers included" {
    helpers_script h
    app_ini h:h k:@W@/sleeper
    fv_start t.ini
    cgroup_mode
    retry 100 0.05 file_has "$FV_TEST_OUT/h.started"
    retry 100 0.05 helpers_alive h
    kill -KILL "$FV_PID"
    wait "$FV_PID" || true
    unset FV_PID
    # The guard kills the node's cgroup; polling for 2 s at most. Then it removes the groups.
    retry 40 0.05 helpers_dead h
    no_survivors
    local dir; dir=$(sed -n 's/.*one cgroup per worker in \([^ ]*\).*/\1/p' "$(fv_log)")
    [ -n "$dir" ]
    retry 40 0.05 test ! -e "$dir"
}

@test "daemon SIGKILLed: without cgroups, the guard kills the sessions of the workers" {
    helpers_script h
    app_ini h:h
    FORKVISOR_CGROUP=no fv_start t.ini
    run -0 grep -F "Process tracking: process groups (no cgroup: FORKVISOR_CGROUP=no)" "$(fv_log)"
    retry 100 0.05 file_has "$FV_TEST_OUT/h.started"
    local same; same=$(head -n 1 "$FV_TEST_OUT/h.helpers")
    kill -KILL "$FV_PID"
    wait "$FV_PID" || true
    unset FV_PID
    # The helper in the worker's session dies; the setsid'd one left the session: without
    # cgroups nothing can find it (documented), so the teardown kills it.
    retry 40 0.05 pid_dead "$same"
}

@test "double-forking child: a setsid'd helper of a crashed worker dies before the restart" {
    helpers_script h 3
    app_ini intensity=5 h:h restart_delay=300
    fv_start_nowait t.ini
    cgroup_mode
    retry 100 0.05 file_has "$FV_TEST_OUT/h.helpers"
    local first; first=$(head -n 2 "$FV_TEST_OUT/h.helpers")
    # The first incarnation exits 3; before the second one starts its helpers are gone.
    retry 100 0.05 grep -q "Restarting 'app/h'" "$(fv_log)"
    local p
    for p in $first; do retry 40 0.05 pid_dead "$p"; done
    fv_stop
    no_survivors
}

@test "orphans with subreaper: a setsid'd helper adopted by the node does not outlive shutdown (no cgroups)" {
    helpers_script h
    { printf '[forkvisor]\nsubreaper = yes\n\n'; app_ini h:h; cat "$BATS_TEST_TMPDIR/t.ini"; } > "$BATS_TEST_TMPDIR/s.ini"
    FORKVISOR_CGROUP=no fv_start s.ini
    retry 100 0.05 file_has "$FV_TEST_OUT/h.started"
    # The worker's shell exits when stopped; its setsid'd helper is then the node's to kill.
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    retry 40 0.05 helpers_dead h
    no_survivors
}

@test "orphans with subreaper: in cgroup mode nothing a worker started outlives shutdown" {
    helpers_script h
    app_ini h:h
    fv_start t.ini
    cgroup_mode
    retry 100 0.05 file_has "$FV_TEST_OUT/h.started"
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    helpers_dead h
    no_survivors
    # Its cgroups are gone with it.
    local dir; dir=$(sed -n 's/.*one cgroup per worker in \([^ ]*\).*/\1/p' "$(fv_log)")
    [ -n "$dir" ]
    [ ! -e "$dir" ]
}

@test "daemon SIGKILLed: a daemon started again kills what a killed predecessor and its guard left" {
    helpers_script h
    app_ini h:h
    fv_start t.ini
    cgroup_mode
    retry 100 0.05 file_has "$FV_TEST_OUT/h.started"
    local guard; guard=$(guard_of "$FV_PID")
    [ -n "$guard" ]
    # The guard first stopped, so that it can neither act on the node's death nor be replaced.
    kill -STOP "$guard"
    kill -KILL "$FV_PID"
    kill -KILL "$guard"
    wait "$FV_PID" || true
    unset FV_PID
    retry 40 0.05 pid_dead "$guard"
    helpers_alive h
    mv "$FV_TEST_OUT/h.helpers" "$FV_TEST_OUT/first.helpers"
    fv_start t.ini
    run -0 grep -E "Killed 2 leftover processes of a previous run" "$(fv_log)"
    retry 40 0.05 helpers_dead first
    fv_stop
    no_survivors
    # The second daemon removed its groups on its way out, the predecessor's leaves included.
    local dir; dir=$(sed -n 's/.*one cgroup per worker in \([^ ]*\).*/\1/p' "$(fv_log)")
    [ -n "$dir" ]
    [ ! -e "$dir" ]
}

@test "daemon SIGKILLed: the guard is not a worker: it is restarted when it dies, and leaves with the node" {
    app_ini k:@W@/sleeper
    fv_start t.ini
    local guard; guard=$(guard_of "$FV_PID")
    [ -n "$guard" ]
    kill -KILL "$guard"
    retry 100 0.05 grep -q "The guard process died: starting another" "$(fv_log)"
    # The new guard is named forkvisor-guard once its exec is done, a moment after that line.
    local again
    new_guard() { again=$(guard_of "$FV_PID") && [ -n "$again" ] && [ "$again" != "$guard" ]; }
    retry 200 0.05 new_guard
    run -0 fv status
    fv_stop
    retry 40 0.05 pid_dead "$again"
}

@test "cgroup mode: a worker starts in a cgroup of its own, named after its path" {
    app_ini k:@W@/sleeper
    fv_start t.ini
    cgroup_mode
    local pid; pid=$(pid_of app/k)
    run -0 grep -E '^0::(/.*)?/forkvisor-[0-9a-f]{16}/app:k$' "/proc/$pid/cgroup"
    fv_stop
    no_survivors
}

@test "resource keys: a memory_max breach is reported as oom in the log, status and events" {
    app_ini intensity=10 "hog:@W@/memhog 64" memory_max=16M restart_delay=1000
    fv_start_nowait t.ini
    cgroup_mode
    retry 200 0.05 grep -q "'app/hog' (pid [0-9]*) killed by the OOM killer (memory_max)" "$(fv_log)"
    run -0 fv status --json
    assert_output --partial '"reason": "oom"'
    run -0 fv status
    assert_line --regexp '^app/hog .* oom *$'
    # The event of the next breach.
    run -0 fv subscribe forkvisor:exited --count 1 --timeout 10000
    assert_output --regexp '"event": "exited".*"signal": "KILL", "reason": "oom"'
    fv_stop
    no_survivors
}

# cgroup_file PID CONTROLLER FILE: FILE of PID's cgroup of CONTROLLER, on v2 or v1.
cgroup_file() {
    local v1; v1=$(sed -n "s/^[0-9]*:\([^:]*,\)*$2\(,[^:]*\)*:\(.*\)/\3/p" "/proc/$1/cgroup")
    if [[ -n $v1 ]]; then echo "$(findmnt -n -o TARGET -t cgroup -O "$2" | head -n 1)$v1/$3"; return; fi
    echo "$(findmnt -n -o TARGET -t cgroup2 | head -n 1)$(sed -n 's/^0:://p' "/proc/$1/cgroup")/$3"
}

@test "resource keys: pids_max caps a worker's forks and cpu_weight is set" {
    app_ini "f:@W@/memhog 0 10" pids_max=4 cpu_weight=50
    fv_start t.ini
    cgroup_mode
    retry 100 0.05 file_has "$FV_TEST_OUT/f.started"
    # 4 tasks: the worker and 3 children.
    [ "$(cat "$FV_TEST_OUT/f.forked")" -eq 3 ]
    local pid; pid=$(pid_of app/f)
    local w; w=$(cgroup_file "$pid" cpu cpu.shares)
    if [[ -r $w ]]; then [ "$(cat "$w")" -eq 512 ]; else [ "$(cat "$(cgroup_file "$pid" cpu cpu.weight)")" -eq 50 ]; fi
    fv_stop
    no_survivors
}

@test "resource keys: without cgroups they are a configuration error naming the file and line" {
    app_ini k:@W@/sleeper memory_max=1G
    FORKVISOR_CGROUP=no fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 2 ]
    run -0 grep -E "t\.ini:[0-9]+: memory_max of \[worker:k\] cannot be applied here: FORKVISOR_CGROUP=no" "$(fv_log)"
}

@test "bad config files: resource keys with bad values name the key and the accepted values" {
    app_ini k:@W@/sleeper memory_max=lots pids_max=0 cpu_weight=20000
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    assert_output --partial "bad value 'lots' for memory_max"
    assert_output --partial "bad value '0' for pids_max"
    assert_output --partial "bad value '20000' for cpu_weight: expected an integer from 1 to 10000"
}

@test "resource keys: the conf/limits.ini example runs as it says" {
    local conf; conf=$(cd "$BATS_TEST_DIRNAME/../../conf" && pwd)/limits.ini
    # Its exec paths are relative to conf/: run it from a copy pointing at this build.
    sed "s|\.\./build/workers|$WORKERS|" "$conf" > "$BATS_TEST_TMPDIR/limits.ini"
    fv_start limits.ini
    cgroup_mode
    retry 200 0.05 grep -q "'limits/hog' (pid [0-9]*) killed by the OOM killer (memory_max)" "$(fv_log)"
    retry 100 0.05 file_has "$FV_TEST_OUT/forks.forked"
    [ "$(cat "$FV_TEST_OUT/forks.forked")" -eq 3 ]
    fv_stop
    no_survivors
}

@test "resource keys: a reload that asks for them without cgroups is refused, the tree untouched" {
    app_ini k:@W@/sleeper
    FORKVISOR_CGROUP=no fv_start t.ini
    local pid; pid=$(pid_of app/k)
    app_ini k:@W@/sleeper pids_max=10
    run -2 fv reload
    assert_output --regexp "t\.ini:[0-9]+: pids_max of \[worker:k\] cannot be applied here"
    [ "$(pid_of app/k)" = "$pid" ]
    fv_stop
    no_survivors
}
