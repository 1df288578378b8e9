# SPDX-License-Identifier: MIT
# Restart strategies (SPEC 4.2): one_for_one, one_for_all, rest_for_one, simple_one_for_one
# (instances, start-child, max_children, terminate-child, extra arguments).
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=20}" # a daemon that never answers fails the test, not the run

setup() { load test_helper; }
teardown() { fv_teardown; }

# kill_b_under STRATEGY RESTARTED...: start app (STRATEGY) over four sleepers a, b, c, d, SIGKILL b,
# wait until each of RESTARTED (names among a b c d) runs under a new pid and app is up again.
# Sets a, b, c, d (the caller's) to the first pids.
kill_b_under() {
    local x
    sleepers_ini -s "$1" a b c d
    shift
    fv_start t.ini
    a=$(pid_of app/a) b=$(pid_of app/b) c=$(pid_of app/c) d=$(pid_of app/d)
    kill -KILL "$b"
    for x; do retry 100 0.05 pid_changed "app/$x" "${!x}"; done
    run -0 fv wait app --timeout 5000
}

# pool_start N EXEC: start app over a simple_one_for_one pool of N workers job.1..N running EXEC
# (@W@ for the workers' directory).
pool_start() {
    conf t.ini <<INI
[supervisor:app]
children = pool
[supervisor:pool]
strategy = simple_one_for_one
template = job
instances = $1
[worker:job]
exec = $2
INI
    fv_start t.ini
}

# job_reported I: the report of job.I (an env-dump to $BATS_TEST_TMPDIR/env.I) has come, from its
# running pid, with FORKVISOR_INSTANCE I and FORKVISOR_PATH app/pool/job.I.
job_reported() {
    local f=$BATS_TEST_TMPDIR/env.$1
    retry 100 0.05 file_has "$f"
    [ "$(value "$f" env.FORKVISOR_INSTANCE)" = "$1" ]
    [ "$(value "$f" env.FORKVISOR_PATH)" = "app/pool/job.$1" ]
    [ "$(value "$f" pid)" = "$(pid_of "app/pool/job.$1")" ]
}

# pool_of_three: start app over a simple_one_for_one pool of three sleepers job.1..3; sets p1, p2,
# p3 (the caller's) to their pids.
pool_of_three() {
    pool_start 3 @W@/sleeper
    p1=$(pid_of app/pool/job.1) p2=$(pid_of app/pool/job.2) p3=$(pid_of app/pool/job.3)
}

@test "one_for_one: killing one leaves its siblings' pids unchanged" {
    sleepers_ini -s one_for_one a b c
    fv_start t.ini
    local a b c
    a=$(pid_of app/a) b=$(pid_of app/b) c=$(pid_of app/c)
    kill -KILL "$b"
    retry 100 0.05 pid_changed app/b "$b"
    [ "$(pid_of app/a)" = "$a" ]
    [ "$(pid_of app/c)" = "$c" ]
    run -0 fv info app/a
    assert_line "restarts: 0"
    run -0 fv info app/b
    assert_line "restarts: 1"
    fv_stop
    no_survivors
}

@test "one_for_all: killing one restarts all, stopping the others in reverse start order" {
    local a b c d
    kill_b_under one_for_all a b c d
    # The old processes are gone.
    pid_dead "$a"
    pid_dead "$c"
    pid_dead "$d"
    # Stopped d, c, a (b was already dead), then started a, b, c, d again.
    local sd sc sa
    sd=$(line_of "Stopped 'app/d'") sc=$(line_of "Stopped 'app/c'") sa=$(line_of "Stopped 'app/a'")
    echo "stop lines: d=$sd c=$sc a=$sa" >&2
    ascending "$sd" "$sc" "$sa"
    local ra rb rc rd
    ra=$(line_of "Started 'app/a'" 2) rb=$(line_of "Started 'app/b'" 2)
    rc=$(line_of "Started 'app/c'" 2) rd=$(line_of "Started 'app/d'" 2)
    ascending "$sa" "$ra" "$rb" "$rc" "$rd"
    fv_stop
    no_survivors
}

@test "rest_for_one: the killed child and later ones restart, earlier ones keep their pid" {
    local a b c d
    kill_b_under rest_for_one b c d
    [ "$(pid_of app/a)" = "$a" ]
    run -1 grep -F "Stopped 'app/a'" "$(fv_log)"
    local sd sc
    sd=$(line_of "Stopped 'app/d'") sc=$(line_of "Stopped 'app/c'")
    ascending "$sd" "$sc"
    fv_stop
    no_survivors
}

@test "one_for_all: temporary children stopped by a group restart are not started again" {
    app_ini strategy=one_for_all a:@W@/sleeper t:@W@/sleeper temporary b:@W@/sleeper
    fv_start t.ini
    local a t b
    a=$(pid_of app/a) t=$(pid_of app/t) b=$(pid_of app/b)
    kill -KILL "$a"
    retry 100 0.05 pid_changed app/a "$a"
    retry 100 0.05 pid_changed app/b "$b"
    run -0 fv info app/t
    assert_line "state: stopped"
    pid_dead "$t"
    run -0 grep -F "Stopped 'app/t'" "$(fv_log)"
    [ "$(count_in_log "Started 'app/t'")" -eq 1 ]
    fv_stop
    no_survivors
}

