# SPDX-License-Identifier: MIT
# The plan's restart cases: 200 simultaneous exits, exec failure (with backoff), one_for_all with
# 50 children, rest_for_one, fork failure.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=90}"

setup() { load test_helper; }
teardown() {
    local rc=0
    fv_teardown || rc=$?
    if [[ -n ${USER_DIR:-} ]]; then rm -rf "$USER_DIR"; fi
    return "$rc"
}

# all_restarted_once N: N workers, each running under a pid not in $OLD_PIDS with restarts 1.
all_restarted_once() {
    local rows path state pid restarts n=0
    rows=$(worker_rows) || return 1
    while read -r path state pid restarts; do
        [[ $state == running && $restarts == 1 && " $OLD_PIDS " != *" $pid "* ]] || return 1
        n=$((n + 1))
    done <<<"$rows"
    [[ $n -eq $1 ]]
}

@test "200 simultaneous exits: one kill for all 200, each restarted once, no zombie, status consistent" {
    wide_ini w 200 @W@/sleeper intensity=1000 period=1
    fv_start_big t.ini
    OLD_PIDS=$(worker_rows | awk '{ print $3 }' | paste -sd ' ')
    [ "$(wc -w <<<"$OLD_PIDS")" -eq 200 ]
    # One kill(1) call: 200 SIGKILLs as close together as the shell can send them, so the node
    # gets a burst of SIGCHLDs that the kernel coalesces into a few.
    kill -KILL $OLD_PIDS
    retry 600 0.05 all_restarted_once 200
    retry 100 0.05 no_zombie_children
    # status agrees with the system: 200 distinct pids, each a live child of the node running
    # the sleeper, each the one its name is registered under.
    local path state pid restarts new=()
    while read -r path state pid restarts; do
        pid_alive "$pid"
        [ "$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status")" = "$FV_PID" ]
        [ "$(cat "/proc/$pid/comm")" = sleeper ]
        new+=("$pid")
    done < <(worker_rows)
    [ "$(printf '%s\n' "${new[@]}" | sort -u | wc -l)" -eq 200 ]
    run -0 fv whereis w1
    assert_output "${new[0]}"
    run -0 fv whereis w200
    assert_output "${new[199]}"
    # Every old pid is gone, and each exit was logged once.
    for pid in $OLD_PIDS; do pid_dead "$pid"; done
    [ "$(count_in_log ") killed by signal KILL")" -eq 200 ]
    [ "$(count_in_log "Restarting 'app/w")" -eq 200 ]
    fv_stop
    no_survivors
}

@test "exec failure: a program gone at restart backs off, 100, 200, 400, 400 ms, visibly; back when it returns" {
    cp "$WORKERS/sleeper" "$BATS_TEST_TMPDIR/prog"
    app_ini intensity=100 period=1 s:@W@/sleeper a:prog restart_delay=100 restart_delay_max=400
    fv_start t.ini
    local old sib
    old=$(pid_of app/a)
    sib=$(pid_of app/s)
    rm "$BATS_TEST_TMPDIR/prog"
    kill -KILL "$old"
    retry 200 0.05 log_has "Restarting 'app/a' (restart 5) in 400 ms"
    # The delay doubled on each failed start: a missing program counts as a failure.
    log_has "Restarting 'app/a' (restart 1) in 100 ms"
    log_has "Restarting 'app/a' (restart 2) in 200 ms"
    log_has "Restarting 'app/a' (restart 3) in 400 ms"
    log_has "Restarting 'app/a' (restart 4) in 400 ms"
    run -0 grep -cF "'app/a' failed to start: failed to execute '$BATS_TEST_TMPDIR/prog': No such file or directory" "$(fv_log)"
    [ "$output" -ge 4 ]
    # status says so: no process, not running, and the SIGKILL of the old run is not shown as
    # the last exit of the starts that failed since.
    run -0 fv info app/a
    assert_line --regexp '^state: (restarting|failed)$'
    refute_line --partial 'signal KILL'
    assert_line --partial "reason: failed to execute"
    # The node carries on: the sibling was never touched, and the program's return is picked up.
    [ "$(pid_of app/s)" = "$sib" ]
    cp "$WORKERS/sleeper" "$BATS_TEST_TMPDIR/prog"
    retry 100 0.05 pid_changed app/a "$old"
    daemon_running
    fv_stop
    no_survivors
}

@test "one_for_all with 50 children: one crash restarts all 50, stopped in reverse, started in order" {
    wide_ini c 50 @W@/sleeper strategy=one_for_all intensity=5
    fv_start_big t.ini
    OLD_PIDS=$(worker_rows | awk '{ print $3 }' | paste -sd ' ')
    local victim; victim=$(pid_of app/c25)
    : >"$(fv_log).before"
    cp "$(fv_log)" "$(fv_log).before"
    kill -KILL "$victim"
    all_running_anew() {
        local rows path state pid restarts n=0
        rows=$(worker_rows) || return 1
        while read -r path state pid restarts; do
            [[ $state == running && " $OLD_PIDS " != *" $pid "* ]] || return 1
            n=$((n + 1))
        done <<<"$rows"
        [[ $n -eq 50 ]]
    }
    retry 400 0.05 all_running_anew
    # The other 49 were stopped in reverse start order (c25 was already down), then all 50 started
    # in order; every old pid is gone.
    local expect_stop expect_start
    expect_stop=$(for ((i = 50; i >= 1; i--)); do [[ $i -eq 25 ]] || printf 'app/c%d ' $i; done)
    expect_start=$(for ((i = 1; i <= 50; i++)); do printf 'app/c%d ' $i; done)
    [ "$(order_of Stopped)" = "${expect_stop% }" ]
    [ "$(order_of Started | tr ' ' '\n' | tail -n 50 | paste -sd ' ')" = "${expect_start% }" ]
    for pid in $OLD_PIDS; do pid_dead "$pid"; done
    run -0 fv info app/c25
    assert_line "restarts: 1"
    daemon_running
    fv_stop
    no_survivors
}

