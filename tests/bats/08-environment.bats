# SPDX-License-Identifier: MIT
# A child's environment (SPEC 5 and the per-worker keys of 3.3), as reported by the env-dump
# worker: signals, descriptors, variables, session, parent-death signal, directory, umask, nice,
# rlimits, credentials, and where stdin/stdout/stderr go.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=20}" # a daemon that never answers fails the test, not the run

setup() { load test_helper; }
# (A teardown fails by its last command's status: keep fv_teardown's.)
teardown() {
    local rc=0
    fv_teardown || rc=$?
    if [[ -n ${USER_DIR:-} ]]; then rm -rf "$USER_DIR"; fi
    return "$rc"
}

# dump PATH FILE: wait for the report of the worker at PATH, check it is from the running pid.
dump() {
    retry 100 0.05 file_has "$2"
    [ "$(value "$2" pid)" = "$(pid_of "$1")" ]
}

@test "signal mask empty, no ignored signals, pdeathsig SIGKILL, own session and group" {
    app_ini "e:@W@/env-dump e.env"
    # The daemon inherits ignored signals (a background job also ignores INT and QUIT).
    trap '' USR1 USR2 PIPE
    fv_start t.ini
    trap - USR1 USR2 PIPE
    grep -q '^SigIgn:.*[1-9a-f]' "/proc/$FV_PID/status"
    local f=$BATS_TEST_TMPDIR/e.env pid
    dump app/e "$f"
    pid=$(value "$f" pid)
    [ "$(value "$f" sigmask)" = none ]
    [ "$(value "$f" sigign)" = none ]
    [ "$(value "$f" handled)" = none ]
    [ "$(value "$f" pdeathsig)" = 9 ]
    [ "$(value "$f" sid)" = "$pid" ]
    [ "$(value "$f" pgid)" = "$pid" ]
    [ "$(value "$f" ppid)" = "$FV_PID" ]
    fv_stop
    no_survivors
}

@test "only fds 0, 1, 2, the mailbox on 3 and the registry on 4 are open, whatever the daemon holds" {
    app_ini "logged:@W@/env-dump logged.env" "quiet:@W@/env-dump quiet.env" stdout=null stderr=null
    # Descriptors the daemon inherits without close-on-exec.
    exec 7</dev/null 9>"$BATS_TEST_TMPDIR/held"
    fv_start t.ini
    exec 7<&- 9>&-
    [ -e "/proc/$FV_PID/fd/7" ]
    [ -e "/proc/$FV_PID/fd/9" ]
    dump app/logged "$BATS_TEST_TMPDIR/logged.env"
    dump app/quiet "$BATS_TEST_TMPDIR/quiet.env"
    [ "$(value "$BATS_TEST_TMPDIR/logged.env" fds)" = 0,1,2,3,4 ]
    [ "$(value "$BATS_TEST_TMPDIR/quiet.env" fds)" = 0,1,2,3,4 ]
    [ "$(value "$BATS_TEST_TMPDIR/logged.env" env.FORKVISOR_MAILBOX)" = 3 ]
    [ "$(value "$BATS_TEST_TMPDIR/logged.env" env.FORKVISOR_REGISTRY)" = 4 ]
    fv_stop
    no_survivors
}

