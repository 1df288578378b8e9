# SPDX-License-Identifier: MIT
# The plan's registry cases: registry read-only, registry under churn, pid reuse.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=90}"

setup() { load test_helper; }
teardown() {
    local p
    for p in ${BG_PIDS:-}; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    fv_teardown
}

# result FILE KEY: KEY's value in a registry-churn report ("lookups=1 found=2 ...").
result() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"; }
restarts_at_least() { local r; r=$(fv info "$1" | sed -n 's/^restarts: //p'); [[ -n $r && $r -ge $2 ]]; }
# registry_pid NAME: the pid(s) `forkvisor registry` lists for NAME, sorted, space separated.
registry_pid() { fv registry | awk -v n="$1" '$1 == n { print $2 }' | sort -n | paste -sd ' '; }
state_is() { [[ $(state_of "$1") == "$2" ]]; }
gen_of() { fv registry | awk -v n="$1" '$1 == n { print $3; exit }'; }

# churn_words N: app_ini words for N churners ch1..chN and N never-changing holders s1..sN.
churn_words() {
    local i
    for ((i = 1; i <= $1; i++)); do printf '%s\n' "ch$i:@W@/registry-churn churn $i" mailbox "s$i:@W@/sleeper"; done
}

@test "registry under churn: 4 workers register and unregister without pause, 3 read fd 4: never a torn entry, never a miss" {
    local -a words
    mapfile -t words < <(churn_words 4)
    app_ini "${words[@]}" "r1:@W@/registry-churn read 4 1500" "r2:@W@/registry-churn read 4 1500" \
        "r3:@W@/registry-churn read 4 1500"
    fv_start t.ini
    local r f total=0
    for r in r1 r2 r3; do
        f=$FV_TEST_OUT/$r.result
        retry 400 0.05 file_has "$f"
        echo "$r: $(cat "$f")" >&2
        [ "$(result "$f" wrong)" -eq 0 ]
        [ "$(result "$f" missed)" -eq 0 ]
        # They did see the churned names come and go.
        [ "$(result "$f" found)" -gt 0 ]
        [ "$(result "$f" found)" -lt "$(result "$f" lookups)" ]
        total=$((total + $(result "$f" lookups)))
    done
    echo "lookups in all: $total" >&2
    # The churners never failed, the node still names the right pids.
    for r in 1 2 3 4; do
        [ "$(fv info "app/ch$r" | sed -n 's/^restarts: //p')" = 0 ]
        [ "$(registry_pid "s$r")" = "$(pid_of "app/s$r")" ]
    done
    daemon_running
    fv_stop
    no_survivors
}

@test "registry read-only: five incarnations of an attacker, amid churn, are all refused; the registry stays right" {
    local -a words
    mapfile -t words < <(churn_words 2)
    app_ini intensity=100 "${words[@]}" attacker:@W@/registry-attack
    fv_start t.ini
    local i old f
    for i in 1 2 3 4 5; do
        f=$FV_TEST_OUT/attacker.attack
        retry 200 0.05 file_has "$f"
        # Every route on every descriptor refused (workers/registry-attack.c lists them).
        run -0 cat "$f"
        refute_output --partial WRITABLE
        [ "$(grep -cvE '^[a-z_]+=refused$' "$f")" -eq 0 ]
        [ "$(wc -l <"$f")" -ge 40 ]
        old=$(pid_of app/attacker)
        [ "$(registry_pid attacker)" = "$old" ]
        rm "$f"
        kill -KILL "$old"
        retry 100 0.05 pid_changed app/attacker "$old"
    done
    for i in 1 2; do [ "$(registry_pid "s$i")" = "$(pid_of "app/s$i")" ]; done
    [ "$(registry_pid ch1)" = "$(pid_of app/ch1)" ]
    daemon_running
    fv_stop
    no_survivors
}

@test "pid reuse: a successor under its predecessor's very pid is a new incarnation; a call to the dead one never reaches it" {
    need_pid_namespace
    # In a pid namespace of its own the node is PID 1, and writing ns_last_pid there makes the
    # next process it spawns take the pid we choose: the dead worker's.
    local nsout="$BATS_TEST_TMPDIR/ns-out"
    cat >"$BATS_TEST_TMPDIR/inc.sh" <<SH
#!/bin/sh
# Counts its incarnations, logs every call it gets, answers all but "hang".
n=\$(( \$(cat "\$FV_TEST_OUT/inc.count" 2>/dev/null || echo 0) + 1 ))
echo \$n >"\$FV_TEST_OUT/inc.count"
"$FORKVISOR" ready
while msg=\$("$FORKVISOR" recv --shell); do
    eval "\$msg"
    [ "\$FV_KIND" = call ] || continue
    echo "\$n \$FV_PAYLOAD" >>"\$FV_TEST_OUT/inc.calls"
    [ "\$FV_PAYLOAD" = hang ] || "$FORKVISOR" reply "\$FV_REF" "incarnation \$n: \$FV_PAYLOAD"
done
SH
    app_ini intensity=10 "e:/bin/sh @T@/inc.sh" mailbox restart_delay=1000
    fv_start_init t.ini "$nsout"
    local node=$FV_INIT p g1 hostpid c
    p=$(pid_of app/e)
    g1=$(gen_of e)
    # The host's pid of the worker the node calls $p.
    for c in $(ps --ppid "$node" -o pid=); do
        [[ $(awk '/^NSpid:/ { print $NF }' "/proc/$c/status") == "$p" ]] && hostpid=$c
    done
    [[ -n $hostpid ]]
    # A call by pid that the first incarnation takes and never answers.
    fv call "$p" hang --timeout 20000 >"$BATS_TEST_TMPDIR/hang.out" 2>&1 &
    local hang=$!
    BG_PIDS=" $hang"
    retry 100 0.05 grep -q '^1 hang$' "$nsout/inc.calls"
    kill -KILL "$hostpid"
    retry 100 0.05 state_is app/e restarting
    # Reaped: now the next pid in the namespace is made to be $p again.
    nsenter --target "$node" --pid --mount sh -c "echo $((p - 1)) >/proc/sys/kernel/ns_last_pid"
    run -0 fv wait app/e --timeout 5000
    [ "$(pid_of app/e)" = "$p" ]
    [ "$(cat "$nsout/inc.count")" = 2 ]
    # The pending call ended with its callee, at once, though a process of that pid answers again.
    run -1 wait "$hang"
    BG_PIDS=
    run -0 cat "$BATS_TEST_TMPDIR/hang.out"
    assert_output --partial "callee exited"
    # The registry tells the two apart: the same pid, a newer generation.
    [ "$(registry_pid e)" = "$p" ]
    [ "$(gen_of e)" -gt "$g1" ]
    # The new incarnation answers for itself and never saw the call meant for the old one.
    run -0 fv call "$p" hello --timeout 5000
    assert_output "incarnation 2: hello"
    run -0 cat "$nsout/inc.calls"
    assert_output "$(printf '1 hang\n2 hello')"
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
}
