# SPDX-License-Identifier: MIT
# `forkvisor scale SUP N` (issue 13, point 11): a simple_one_for_one supervisor runs N instances,
# the highest numbers stopped first, the lowest free numbers started, the others untouched; a
# reload that changes `instances` does the same; a later scale wins over one under way.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=30}"

setup() { load test_helper; }
teardown() {
    local p
    for p in ${SCALES:-}; do kill "$p" 2>/dev/null || true; done
    fv_teardown
}

# pool_ini N [KEY=VALUE...] [EXEC]: t.ini with app over pool, a simple_one_for_one supervisor
# of N instances (max_children = 8) of job, a sleeper unless EXEC is given; the KEY=VALUEs
# are job's.
pool_ini() {
    local n=$1; shift
    local exec=@W@/sleeper keys=()
    while (($#)); do
        if [[ $1 == *=* ]]; then keys+=("$1"); else exec=$1; fi
        shift
    done
    app_ini pool:{ strategy=simple_one_for_one template=job instances="$n" max_children=8 \
        "job:$exec" "${keys[@]}" }
}

# instances: the pool's instances in status order, with their states ("job.1:running ...").
instances() {
    fv status app/pool | awk 'NR > 2 { sub("^app/pool/", "", $1); printf "%s%s:%s", s, $1, $3; s = " " }'
}
state_is() { [[ $(state_of "$1") == "$2" ]]; }
# exited_with PID STATUS: the background job PID exits (waited for) with STATUS.
exited_with() { local st=0; wait "$1" || st=$?; [ "$st" -eq "$2" ]; }

# scale_bg OUT N: `fv scale app/pool N` in the background, its output into
# $BATS_TEST_TMPDIR/OUT, its pid in $! (and killed by teardown).
scale_bg() {
    fv scale app/pool "$2" >"$BATS_TEST_TMPDIR/$1" 2>&1 &
    SCALES+=" $!"
}

@test "scale --help says what it does" {
    run -0 "$FORKVISOR" scale --help
    assert_output --partial "Usage: forkvisor scale SUP N"
    run -2 "$FORKVISOR" scale app/pool
}

@test "scale up: 2 -> 5 starts job.3..job.5, running when it returns; job.1 and job.2 keep their pids" {
    pool_ini 2
    fv_start t.ini
    local p1 p2
    p1=$(pid_of app/pool/job.1) p2=$(pid_of app/pool/job.2)
    run -0 fv scale app/pool 5
    assert_output ""
    [ "$(instances)" = "job.1:running job.2:running job.3:running job.4:running job.5:running" ]
    [ "$(pid_of app/pool/job.1)" = "$p1" ]
    [ "$(pid_of app/pool/job.2)" = "$p2" ]
    [ "$(grep -c . "$FV_TEST_OUT/pids")" -eq 5 ]
    grep -qF "Scaling 'app/pool' to 5 instances" "$(fv_log)"
    # The same count again changes nothing.
    run -0 fv scale app/pool 5
    [ "$(grep -c . "$FV_TEST_OUT/pids")" -eq 5 ]
    fv_stop
    no_survivors
}

@test "scale down: 5 -> 2 stops the highest numbers, gone when it returns; the others keep their pids" {
    pool_ini 5
    fv_start t.ini
    local i p1 p2 p3 p4 p5
    for i in 1 2 3 4 5; do printf -v "p$i" %s "$(pid_of "app/pool/job.$i")"; done
    run -0 fv scale app/pool 2
    [ "$(instances)" = "job.1:running job.2:running" ]
    # Reaped before the answer: nothing is left of them, no retry needed.
    pid_dead "$p3"
    pid_dead "$p4"
    pid_dead "$p5"
    [ "$(pid_of app/pool/job.1)" = "$p1" ]
    [ "$(pid_of app/pool/job.2)" = "$p2" ]
    run -1 fv info app/pool/job.3
    # Down to none, and up again from job.1.
    run -0 fv scale app/pool 0
    [ "$(instances)" = "" ]
    pid_dead "$p1"
    run -0 fv scale app/pool 1
    [ "$(instances)" = "job.1:running" ]
    fv_stop
    no_survivors
}

@test "scale reuses the lowest free numbers: after terminate-child job.1, scale to 3 starts job.1 again" {
    pool_ini 3
    fv_start t.ini
    local p2 p3
    p2=$(pid_of app/pool/job.2) p3=$(pid_of app/pool/job.3)
    run -0 fv terminate-child app/pool/job.1
    [ "$(instances)" = "job.2:running job.3:running" ]
    run -0 fv scale app/pool 3
    [ "$(instances)" = "job.1:running job.2:running job.3:running" ]
    [ "$(pid_of app/pool/job.2)" = "$p2" ]
    [ "$(pid_of app/pool/job.3)" = "$p3" ]
    # start-child takes a number never used before; it counts as an instance, and scale down
    # stops it first (the highest number).
    run -0 fv start-child app/pool
    assert_output app/pool/job.4
    run -0 fv scale app/pool 3
    [ "$(instances)" = "job.1:running job.2:running job.3:running" ]
    fv_stop
    no_survivors
}

@test "scale refuses: N not a number, not simple_one_for_one, above max_children (2); supervisor not running (1)" {
    pool_ini 2
    fv_start t.ini
    run -2 fv scale app/pool two
    assert_output --partial "not 'two'"
    run -2 fv scale app/pool -1
    run -2 fv scale app 3
    assert_output --partial "not a simple_one_for_one supervisor"
    run -2 fv scale app/pool/job.1 3
    run -2 fv scale app/pool 9
    assert_output --partial "max_children"
    run -1 fv scale app/nothing 3
    assert_output --partial "no such process"
    [ "$(instances)" = "job.1:running job.2:running" ]
    run -0 fv stop app/pool
    run -1 fv scale app/pool 3
    assert_output --partial "not running"
    [ "$(grep -c . "$FV_TEST_OUT/pids")" -eq 2 ]
    fv_stop
    no_survivors
}

@test "scale exits 1 when a new instance cannot be started, and forgets it" {
    pool_ini 1 /nonexistent/program
    sed -i 's/^instances = 1$/instances = 0/' "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    run -1 fv scale app/pool 2
    assert_output --partial "'app/pool/job.1' failed to start"
    assert_output --partial "/nonexistent/program"
    [ "$(instances)" = "" ]
    fv_stop
    no_survivors
}

@test "scale exits 1 when a new instance exits before it is ready" {
    pool_ini 0 ready=mailbox restart=temporary "@W@/exit-with 3"
    fv_start t.ini
    run -1 fv scale app/pool 1
    assert_output --partial "'app/pool/job.1' failed to start: exited before it was ready"
    fv_stop
    no_survivors
}

@test "scale with a bad template: the new instances fail to start, are forgotten, and the fleet stays up" {
    # Instances 3 and up crash at once; min_uptime makes that a failed start. With intensity 3,
    # counting those as restarts would take the healthy instances (and the node) down.
    cat >"$BATS_TEST_TMPDIR/bad-new.sh" <<SH
#!/bin/sh
[ "\$FORKVISOR_INSTANCE" -le 2 ] && exec "$WORKERS/sleeper"
exit 3
SH
    chmod +x "$BATS_TEST_TMPDIR/bad-new.sh"
    pool_ini 2 bad-new.sh min_uptime=400
    sed -i 's/^max_children = 8$/max_children = 8\nintensity = 3/' "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    local p1 p2 round
    p1=$(pid_of app/pool/job.1) p2=$(pid_of app/pool/job.2)
    for round in 1 2 3; do
        run -1 fv scale app/pool 6
        assert_output --partial "failed to start: exited within min_uptime 400 ms (exit status 3)"
        [ "$(instances)" = "job.1:running job.2:running" ]
    done
    [ "$(pid_of app/pool/job.1)" = "$p1" ] && [ "$(pid_of app/pool/job.2)" = "$p2" ]
    run -0 fv info app/pool
    assert_line "restarts: 0"
    assert_line "state: running"
    fv_stop
    no_survivors
}

@test "reload: instances 2 -> 4 -> 1 scales the running pool; kept instances keep their pids" {
    pool_ini 2
    fv_start t.ini
    local p1 p2 p3 p4
    p1=$(pid_of app/pool/job.1) p2=$(pid_of app/pool/job.2)
    sed -i 's/^instances = 2$/instances = 4/' "$BATS_TEST_TMPDIR/t.ini"
    run -0 fv reload
    # Answered once applied: the new instances run.
    [ "$(instances)" = "job.1:running job.2:running job.3:running job.4:running" ]
    [ "$(pid_of app/pool/job.1)" = "$p1" ]
    [ "$(pid_of app/pool/job.2)" = "$p2" ]
    grep -qF "Reloaded configuration: 3 unchanged, 1 changed, 2 added, 0 removed, 1 scaled" "$(fv_log)"
    p3=$(pid_of app/pool/job.3) p4=$(pid_of app/pool/job.4)
    sed -i 's/^instances = 4$/instances = 1/' "$BATS_TEST_TMPDIR/t.ini"
    run -0 fv reload
    [ "$(instances)" = "job.1:running" ]
    [ "$(pid_of app/pool/job.1)" = "$p1" ]
    pid_dead "$p2"
    pid_dead "$p3"
    pid_dead "$p4"
    grep -qF "Reloaded configuration: 2 unchanged, 1 changed, 0 added, 3 removed, 1 scaled" "$(fv_log)"
    # A reload that leaves instances as it was keeps a count set by scale.
    run -0 fv scale app/pool 3
    run -0 fv reload
    [ "$(instances)" = "job.1:running job.2:running job.3:running" ]
    fv_stop
    no_survivors
}

@test "reload: the forkvisor:reload event says how many supervisors it scaled" {
    pool_ini 1
    fv_start t.ini
    local ev=$BATS_TEST_TMPDIR/ev.txt
    "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" events >>"$ev" 2>&1 3>&- &
    SCALES+=" $!"
    # Listening once an operator restart shows up in the stream.
    retry 100 0.05 eval 'fv restart app/pool/job.1 && grep -q "\"path\": \"app/pool/job.1\"" "$ev"'
    sed -i 's/^instances = 1$/instances = 3/' "$BATS_TEST_TMPDIR/t.ini"
    run -0 fv reload
    retry 100 0.05 grep -q '"event": "reload"' "$ev"
    run -0 grep '"event": "reload"' "$ev"
    assert_output --partial '"unchanged": 2, "changed": 1, "added": 2, "removed": 0, "scaled": 1, "restarts": 0'
    fv_stop
    no_survivors
}

@test "concurrent scales: the later one wins, the earlier one exits 1 as superseded" {
    # Instances are ready once the gate file exists: a scale up waits for it.
    cat >"$BATS_TEST_TMPDIR/gated" <<'SH'
#!/bin/sh
echo $$ >>"$FV_TEST_OUT/pids"
while [ ! -e "$FV_TEST_OUT/gate" ]; do sleep 0.05; done
exec "$NOTIFY_AFTER" 0
SH
    chmod +x "$BATS_TEST_TMPDIR/gated"
    pool_ini 1 gated ready=notify ready_timeout=600000 environment=NOTIFY_AFTER=@W@/notify-after
    mkdir -p "$BATS_TEST_TMPDIR/out"
    touch "$BATS_TEST_TMPDIR/out/gate"
    fv_start t.ini
    rm "$FV_TEST_OUT/gate"
    local first second p3 p4
    scale_bg up 4
    first=$!
    retry 200 0.05 state_is app/pool/job.4 starting
    p3=$(pid_of app/pool/job.3) p4=$(pid_of app/pool/job.4)
    scale_bg down 2
    second=$!
    exited_with "$first" 1
    grep -qF "cannot scale 'app/pool' to 4: superseded by a later scale to 2" "$BATS_TEST_TMPDIR/up"
    retry 100 0.05 pid_dead "$p3"
    retry 100 0.05 pid_dead "$p4"
    touch "$FV_TEST_OUT/gate"
    exited_with "$second" 0
    [ "$(instances)" = "job.1:running job.2:running" ]
    fv_stop
    no_survivors
}

@test "a later scale keeps an instance still on its way out, under its number" {
    pool_ini 3 @W@/ignore-term shutdown=600000
    fv_start t.ini
    local first second p1 p2 p3 p3b
    p1=$(pid_of app/pool/job.1) p2=$(pid_of app/pool/job.2) p3=$(pid_of app/pool/job.3)
    # job.3 ignores SIGTERM: it stays stopping until the test kills it.
    scale_bg down 2
    first=$!
    retry 200 0.05 state_is app/pool/job.3 stopping
    scale_bg up 3
    second=$!
    exited_with "$first" 1
    grep -qF "superseded by a later scale to 3" "$BATS_TEST_TMPDIR/down"
    kill -KILL "$p3"
    exited_with "$second" 0
    p3b=$(pid_of app/pool/job.3)
    [[ -n $p3b && $p3b != "$p3" ]]
    [ "$(instances)" = "job.1:running job.2:running job.3:running" ]
    [ "$(pid_of app/pool/job.1)" = "$p1" ]
    [ "$(pid_of app/pool/job.2)" = "$p2" ]
    # Down to none, killing what ignores SIGTERM, so that the daemon stops at once.
    scale_bg none 0
    first=$!
    retry 200 0.05 state_is app/pool/job.1 stopping
    kill -KILL "$p1" "$p2" "$p3b"
    exited_with "$first" 0
    [ "$(instances)" = "" ]
    fv_stop
    no_survivors
}