@test "FORKVISOR_PATH, FORKVISOR_NAME, FORKVISOR_CONTROL and FORKVISOR_INSTANCE" {
    app_ini \
        grp:{ "e:@W@/env-dump e.env" "r:@W@/env-dump r.env" register=custom } \
        pool:{ strategy=simple_one_for_one template=job instances=2 "job:@W@/env-dump job.%i.env" }
    # What the daemon itself was given must not reach the children.
    FORKVISOR_PATH=bogus FORKVISOR_INSTANCE=99 FORKVISOR_NAME=bogus fv_start t.ini
    local e=$BATS_TEST_TMPDIR/e.env r=$BATS_TEST_TMPDIR/r.env j=$BATS_TEST_TMPDIR/job.2.env
    dump app/grp/e "$e"
    dump app/grp/r "$r"
    dump app/pool/job.2 "$j"
    [ "$(value "$e" env.FORKVISOR_PATH)" = app/grp/e ]
    [ "$(value "$e" env.FORKVISOR_NAME)" = e ]
    [ "$(value "$e" env.FORKVISOR_CONTROL)" = "$FV_RUNTIME_DIR/control.sock" ]
    run -1 value "$e" env.FORKVISOR_INSTANCE
    [ "$(value "$r" env.FORKVISOR_NAME)" = custom ]
    [ "$(value "$r" env.FORKVISOR_PATH)" = app/grp/r ]
    [ "$(value "$j" env.FORKVISOR_PATH)" = app/pool/job.2 ]
    [ "$(value "$j" env.FORKVISOR_NAME)" = job.2 ]
    [ "$(value "$j" env.FORKVISOR_INSTANCE)" = 2 ]
    [ "$(value "$j" env.FORKVISOR_CONTROL)" = "$FV_RUNTIME_DIR/control.sock" ]
    [ "$(grep -c '^env.FORKVISOR_PATH=' "$j")" -eq 1 ]
    fv_stop
    no_survivors
}

@test "NOTIFY_SOCKET only with ready = notify; the daemon's own sd variables are scrubbed" {
    cat >"$BATS_TEST_TMPDIR/ns" <<'SH'
#!/bin/sh
printf '%s\n' "${NOTIFY_SOCKET-unset}" "${LISTEN_FDS-unset}" >"$FV_TEST_OUT/ns.tmp"
mv "$FV_TEST_OUT/ns.tmp" "$FV_TEST_OUT/ns"
exec "$WORKERS/notify-after" 0
SH
    chmod +x "$BATS_TEST_TMPDIR/ns"
    conf t.ini <<'INI'
[supervisor:app]
children = plain, n
[worker:plain]
exec = @W@/env-dump plain.env
[worker:n]
exec = ./ns
ready = notify
ready_timeout = 5000
environment = WORKERS=@W@
INI
    NOTIFY_SOCKET=/nonexistent LISTEN_FDS=3 LISTEN_PID=1 WATCHDOG_USEC=600000000 fv_start t.ini
    local p=$BATS_TEST_TMPDIR/plain.env
    dump app/plain "$p"
    run -1 grep -E '^env\.(NOTIFY_SOCKET|LISTEN_FDS|LISTEN_PID|WATCHDOG_USEC)=' "$p"
    [ "$(state_of app/n)" = running ]
    run -0 cat "$FV_TEST_OUT/ns"
    refute_line --index 0 unset
    refute_line --index 0 /nonexistent
    assert_line --index 1 unset
    [ -S "${lines[0]}" ]
    fv_stop
    no_survivors
}

@test "environment = pairs are added to the inherited environment" {
    conf t.ini <<'INI'
[supervisor:app]
children = e
[worker:e]
exec = @W@/env-dump e.env
environment = FOO=bar, EMPTY= SPACED="a b",
    LAST=z
INI
    FOO=old INHERITED=yes fv_start t.ini
    local f=$BATS_TEST_TMPDIR/e.env
    dump app/e "$f"
    [ "$(value "$f" env.FOO)" = bar ]
    [ "$(grep -c '^env.FOO=' "$f")" -eq 1 ]
    [ "$(value "$f" env.SPACED)" = "a b" ]
    [ "$(value "$f" env.LAST)" = z ]
    [ "$(value "$f" env.INHERITED)" = yes ]
    run -0 value "$f" env.EMPTY
    assert_output ""
    fv_stop
    no_survivors
}

@test "directory: the config file's directory by default, else as configured" {
    mkdir -p "$BATS_TEST_TMPDIR/cfg/wd" "$BATS_TEST_TMPDIR/abs"
    local out=$BATS_TEST_TMPDIR
    conf cfg/t.ini <<INI
[supervisor:app]
children = d, rel, abs
[worker:d]
exec = $WORKERS/env-dump $out/d.env
[worker:rel]
exec = $WORKERS/env-dump $out/rel.env
directory = wd
[worker:abs]
exec = $WORKERS/env-dump $out/abs.env
directory = $out/abs
INI
    cd /
    fv_start cfg/t.ini
    dump app/d "$out/d.env"
    dump app/rel "$out/rel.env"
    dump app/abs "$out/abs.env"
    [ "$(value "$out/d.env" cwd)" = "$(realpath "$out/cfg")" ]
    [ "$(value "$out/rel.env" cwd)" = "$(realpath "$out/cfg/wd")" ]
    [ "$(value "$out/abs.env" cwd)" = "$(realpath "$out/abs")" ]
    fv_stop
    no_survivors
}