@test "simple_one_for_one: instances start TEMPLATE.1..N with FORKVISOR_INSTANCE" {
    pool_start 3 "@W@/env-dump env.%i"
    run -0 fv status
    local i
    for i in 1 2 3; do
        assert_line --regexp "^app/pool/job\.$i +worker +running "
        job_reported "$i"
        [ "$(value "$BATS_TEST_TMPDIR/env.$i" env.FORKVISOR_NAME)" = "job.$i" ]
    done
    refute_line --partial "app/pool/job.4"
    fv_stop
    no_survivors
}

@test "simple_one_for_one: start-child prints the new path and the child runs" {
    pool_start 2 "@W@/env-dump env.%i"
    run -0 fv start-child app/pool
    assert_output "app/pool/job.3"
    [ "$(state_of app/pool/job.3)" = running ]
    job_reported 3
    [ "$(cat "$FV_TEST_OUT/job.3.started")" = "$(pid_of app/pool/job.3)" ]
    run -0 fv start-child app/pool
    assert_output "app/pool/job.4"
    fv_stop
    no_survivors
}

@test "simple_one_for_one: start-child beyond max_children is refused" {
    app_ini \
        pool:{ strategy=simple_one_for_one template=job instances=1 max_children=2 job:@W@/sleeper }
    fv_start t.ini
    run -0 fv start-child app/pool
    assert_output "app/pool/job.2"
    run -1 fv start-child app/pool
    assert_output --partial "max_children"
    run -0 fv status
    refute_line --partial "app/pool/job.3"
    [ "$(grep -c . "$FV_TEST_OUT/pids")" -eq 2 ]
    fv_stop
    no_survivors
}

@test "simple_one_for_one: start-child on another kind of supervisor is refused" {
    sleepers_ini a
    fv_start t.ini
    run -1 fv start-child app
    run -1 fv start-child app/a
    fv_stop
    no_survivors
}

@test "simple_one_for_one: terminate-child stops the child and forgets it" {
    local p1 p2 p3
    pool_of_three
    run -0 fv terminate-child app/pool/job.2
    run -0 fv status
    refute_line --partial "app/pool/job.2"
    assert_line --partial "app/pool/job.1"
    run -1 fv info app/pool/job.2
    retry 100 0.05 pid_dead "$p2"
    [ "$(pid_of app/pool/job.1)" = "$p1" ]
    [ "$(pid_of app/pool/job.3)" = "$p3" ]
    # A static child is not a dynamic one.
    run -1 fv terminate-child app/pool
    # Numbers are not reused.
    run -0 fv start-child app/pool
    assert_output "app/pool/job.4"
    fv_stop
    no_survivors
}

@test "simple_one_for_one: start-child arguments are appended to exec" {
    cat >"$BATS_TEST_TMPDIR/args" <<'SH'
#!/bin/sh
printf '%s\n' "$@" >"$FV_TEST_OUT/args.tmp.$$"
mv "$FV_TEST_OUT/args.tmp.$$" "$FV_TEST_OUT/args.$FORKVISOR_INSTANCE"
exec "$SLEEPER"
SH
    chmod +x "$BATS_TEST_TMPDIR/args"
    conf t.ini <<'INI'
[supervisor:app]
children = pool
[supervisor:pool]
strategy = simple_one_for_one
template = job
[worker:job]
exec = ./args fixed "%i"
environment = SLEEPER=@W@/sleeper
INI
    fv_start t.ini
    run -0 fv start-child app/pool one "two words"
    assert_output "app/pool/job.1"
    retry 100 0.05 file_has "$FV_TEST_OUT/args.1"
    run -0 cat "$FV_TEST_OUT/args.1"
    assert_output $'fixed\n1\none\ntwo words'
    run -0 fv start-child app/pool
    assert_output "app/pool/job.2"
    retry 100 0.05 file_has "$FV_TEST_OUT/args.2"
    run -0 cat "$FV_TEST_OUT/args.2"
    assert_output $'fixed\n2'
    fv_stop
    no_survivors
}

@test "simple_one_for_one: a crashed child is restarted alone under its name" {
    local p1 p2 p3
    pool_of_three
    kill -KILL "$p2"
    retry 100 0.05 pid_changed app/pool/job.2 "$p2"
    [ "$(pid_of app/pool/job.1)" = "$p1" ]
    [ "$(pid_of app/pool/job.3)" = "$p3" ]
    fv_stop
    no_survivors
}

@test "simple_one_for_one: a transient child that exits normally is forgotten" {
    app_ini \
        pool:{ strategy=simple_one_for_one template=job "job:@W@/exit-with 0 100" restart=transient }
    fv_start t.ini
    run -0 fv start-child app/pool
    assert_output "app/pool/job.1"
    retry 100 0.05 eval '! fv info app/pool/job.1'
    run -0 fv status
    refute_line --partial "app/pool/job.1"
    fv_stop
    no_survivors
}
