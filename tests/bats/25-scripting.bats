# SPDX-License-Identifier: MIT
# What shell scripts need to run a tree without sleeps or races (issue 13): `wait` that waits
# for the daemon, `wait --restarts` and `--pid-not`, answers that never name a reaped pid,
# `tree --json` and `info --json`, options refused by the verbs that do not take them, messages
# that point at the right form, and `signal` through the node.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() { fv_teardown; }

# A worker that records every SIGHUP in $FV_TEST_OUT/NAME.hup and keeps running.
write_hup_worker() {
    cat >"$BATS_TEST_TMPDIR/hup.sh" <<SH
#!/bin/sh
. "$SHWORKERS/markers.sh"
trap 'echo \$\$ >>"\$FV_TEST_OUT/\$FORKVISOR_NAME.hup"' HUP
trap fv_on_term TERM
fv_mark_started
while :; do fv_sleep 1000; done
SH
    chmod +x "$BATS_TEST_TMPDIR/hup.sh"
}
hups() { cat "$FV_TEST_OUT/$1.hup" 2>/dev/null | wc -l; }
hups_at_least() { [[ $(hups "$1") -ge $2 ]]; }

@test "wait started before the daemon waits for it, then for the tree" {
    sleepers_ini a b
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    mkdir -p "$FV_RUNTIME_DIR"
    # The wait runs first: no socket exists yet.
    fv wait --timeout 20000 &
    local waiter=$!
    fv_start_nowait t.ini
    wait "$waiter"
    run -0 fv status app/b
    assert_output --partial "running"
    fv_stop
    no_survivors
}

@test "the whole idiom: run in the background, wait, with FORKVISOR_CONTROL only" {
    sleepers_ini a
    export FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_TEST_OUT"
    export FORKVISOR_CONTROL="$BATS_TEST_TMPDIR/ctl.sock"
    "$FORKVISOR" run "$BATS_TEST_TMPDIR/t.ini" >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    run -0 "$FORKVISOR" wait --timeout 20000
    run -0 "$FORKVISOR" wait app/a --timeout 0
    "$FORKVISOR" shutdown
    fv_wait_exit
    no_survivors
}

@test "wait without a daemon gives up at its timeout with exit 3" {
    run -3 "$FORKVISOR" --control "$BATS_TEST_TMPDIR/none.sock" wait --timeout 300
    assert_output --partial "no daemon"
    # A socket left by a daemon that died is no daemon either.
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1])' \
        "$BATS_TEST_TMPDIR/stale.sock"
    run -3 "$FORKVISOR" --control "$BATS_TEST_TMPDIR/stale.sock" wait --timeout 300
}

@test "wait --pid-not after a kill never sees the old process (20 kills)" {
    app_ini intensity=100 a:@W@/sleeper register=a
    fv_start t.ini
    local i old new
    for ((i = 0; i < 20; i++)); do
        old=$(fv whereis a)
        kill -KILL "$old"
        fv wait app/a --pid-not "$old" --timeout 10000
        new=$(fv whereis a)
        [[ -n $new && $new != "$old" ]] || { echo "kill $i: whereis says $new, old $old" >&2; return 1; }
        [[ $(pid_of app/a) == "$new" ]]
    done
    fv_stop
    no_survivors
}

@test "wait --restarts N returns once the Nth restart is running" {
    app_ini intensity=100 a:@W@/sleeper
    fv_start t.ini
    local old
    old=$(pid_of app/a)
    # Not yet: a check, not a wait.
    run -1 fv wait app/a --restarts 1 --timeout 0
    kill -KILL "$old"
    fv wait app/a --restarts 1 --timeout 10000
    [[ $(pid_of app/a) != "$old" ]]
    old=$(pid_of app/a)
    kill -KILL "$old"
    fv wait app/a --restarts 2 --timeout 10000
    run -0 fv info app/a
    assert_line "restarts: 2"
    refute_line "pid: $old"
    fv_stop
    no_survivors
}

@test "wait --restarts and --pid-not are for running; bad numbers are usage errors" {
    sleepers_ini a
    fv_start t.ini
    run -2 fv wait app/a --state stopped --restarts 1
    assert_output --partial "wait for 'running'"
    run -2 fv wait app/a --pid-not 0
    assert_output --partial "--pid-not takes a number"
    run -2 fv wait app/a --restarts x
    run -2 fv wait app/a --pid-not
    assert_output --partial "needs a value"
    # A supervisor has no process: this would never hold.
    run -2 fv wait app --pid-not 5 --timeout 100
    assert_output --partial "--pid-not is for a worker; 'app' is a supervisor"
    fv_stop
    no_survivors
}

@test "whereis and status never name a process that has exited (20 kills)" {
    app_ini intensity=100 a:@W@/sleeper register=a
    fv_start t.ini
    local k old
    # Not `i`: bats' `run` uses it.
    for ((k = 0; k < 20; k++)); do
        old=$(fv whereis a)
        kill -KILL "$old"
        # Once the kernel has ended it (a zombie, or reaped already), no answer names it.
        retry 200 0.01 pid_dead "$old"
        run fv whereis a
        [[ $output != "$old" ]] || { echo "kill $k: whereis still says $old" >&2; return 1; }
        run -0 fv status app/a
        refute_output --partial " $old "
        fv wait app/a --pid-not "$old" --timeout 10000
    done
    fv_stop
    no_survivors
}