@test "umask and nice" {
    app_ini "set:@W@/env-dump set.env" umask=0027 nice=7 "dflt:@W@/env-dump dflt.env"
    umask 0022
    fv_start t.ini
    dump app/set "$BATS_TEST_TMPDIR/set.env"
    dump app/dflt "$BATS_TEST_TMPDIR/dflt.env"
    [ "$(value "$BATS_TEST_TMPDIR/set.env" umask)" = 0027 ]
    [ "$(value "$BATS_TEST_TMPDIR/set.env" nice)" = 7 ]
    [ "$(value "$BATS_TEST_TMPDIR/dflt.env" umask)" = 0022 ]
    [ "$(value "$BATS_TEST_TMPDIR/dflt.env" nice)" = "$(($(cut -d' ' -f19 /proc/$FV_PID/stat)))" ]
    fv_stop
    no_survivors
}

@test "limit_nofile and limit_core" {
    app_ini \
        "e:@W@/env-dump e.env" limit_nofile=64:128 limit_core=1M:2M \
        "one:@W@/env-dump one.env" limit_nofile=100 limit_core=0
    fv_start t.ini
    dump app/e "$BATS_TEST_TMPDIR/e.env"
    dump app/one "$BATS_TEST_TMPDIR/one.env"
    [ "$(value "$BATS_TEST_TMPDIR/e.env" rlimit_nofile)" = 64:128 ]
    [ "$(value "$BATS_TEST_TMPDIR/e.env" rlimit_core)" = 1048576:2097152 ]
    [ "$(value "$BATS_TEST_TMPDIR/one.env" rlimit_nofile)" = 100:100 ]
    [ "$(value "$BATS_TEST_TMPDIR/one.env" rlimit_core)" = 0:0 ]
    fv_stop
    no_survivors
}

@test "user = nobody: uid, gid and supplementary groups (root only)" {
    [[ $EUID -eq 0 ]] || skip "needs root"
    getent passwd nobody >/dev/null || skip "no user nobody"
    # The test's own directory is private: work where nobody can write.
    USER_DIR=$(mktemp -d /tmp/fv-user.XXXXXX)
    chmod 0755 "$USER_DIR"
    mkdir -m 1777 "$USER_DIR/out"
    conf t.ini <<INI
[supervisor:app]
children = u, ug
[worker:u]
exec = $WORKERS/env-dump $USER_DIR/out/u.env
user = nobody
directory = /
environment = FV_TEST_OUT=$USER_DIR/out
[worker:ug]
exec = $WORKERS/env-dump $USER_DIR/out/ug.env
user = nobody
group = daemon
directory = /
environment = FV_TEST_OUT=$USER_DIR/out
INI
    fv_start t.ini
    local u=$USER_DIR/out/u.env ug=$USER_DIR/out/ug.env
    dump app/u "$u"
    dump app/ug "$ug"
    [ "$(value "$u" uid)" = "$(id -u nobody)" ]
    [ "$(value "$u" gid)" = "$(id -g nobody)" ]
    [ "$(value "$u" groups)" = "$(id -G nobody | tr ' ' '\n' | sort -n | paste -sd,)" ]
    [ "$(value "$ug" uid)" = "$(id -u nobody)" ]
    [ "$(value "$ug" gid)" = "$(getent group daemon | cut -d: -f3)" ]
    # Not root's groups.
    [[ ,$(value "$u" groups), != *,0,* ]]
    fv_stop
    cat "$USER_DIR/out/pids" >>"$FV_TEST_OUT/pids"
    no_survivors
}

