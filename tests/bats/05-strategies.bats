# SPDX-License-Identifier: MIT
# Restart strategies (SPEC 4.2): one_for_one, one_for_all, rest_for_one, simple_one_for_one
# (instances, start-child, max_children, terminate-child, extra arguments).
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=20}" # a daemon that never answers fails the test, not the run

setup() { load test_helper; }
teardown() { fv_teardown; }

# ascending N...: true when every N is set and each is below the next (log line order).
ascending() {
    local prev= n
    for n; do
        [[ -n $n ]] || return 1
        [[ -z $prev || $prev -lt $n ]] || return 1
        prev=$n
    done
}
pid_dead() { ! pid_alive "$1"; }

LOG() { echo "$BATS_TEST_TMPDIR/forkvisor.log"; }

# line_of TEXT [N]: the line number of the Nth (default 1st) log line containing TEXT.
line_of() {
    grep -nF -- "$1" "$(LOG)" | sed -n "${2:-1}p" | cut -d: -f1
}

file_has() { [[ -s $1 ]]; }

# value FILE KEY: the value of KEY=... in an env-dump report.
value() { sed -n "s/^$2=//p" "$1"; }

@test "one_for_one: killing one leaves its siblings' pids unchanged" {
    conf t.ini <<'INI'
[supervisor:app]
strategy = one_for_one
children = a, b, c
[worker:a]
exec = @W@/sleeper
[worker:b]
exec = @W@/sleeper
[worker:c]
exec = @W@/sleeper
INI
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
    conf t.ini <<'INI'
[supervisor:app]
strategy = one_for_all
children = a, b, c, d
[worker:a]
exec = @W@/sleeper
[worker:b]
exec = @W@/sleeper
[worker:c]
exec = @W@/sleeper
[worker:d]
exec = @W@/sleeper
INI
    fv_start t.ini
    local a b c d
    a=$(pid_of app/a) b=$(pid_of app/b) c=$(pid_of app/c) d=$(pid_of app/d)
    kill -KILL "$b"
    retry 100 0.05 pid_changed app/a "$a"
    retry 100 0.05 pid_changed app/b "$b"
    retry 100 0.05 pid_changed app/c "$c"
    retry 100 0.05 pid_changed app/d "$d"
    run -0 fv wait app --timeout 5000
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
    conf t.ini <<'INI'
[supervisor:app]
strategy = rest_for_one
children = a, b, c, d
[worker:a]
exec = @W@/sleeper
[worker:b]
exec = @W@/sleeper
[worker:c]
exec = @W@/sleeper
[worker:d]
exec = @W@/sleeper
INI
    fv_start t.ini
    local a b c d
    a=$(pid_of app/a) b=$(pid_of app/b) c=$(pid_of app/c) d=$(pid_of app/d)
    kill -KILL "$b"
    retry 100 0.05 pid_changed app/b "$b"
    retry 100 0.05 pid_changed app/c "$c"
    retry 100 0.05 pid_changed app/d "$d"
    run -0 fv wait app --timeout 5000
    [ "$(pid_of app/a)" = "$a" ]
    run -1 grep -F "Stopped 'app/a'" "$(LOG)"
    local sd sc
    sd=$(line_of "Stopped 'app/d'") sc=$(line_of "Stopped 'app/c'")
    ascending "$sd" "$sc"
    fv_stop
    no_survivors
}

@test "one_for_all: temporary children stopped by a group restart are not started again" {
    conf t.ini <<'INI'
[supervisor:app]
strategy = one_for_all
children = a, t, b
[worker:a]
exec = @W@/sleeper
[worker:t]
exec = @W@/sleeper
restart = temporary
[worker:b]
exec = @W@/sleeper
INI
    fv_start t.ini
    local a t b
    a=$(pid_of app/a) t=$(pid_of app/t) b=$(pid_of app/b)
    kill -KILL "$a"
    retry 100 0.05 pid_changed app/a "$a"
    retry 100 0.05 pid_changed app/b "$b"
    run -0 fv info app/t
    assert_line "state: stopped"
    pid_dead "$t"
    run -0 grep -F "Stopped 'app/t'" "$(LOG)"
    [ "$(grep -cF "Started 'app/t'" "$(LOG)")" -eq 1 ]
    fv_stop
    no_survivors
}