@test "tree --json and info --json are JSON with the facts of their text forms" {
    app_ini a:@W@/sleeper register=a pool:{ strategy=simple_one_for_one template=w instances=2 w:@W@/sleeper }
    fv_start t.ini
    run -0 fv tree --json
    run -0 python3 -c '
import json, sys
t = json.load(sys.stdin)
def walk(n, d):
    print(d * "  " + n["path"], n["kind"], n["state"], "-" if n["pid"] is None else n["pid"], n.get("strategy", ""))
    for c in n.get("children", []):
        walk(c, d + 1)
walk(t, 0)
' <<<"$output"
    assert_line "app supervisor running - one_for_one"
    assert_line "  app/a worker running $(pid_of app/a) "
    assert_line "  app/pool supervisor running - simple_one_for_one"
    assert_line "    app/pool/w.1 worker running $(pid_of app/pool/w.1) "
    assert_line "    app/pool/w.2 worker running $(pid_of app/pool/w.2) "
    [ "${#lines[@]}" -eq 5 ]

    run -0 fv info --json app/a
    run -0 python3 -c '
import json, sys
i = json.load(sys.stdin)
print(i["path"], i["kind"], i["state"], i["pid"], i["restarts"], i["names"], i["restart"], i["ready"])
print("memory", i["memory_kb"] > 0, "mailbox", i["mailbox"]["limit"], "command", i["command"].endswith("sleeper"))
' <<<"$output"
    assert_line "app/a worker running $(pid_of app/a) 0 ['a'] permanent none"
    assert_line "memory True mailbox 1024 command True"
    run -0 fv info app/pool --json
    run -0 python3 -c '
import json, sys
i = json.load(sys.stdin)
print(i["kind"], i["strategy"], i["children"], i["intensity"], i["pid"])
' <<<"$output"
    assert_output "supervisor simple_one_for_one 2 1 None"
    fv_stop
    no_survivors
}

@test "an option a command does not take is a usage error, not ignored" {
    sleepers_ini a
    fv_start t.ini
    run -2 fv restart app/a --json
    assert_output --partial "restart does not take --json"
    run -2 fv wait --count 3
    assert_output --partial "wait does not take --count"
    run -2 fv whereis a --json
    run -2 fv status --all
    run -2 fv tree --jsn
    assert_output --partial "unknown option '--jsn'"
    run -2 fv events --state running
    # Nothing was done: a was not restarted.
    run -0 fv info app/a
    assert_line "restarts: 0"
    fv_stop
    no_survivors
}

@test "messages point at the form that was meant" {
    app_ini a:@W@/sleeper register=web fleet:{ strategy=simple_one_for_one template=w instances=2 w:@W@/sleeper }
    fv_start t.ini
    run -1 fv whereis fleet/w.2
    assert_output --partial "'fleet/w.2' is not registered: 'app/fleet/w.2' is the path of a process (\`forkvisor status app/fleet/w.2\`"
    run -1 fv whereis app/fleet/w.2
    assert_output --partial "'app/fleet/w.2' is the path of a process"
    fv stop app/fleet/w.1
    run -1 fv whereis w.1
    assert_output --partial "'w.1' is not registered: 'app/fleet/w.1' is not running (stopped)"
    run -1 fv restart w.2
    assert_output --partial "did you mean 'app/fleet/w.2'?"
    run -1 fv info web
    assert_output --partial "'web' is a registered name, not a path (did you mean 'app/a'?)"
    run -2 fv wait app/a --state dead
    assert_output --partial "no state 'dead': it is one of stopped, starting, running, stopping, restarting, failed, exited"
    fv_stop
    no_survivors
}

@test "check says that a ';' after a space in exec began a comment" {
    printf '[supervisor:app]\nchildren = a\n[worker:a]\nexec = sh -c '"'"'echo 1 ; echo 2'"'"'\n' >"$BATS_TEST_TMPDIR/c.ini"
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/c.ini"
    assert_output --partial "c.ini:4: bad value for exec: unterminated single quote (a ';' after whitespace starts a comment"
    assert_output --partial "write '\\;'"
    # Escaped, it is part of the command.
    printf '[supervisor:app]\nchildren = a\n[worker:a]\nexec = sh -c '"'"'echo 1 \\; echo 2'"'"'\n' >"$BATS_TEST_TMPDIR/c.ini"
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/c.ini"
}

@test "signal reaches a worker's process through the node, or every worker under a supervisor" {
    write_hup_worker
    app_ini a:hup.sh b:hup.sh sub:{ c:hup.sh d:hup.sh }
    fv_start t.ini
    local pa; pa=$(pid_of app/a)
    run -0 fv signal app/a HUP
    retry 200 0.02 hups_at_least a 1
    [[ $(hups b) -eq 0 && $(hups c) -eq 0 ]]
    run -0 fv signal app/sub SIGHUP
    retry 200 0.02 hups_at_least c 1
    retry 200 0.02 hups_at_least d 1
    run -0 fv signal app/b 1
    retry 200 0.02 hups_at_least b 1
    [[ $(hups a) -eq 1 && $(pid_of app/a) == "$pa" ]]
    grep -qF "under 'app/sub' (operator)" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "signal refuses what it cannot do: bad signal, unknown path, nothing running" {
    sleepers_ini a b
    fv_start t.ini
    run -2 fv signal app/a NOPE
    assert_output --partial "no signal 'NOPE'"
    run -1 fv signal app/zz HUP
    assert_output --partial "no such process"
    fv stop app/b
    run -1 fv signal app/b HUP
    assert_output --partial "no process is running under 'app/b' (stopped)"
    run -2 fv signal app/a
    fv_stop
    no_survivors
}