@test "stdout = file:PATH appends, across restarts" {
    cat >"$BATS_TEST_TMPDIR/talk" <<'SH'
#!/bin/sh
echo "out $$"
echo "err $$" >&2
exec "$WORKERS/sleeper"
SH
    chmod +x "$BATS_TEST_TMPDIR/talk"
    conf t.ini <<'INI'
[supervisor:app]
children = t
[worker:t]
exec = ./talk
stdout = file:talk.out
stderr = file:talk.out
environment = WORKERS=@W@
INI
    echo "before" >"$BATS_TEST_TMPDIR/talk.out"
    fv_start t.ini
    local p1; p1=$(pid_of app/t)
    retry 100 0.05 grep -q "^err $p1\$" "$BATS_TEST_TMPDIR/talk.out"
    kill -KILL "$p1"
    retry 100 0.05 pid_changed app/t "$p1"
    local p2; p2=$(pid_of app/t)
    retry 100 0.05 grep -q "^err $p2\$" "$BATS_TEST_TMPDIR/talk.out"
    run -0 cat "$BATS_TEST_TMPDIR/talk.out"
    assert_line --index 0 before
    assert_line "out $p1"
    assert_line "out $p2"
    [ "${#lines[@]}" -eq 5 ]
    fv_stop
    no_survivors
}

@test "stdout = log: each line goes to the daemon's log, tagged with the path" {
    cat >"$BATS_TEST_TMPDIR/talk" <<'SH'
#!/bin/sh
echo "hello from stdout"
echo "hello from stderr" >&2
exec "$WORKERS/sleeper"
SH
    chmod +x "$BATS_TEST_TMPDIR/talk"
    conf t.ini <<'INI'
[supervisor:app]
children = grp
[supervisor:grp]
children = t
[worker:t]
exec = ./talk
environment = WORKERS=@W@
INI
    fv_start t.ini
    retry 100 0.05 grep -q "app/grp/t: hello from stdout" "$(fv_log)"
    retry 100 0.05 grep -q "app/grp/t: hello from stderr" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "stdin = null is /dev/null, stdin = inherit is the daemon's; stdout = null and inherit" {
    cat >"$BATS_TEST_TMPDIR/fds" <<'SH'
#!/bin/sh
r=$(for fd in 0 1 2; do readlink "/proc/$$/fd/$fd"; done)
printf '%s\n' "$r" >"$FV_TEST_OUT/$FORKVISOR_NAME.tmp"
mv "$FV_TEST_OUT/$FORKVISOR_NAME.tmp" "$FV_TEST_OUT/$FORKVISOR_NAME.fds"
exec "$WORKERS/sleeper"
SH
    chmod +x "$BATS_TEST_TMPDIR/fds"
    conf t.ini <<'INI'
[supervisor:app]
children = dflt, nul, inh
[worker:dflt]
exec = ./fds
environment = WORKERS=@W@
[worker:nul]
exec = ./fds
stdin = null
stdout = null
stderr = null
environment = WORKERS=@W@
[worker:inh]
exec = ./fds
stdin = inherit
stdout = inherit
stderr = inherit
environment = WORKERS=@W@
INI
    echo input >"$BATS_TEST_TMPDIR/input"
    FV_STDIN=$BATS_TEST_TMPDIR/input fv_start t.ini
    retry 100 0.05 file_has "$FV_TEST_OUT/dflt.fds"
    retry 100 0.05 file_has "$FV_TEST_OUT/nul.fds"
    retry 100 0.05 file_has "$FV_TEST_OUT/inh.fds"
    run -0 cat "$FV_TEST_OUT/dflt.fds"
    assert_line --index 0 /dev/null
    assert_line --index 1 --regexp '^pipe:'
    assert_line --index 2 --regexp '^pipe:'
    run -0 cat "$FV_TEST_OUT/nul.fds"
    assert_output $'/dev/null\n/dev/null\n/dev/null'
    run -0 cat "$FV_TEST_OUT/inh.fds"
    assert_line --index 0 "$(realpath "$BATS_TEST_TMPDIR/input")"
    assert_line --index 1 "$(realpath "$(fv_log)")"
    assert_line --index 2 "$(realpath "$(fv_log)")"
    fv_stop
    no_survivors
}