@test "rest_for_one: a crash restarts the child and those after it, a subtree included; those before keep their pids" {
    app_ini strategy=rest_for_one intensity=5 \
        a:@W@/sleeper b:@W@/sleeper c:@W@/sleeper \
        sub:{ x:@W@/sleeper y:@W@/sleeper } \
        d:@W@/sleeper e:@W@/sleeper
    fv_start t.ini
    local a b c x y d e
    a=$(pid_of app/a) b=$(pid_of app/b) c=$(pid_of app/c) x=$(pid_of app/sub/x) y=$(pid_of app/sub/y)
    d=$(pid_of app/d) e=$(pid_of app/e)
    kill -KILL "$c"
    retry 200 0.05 pid_changed app/e "$e"
    retry 200 0.05 pid_changed app/c "$c"
    for p in c sub/x sub/y d; do [ "$(state_of app/$p)" = running ]; done
    [ "$(pid_of app/a)" = "$a" ]
    [ "$(pid_of app/b)" = "$b" ]
    [ "$(pid_of app/sub/x)" != "$x" ]
    [ "$(pid_of app/sub/y)" != "$y" ]
    [ "$(pid_of app/d)" != "$d" ]
    # Stopped newest first, the subtree's own children inside it; started again in order.
    [ "$(order_of Stopped)" = "app/e app/d app/sub/y app/sub/x app/sub" ]
    [ "$(order_of Started | tr ' ' '\n' | tail -n 5 | paste -sd ' ')" = "app/c app/sub/x app/sub/y app/d app/e" ]
    for p in "$c" "$x" "$y" "$d" "$e"; do pid_dead "$p"; done
    fv_stop
    no_survivors
}

@test "fork failure: with RLIMIT_NPROC reached, start-child fails visibly and the tree carries on" {
    [[ $EUID -eq 0 ]] || skip "needs root to run the daemon as another uid"
    # RLIMIT_NPROC binds no root process, so the daemon runs as a uid of its own (no other
    # process of it exists, so it alone counts against the limit).
    local uid=61917
    USER_DIR=$(mktemp -d /tmp/fv-nproc.XXXXXX)
    chmod 0755 "$USER_DIR"
    mkdir -m 1777 "$USER_DIR/out"
    install -d -m 0700 -o "$uid" -g "$uid" "$USER_DIR/run"
    conf t.ini <<INI
[supervisor:app]
children = s, pool
[worker:s]
exec = $WORKERS/sleeper
environment = FV_TEST_OUT=$USER_DIR/out
[supervisor:pool]
strategy = simple_one_for_one
template = job
instances = 2
[worker:job]
exec = $WORKERS/sleeper
environment = FV_TEST_OUT=$USER_DIR/out
INI
    cp "$BATS_TEST_TMPDIR/t.ini" "$USER_DIR/t.ini"
    export FV_RUNTIME_DIR=$USER_DIR/run FV_TEST_OUT=$USER_DIR/out
    # The limit is set before the uid change (lowering needs no privilege, and raising it later
    # would need CAP_SYS_RESOURCE): the daemon, its guard and its three children, no room for a
    # sixth.
    prlimit --nproc=5:5 setpriv --reuid="$uid" --regid="$uid" --clear-groups \
        "$FORKVISOR" run "$USER_DIR/t.ini" --control "$FV_RUNTIME_DIR/control.sock" \
        </dev/null >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    retry 200 0.05 fv wait --timeout 100
    [ "$(ls "/proc/$FV_PID/task" | wc -l)" -eq 1 ]
    local s; s=$(pid_of app/s)
    run -1 fv start-child app/pool
    assert_output --partial "failed to clone: Resource temporarily unavailable"
    retry 100 0.05 log_has "'app/pool/job.3' failed to start: failed to clone: Resource temporarily unavailable"
    run -1 fv info app/pool/job.3
    # Nothing else was touched; the node still serves.
    [ "$(pid_of app/s)" = "$s" ]
    [ "$(state_of app/pool/job.1)" = running ]
    [ "$(state_of app/pool/job.2)" = running ]
    [ "$(state_of app/pool)" = running ]
    run -0 fv status
    # A killed worker frees its slot before its successor needs one: restarts still work.
    kill -KILL "$s"
    retry 100 0.05 pid_changed app/s "$s"
    # With room again, the same request succeeds.
    run -0 fv terminate-child app/pool/job.2
    run -0 fv start-child app/pool
    local path=$output
    [[ $path == app/pool/job.* ]]
    [ "$(state_of "$path")" = running ]
    fv_stop
    no_survivors
}