@test "simple_one_for_one: instances start TEMPLATE.1..N with FORKVISOR_INSTANCE" {
    conf t.ini <<'INI'
[supervisor:app]
children = pool
[supervisor:pool]
strategy = simple_one_for_one
template = job
instances = 3
[worker:job]
exec = @W@/env-dump env.%i
INI
    fv_start t.ini
    run -0 fv status
    local i
    for i in 1 2 3; do
        assert_line --regexp "^app/pool/job\.$i +worker +running "
        retry 100 0.05 file_has "$BATS_TEST_TMPDIR/env.$i"
        [ "$(value "$BATS_TEST_TMPDIR/env.$i" env.FORKVISOR_INSTANCE)" = "$i" ]
        [ "$(value "$BATS_TEST_TMPDIR/env.$i" env.FORKVISOR_PATH)" = "app/pool/job.$i" ]
        [ "$(value "$BATS_TEST_TMPDIR/env.$i" env.FORKVISOR_NAME)" = "job.$i" ]
        [ "$(value "$BATS_TEST_TMPDIR/env.$i" pid)" = "$(pid_of "app/pool/job.$i")" ]
    done
    refute_line --partial "app/pool/job.4"
    fv_stop
    no_survivors
}

@test "simple_one_for_one: start-child prints the new path and the child runs" {
    conf t.ini <<'INI'
[supervisor:app]
children = pool
[supervisor:pool]
strategy = simple_one_for_one
template = job
instances = 2
[worker:job]
exec = @W@/env-dump env.%i
INI
    fv_start t.ini
    run -0 fv start-child app/pool
    assert_output "app/pool/job.3"
    [ "$(state_of app/pool/job.3)" = running ]
    retry 100 0.05 file_has "$BATS_TEST_TMPDIR/env.3"
    [ "$(value "$BATS_TEST_TMPDIR/env.3" env.FORKVISOR_INSTANCE)" = 3 ]
    [ "$(value "$BATS_TEST_TMPDIR/env.3" env.FORKVISOR_PATH)" = app/pool/job.3 ]
    [ "$(value "$BATS_TEST_TMPDIR/env.3" pid)" = "$(pid_of app/pool/job.3)" ]
    [ "$(cat "$FV_TEST_OUT/job.3.started")" = "$(pid_of app/pool/job.3)" ]
    run -0 fv start-child app/pool
    assert_output "app/pool/job.4"
    fv_stop
    no_survivors
}

@test "simple_one_for_one: start-child beyond max_children is refused" {
    conf t.ini <<'INI'
[supervisor:app]
children = pool
[supervisor:pool]
strategy = simple_one_for_one
template = job
instances = 1
max_children = 2
[worker:job]
exec = @W@/sleeper
INI
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
    conf t.ini <<'INI'
[supervisor:app]
children = a
[worker:a]
exec = @W@/sleeper
INI
    fv_start t.ini
    run -1 fv start-child app
    run -1 fv start-child app/a
    fv_stop
    no_survivors
}

@test "simple_one_for_one: terminate-child stops the child and forgets it" {
    conf t.ini <<'INI'
[supervisor:app]
children = pool
[supervisor:pool]
strategy = simple_one_for_one
template = job
instances = 3
[worker:job]
exec = @W@/sleeper
INI
    fv_start t.ini
    local p1 p2 p3
    p1=$(pid_of app/pool/job.1) p2=$(pid_of app/pool/job.2) p3=$(pid_of app/pool/job.3)
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
    conf t.ini <<'INI'
[supervisor:app]
children = pool
[supervisor:pool]
strategy = simple_one_for_one
template = job
instances = 3
[worker:job]
exec = @W@/sleeper
INI
    fv_start t.ini
    local p1 p2 p3
    p1=$(pid_of app/pool/job.1) p2=$(pid_of app/pool/job.2) p3=$(pid_of app/pool/job.3)
    kill -KILL "$p2"
    retry 100 0.05 pid_changed app/pool/job.2 "$p2"
    [ "$(pid_of app/pool/job.1)" = "$p1" ]
    [ "$(pid_of app/pool/job.3)" = "$p3" ]
    fv_stop
    no_survivors
}

@test "simple_one_for_one: a transient child that exits normally is forgotten" {
    conf t.ini <<'INI'
[supervisor:app]
children = pool
[supervisor:pool]
strategy = simple_one_for_one
template = job
[worker:job]
exec = @W@/exit-with 0 100
restart = transient
INI
    fv_start t.ini
    run -0 fv start-child app/pool
    assert_output "app/pool/job.1"
    retry 100 0.05 eval '! fv info app/pool/job.1'
    run -0 fv status
    refute_line --partial "app/pool/job.1"
    fv_stop
    no_survivors
}
