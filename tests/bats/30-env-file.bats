# SPDX-License-Identifier: MIT
# Environment files and expansion (issue 15, point 5): `env_file` in systemd's EnvironmentFile
# format, read at each spawn, and ${NAME} in exec and environment from the node's environment,
# as the env-dump worker reports them; `check` names what is wrong as FILE:LINE.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=30}"

setup() { load test_helper; }
teardown() { fv_teardown; }

# dump PATH FILE: wait for the report of the worker at PATH, check it is from the running pid.
dump() {
    retry 200 0.05 file_has "$2"
    [ "$(value "$2" pid)" = "$(pid_of "$1")" ]
}
reason_of() { fv info "$1" | sed -n 's/^reason: //p'; }
# put FILE TEXT: FILE holds TEXT at once (renamed into place): a worker restarting meanwhile
# reads the old file or the new one, never a part of it.
put() { printf '%b' "$2" > "$1.tmp" && mv "$1.tmp" "$1"; }
# env_is FILE NAME=VALUE...: the report FILE has each variable NAME with that VALUE.
env_is() {
    local f=$1 kv; shift
    for kv; do
        [ "$(value "$f" "env.${kv%%=*}")" = "${kv#*=}" ] || { echo "env.${kv%%=*} is not '${kv#*=}'" >&2; return 1; }
    done
}

@test "env_file: variables from two files in order, comments and quoting, a missing optional file, environment last" {
    conf a.env <<'EOF'
# a comment, and another
; kind of comment
A=from-a
B=from-a

export C = two  words   
D="double \"quoted\" \$x \\ and
a second line"
E='single $x \n'
F=con\
tinued
EOF
    conf b.env <<'EOF'
B=from-b
G=from-b
EOF
    conf t.ini <<'EOF'
[supervisor:app]
children = w
[worker:w]
exec = @W@/env-dump @T@/w.env
env_file = a.env, -missing.env,
    @T@/b.env
environment = G=from-environment
EOF
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    local f=$BATS_TEST_TMPDIR/w.env
    dump app/w "$f"
    env_is "$f" A=from-a B=from-b 'C=two  words' 'D=double "quoted" $x \ and\na second line' \
        'E=single $x \n' F=continued G=from-environment FORKVISOR_PATH=app/w
    fv_stop
    no_survivors
}

@test "env_file: a changed file applies at the next restart, without a reload" {
    printf 'V=1\n' > "$BATS_TEST_TMPDIR/v.env"
    app_ini "w:@W@/env-dump w.env" env_file=v.env
    fv_start t.ini
    local f=$BATS_TEST_TMPDIR/w.env old
    dump app/w "$f"
    [ "$(value "$f" env.V)" = 1 ]
    old=$(pid_of app/w)
    printf 'V=2\nW=new\n' > "$BATS_TEST_TMPDIR/v.env"
    rm "$f"
    kill -KILL "$old"
    retry 200 0.05 pid_changed app/w "$old"
    dump app/w "$f"
    env_is "$f" V=2 W=new
    fv_stop
    no_survivors
}

@test "env_file: a required file gone or broken at a restart fails the start, naming the file, until it is mended" {
    local env=$BATS_TEST_TMPDIR/v.env f=$BATS_TEST_TMPDIR/w.env old
    printf 'V=1\n' > "$env"
    app_ini intensity=1000 "w:@W@/env-dump w.env" env_file=v.env restart_delay=50
    fv_start t.ini
    dump app/w "$f"
    old=$(pid_of app/w)

    rm "$env"
    kill -KILL "$old"
    retry 200 0.05 eval "[[ \$(reason_of app/w) == \"cannot read env_file '$env': No such file or directory\" ]]"
    retry 200 0.05 eval "grep -qF \"'app/w' failed to start: cannot read env_file '$env'\" \"\$(fv_log)\""

    put "$env" 'V=2\nnot an assignment\n'
    retry 200 0.05 eval "[[ \$(reason_of app/w) == \"env_file $env:2: expected KEY=VALUE, found no '='\" ]]"

    rm "$f"
    put "$env" 'V=3\n'
    retry 200 0.05 pid_changed app/w "$old"
    dump app/w "$f"
    [ "$(value "$f" env.V)" = 3 ]
    fv_stop
    no_survivors
}

@test "expansion: \${NAME} in exec and environment from the node's environment, \$\$ for a dollar, % of a value kept" {
    # A directory with %n in its name: were the value's % left to exec's own expansion, the
    # worker would write into another directory.
    mkdir -p "$BATS_TEST_TMPDIR/out%n"
    conf t.ini <<'EOF'
[supervisor:app]
children = w
[worker:w]
exec = @W@/env-dump ${FV_ENVT_DIR}/w.env
environment = V=${FV_ENVT_VALUE} D=$$HOME M=x$${y}z H=${HOME} 'S=$ x$1'
EOF
    export FV_ENVT_DIR=$BATS_TEST_TMPDIR/out%n FV_ENVT_VALUE='two words, 100%'
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    local f=$BATS_TEST_TMPDIR/out%n/w.env
    dump app/w "$f"
    env_is "$f" 'V=two words, 100%' 'D=$HOME' 'M=x${y}z' "H=$HOME" 'S=$ x$1'
    fv_stop
    no_survivors
}

@test "check: an undefined variable, a missing required env_file and a broken one, each as FILE:LINE; run refuses the same" {
    conf bad.env <<'EOF'
A=1
B="never closed
EOF
    conf t.ini <<'EOF'
[supervisor:app]
children = w
[worker:w]
exec = @W@/sleeper ${FV_ENVT_UNDEFINED}
environment = X=${1}
env_file = -optional.env, required.env,
    bad.env
EOF
    unset FV_ENVT_UNDEFINED
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    assert_line --partial "t.ini:4: undefined variable 'FV_ENVT_UNDEFINED' in exec"
    assert_line --partial "t.ini:5: bad value for environment: '\${1}' is not \${NAME}"
    assert_line --partial "t.ini:6: cannot read env_file '$BATS_TEST_TMPDIR/required.env': No such file or directory"
    assert_line "$BATS_TEST_TMPDIR/bad.env:2: unterminated double quote (env_file of [worker:w] at $BATS_TEST_TMPDIR/t.ini:7)"
    refute_line --partial optional.env
    run -2 "$FORKVISOR" run "$BATS_TEST_TMPDIR/t.ini" --control "$BATS_TEST_TMPDIR/c.sock"
    assert_line --partial "t.ini:4: undefined variable 'FV_ENVT_UNDEFINED' in exec"
}

@test "examples: env-file.ini's greeter prints what app.env, environment and \${HOME} give it" {
    local conf; conf=$(cd "$BATS_TEST_DIRNAME/../../conf" && pwd)
    [[ ! -e $conf/local.env ]] || skip "conf/local.env exists"
    fv_start "$conf/env-file.ini"
    retry 200 0.05 grep -qF "hello, world from $HOME: production, free, a long value continued on the next line" "$(fv_log)"
    fv_stop
    no_survivors
}
