# SPDX-License-Identifier: MIT
# The plan's PID 1 case: an orphan storm in a pid namespace of its own, the node as its init.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=60}"

setup() { load test_helper; }
teardown() { fv_teardown; }

@test "orphan storm as PID 1: 1000 orphans at once, each reaped, no zombie, the tree still served" {
    need_pid_namespace
    # Pids inside the namespace mean nothing outside: the markers go elsewhere than $FV_TEST_OUT.
    local nsout="$BATS_TEST_TMPDIR/ns-out"
    # The checker runs inside the namespace: it waits for every orphan of the four orphaners to
    # be gone from /proc (reaped, not a zombie), then looks for any zombie at all.
    cat >"$BATS_TEST_TMPDIR/check.sh" <<'SH'
#!/bin/sh
out=$FV_TEST_OUT
result() { echo "$1" >"$out/result.tmp" && mv "$out/result.tmp" "$out/result"; exit 0; }
for o in o1 o2 o3 o4; do
    i=0
    while [ ! -e "$out/$o.started" ]; do
        i=$((i + 1)); [ $i -gt 1500 ] && result "$o did not start"; sleep 0.02
    done
done
n=0
for p in $(cat "$out"/o?.orphans); do
    n=$((n + 1))
    i=0
    while [ -e "/proc/$p" ]; do
        i=$((i + 1))
        [ $i -gt 1500 ] && result "not reaped: $p $(grep '^State' /proc/$p/status 2>/dev/null)"
        sleep 0.02
    done
done
z=$(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | tr '\n' ' ')
[ -z "$z" ] || result "zombies: $z"
result "ok pid1=$(cat /proc/1/comm) orphans=$n"
SH
    app_ini "o1:@W@/orphaner 250" "o2:@W@/orphaner 250" "o3:@W@/orphaner 250" "o4:@W@/orphaner 250" \
        "check:/bin/sh @T@/check.sh" temporary
    fv_start_init t.ini "$nsout"
    # While the storm is reaped the node answers.
    run -0 fv status
    retry 600 0.05 test -e "$nsout/result"
    run -0 cat "$nsout/result"
    assert_output "ok pid1=forkvisor orphans=1000"
    # Its own children are untouched: none restarted, every orphaner running.
    run -0 fv status --json
    refute_output --regexp '"restarts": [1-9]'
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    retry 100 0.05 ns_empty "$FV_NS"
}

@test "PID 1 shutdown: SIGTERM to the init of a pid namespace stops the tree in reverse order within its timeouts, exit 0" {
    need_pid_namespace
    local nsout="$BATS_TEST_TMPDIR/ns-out"
    # A worker whose descendants left its session, one that ignores SIGTERM, and a plain one.
    cat >"$BATS_TEST_TMPDIR/helpers" <<'SH'
#!/bin/sh
setsid sleep 1236 &
sleep 1237 &
: > "$FV_TEST_OUT/helpers.started"
wait
SH
    chmod +x "$BATS_TEST_TMPDIR/helpers"
    { printf '[forkvisor]\nlog = stderr\n\n'
      app_ini h:helpers "stubborn:@W@/ignore-term" shutdown=300 last:@W@/sleeper
      cat "$BATS_TEST_TMPDIR/t.ini"; } > "$BATS_TEST_TMPDIR/init.ini"
    fv_start_init init.ini "$nsout"
    retry 100 0.05 test -e "$nsout/helpers.started"
    [ "$(awk '/^NSpid:/ { print $3 }' "/proc/$FV_INIT/status")" = 1 ]
    # What `docker stop` does: SIGTERM to process 1.
    kill -TERM "$FV_INIT"
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    # Reverse order, the stubborn one after its 300 ms, and the tree stopped before the node left.
    [ "$(order_of Stopped)" = "app/last app/stubborn app/h app" ]
    run -0 grep -F "'app/stubborn' (pid" "$(fv_log)"
    run -0 grep -F "did not stop within 300 ms: sending SIGKILL" "$(fv_log)"
    run -0 grep -F "Tree 'app' stopped" "$(fv_log)"
    # Nothing of the namespace is left: not the setsid'd helper either.
    retry 100 0.05 ns_empty "$FV_NS"
}

@test "PID 1 with exit_status = significant: the container ends with its job's status, 128 + N when signal N killed it" {
    need_pid_namespace
    local nsout="$BATS_TEST_TMPDIR/ns-out" st
    for st in 5 kill; do
        rm -rf "$nsout"
        # The job ends when the test says so (a file), with the status asked.
        if [[ $st == kill ]]; then
            printf '#!/bin/sh\nwhile [ ! -e "$FV_TEST_OUT/go" ]; do sleep 0.02; done\nkill -TERM $$\n' >"$BATS_TEST_TMPDIR/job"
        else
            printf '#!/bin/sh\nwhile [ ! -e "$FV_TEST_OUT/go" ]; do sleep 0.02; done\nexit %s\n' "$st" >"$BATS_TEST_TMPDIR/job"
        fi
        chmod +x "$BATS_TEST_TMPDIR/job"
        printf '[forkvisor]\nlog = stderr\nexit_status = significant\n\n[supervisor:init]\nauto_shutdown = any_significant\nchildren = job, svc\n[worker:job]\nexec = %s\nrestart = temporary\nsignificant = yes\n[worker:svc]\nexec = %s\n' \
            "$BATS_TEST_TMPDIR/job" "$WORKERS/sleeper" >"$BATS_TEST_TMPDIR/init.ini"
        fv_start_init init.ini "$nsout"
        [ "$(awk '/^NSpid:/ { print $3 }' "/proc/$FV_INIT/status")" = 1 ]
        : >"$nsout/go"
        fv_wait_exit
        if [[ $st == kill ]]; then [ "$FV_STATUS" -eq 143 ]; else [ "$FV_STATUS" -eq "$st" ]; fi
        retry 100 0.05 ns_empty "$FV_NS"
    done
}
