# SPDX-License-Identifier: MIT
# One-shots and ordering (issue 15, point 4): `ready = exit` makes a child ready when it has
# exited 0, so the next child in start order starts after it (proved by a file the one-shot
# writes, not by time); a failed one-shot is a failed start; a done one-shot is `exited`, not
# restarted, and runs again on start, restart, a group restart or a reload that changes it.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=30}"

setup() { load test_helper; }
teardown() { fv_teardown; }

# setup_script: a one-shot that counts its runs in runs.txt and then, as its last act, writes
# setup.txt (a migration's result), and exits with $SETUP_STATUS (default 0). It takes a moment
# first, as a migration does, so that a service started too early would find no file.
setup_script() {
    test_script setup <<'EOF'
echo run >>@T@/runs.txt
sleep 0.2
printf 'migrated %s\n' "$(wc -l <@T@/runs.txt)" >@T@/setup.txt.tmp
mv @T@/setup.txt.tmp @T@/setup.txt
exit "${SETUP_STATUS:-0}"
EOF
}

# service_script: a service that reports what setup.txt said when it started, then runs.
service_script() {
    test_script svc <<'EOF'
cat @T@/setup.txt >@T@/seen.txt 2>/dev/null || echo none >@T@/seen.txt
exec sleep 1000
EOF
}

runs() { wc -l <"$BATS_TEST_TMPDIR/runs.txt"; }
seen() { cat "$BATS_TEST_TMPDIR/seen.txt"; }
reason_of() { fv info "$1" | sed -n 's/^reason: //p'; }
# status_row PATH: the words of PATH's row in `status`.
status_row() { fv status "$1" | awk -v p="$1" '$1 == p'; }

@test "ready = exit: the next child starts only once the one-shot has exited 0, which stays exited" {
    setup_script
    service_script
    app_ini setup:setup ready=exit svc:svc
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    retry 200 0.05 file_has "$BATS_TEST_TMPDIR/seen.txt"
    [ "$(seen)" = "migrated 1" ]
    [ "$(state_of app/setup)" = exited ]
    [ "$(state_of app/svc)" = running ]
    # Shown as done, not as a failure: state exited, no pid, its exit status 0, no restart.
    read -r path kind state pid restarts up last <<<"$(status_row app/setup)"
    [ "$state" = exited ] && [ "$pid" = - ] && [ "$restarts" = 0 ]
    fv status app/setup | grep -q 'exited 0\|status 0'
    fv info app/setup | grep -q '^exit reason: normal'
    # The default restart (permanent) does not run it again: the tree is up, and it ran once.
    run -0 fv wait app/setup --state exited --timeout 5000
    [ "$(runs)" = 1 ]
    fv_stop
    no_survivors
}

@test "ready = exit: a one-shot that exits non-zero fails the start (start_failed) and what followed never starts" {
    setup_script
    service_script
    app_ini setup:setup ready=exit environment=SETUP_STATUS=3 svc:svc
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" = 1 ]
    grep -q "'app/setup' failed to start: the one-shot failed (exit status 3)" "$(fv_log)"
    grep -q "'app/setup' (pid [0-9]*) exited with status 3 (start_failed)" "$(fv_log)"
    [ ! -e "$BATS_TEST_TMPDIR/seen.txt" ]
    no_survivors
}

@test "ready = exit: ready_timeout applies to a one-shot that does not end" {
    app_ini setup:@W@/sleeper ready=exit ready_timeout=300 svc:@W@/sleeper
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" = 1 ]
    grep -q "'app/setup' failed to start: not ready within 300 ms" "$(fv_log)"
    no_survivors
}

@test "ready = exit: restart and start run a done one-shot again; stop leaves it down" {
    setup_script
    service_script
    app_ini setup:setup ready=exit svc:svc
    fv_start t.ini
    [ "$(runs)" = 1 ]
    run -0 fv restart app/setup
    [ "$(runs)" = 2 ]
    [ "$(state_of app/setup)" = exited ]
    run -0 fv start app/setup
    [ "$(runs)" = 3 ]
    [ "$(state_of app/setup)" = exited ]
    run -0 fv stop app/setup
    [ "$(state_of app/setup)" = exited ]
    [ "$(runs)" = 3 ]
    fv_stop
    no_survivors
}

@test "ready = exit: a group restart (one_for_all) runs the one-shot again before the service" {
    setup_script
    service_script
    app_ini strategy=one_for_all intensity=5 setup:setup ready=exit svc:svc
    fv_start t.ini
    [ "$(seen)" = "migrated 1" ]
    local old; old=$(pid_of app/svc)
    rm "$BATS_TEST_TMPDIR/seen.txt"
    kill -KILL "$old"
    retry 200 0.05 pid_changed app/svc "$old"
    retry 200 0.05 file_has "$BATS_TEST_TMPDIR/seen.txt"
    [ "$(seen)" = "migrated 2" ]
    [ "$(state_of app/setup)" = exited ]
    fv_stop
    no_survivors
}

@test "ready = exit: a reload that changes the one-shot runs it again; an unchanged one is left alone" {
    setup_script
    service_script
    app_ini setup:setup ready=exit svc:svc
    fv_start t.ini
    run -0 fv reload
    [ "$(runs)" = 1 ]
    app_ini setup:setup ready=exit environment=X=1 svc:svc
    run -0 fv reload
    [ "$(runs)" = 2 ]
    [ "$(state_of app/setup)" = exited ]
    fv_stop
    no_survivors
}

@test "check: min_uptime does not apply to ready = exit" {
    app_ini setup:@W@/sleeper ready=exit min_uptime=100
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    assert_output --partial "t.ini:6: min_uptime does not apply to ready = exit"
}

# hook_scripts: pre (counts its runs in pre.txt, exits $PRE_STATUS), svc (reports how many
# pre_start runs it found when it started, in seen.txt, then runs) and post (appends what it sees
# of the worker's environment to post.txt, exits $POST_STATUS).
hook_scripts() {
    test_script pre <<'EOF2'
echo "pre $FORKVISOR_PATH" >>@T@/pre.txt
exit "${PRE_STATUS:-0}"
EOF2
    test_script svc <<'EOF2'
echo "saw $(wc -l <@T@/pre.txt)" >>@T@/seen.txt
exec sleep 1000
EOF2
    test_script post <<'EOF2'
echo "post $APP_VAR $FORKVISOR_PATH $(pwd)" >>@T@/post.txt
exit "${POST_STATUS:-0}"
EOF2
}
# crash_and_restart PATH: SIGKILL the worker at PATH, wait until its successor runs.
crash_and_restart() {
    local old; old=$(pid_of "$1")
    kill -KILL "$old"
    retry 200 0.05 pid_changed "$1" "$old"
}
lines() { if [[ -e $1 ]]; then wc -l <"$1"; else echo 0; fi; }
lines_are() { [ "$(lines "$BATS_TEST_TMPDIR/$1")" = "$2" ]; }

@test "pre_start runs before each incarnation, in the worker's environment" {
    hook_scripts
    app_ini "svc:svc" "pre_start=$BATS_TEST_TMPDIR/pre"
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    retry 200 0.05 lines_are seen.txt 1
    [ "$(cat "$BATS_TEST_TMPDIR/seen.txt")" = "saw 1" ]
    [ "$(cat "$BATS_TEST_TMPDIR/pre.txt")" = "pre app/svc" ]
    local old; old=$(pid_of app/svc)
    kill -KILL "$old"
    retry 200 0.05 pid_changed app/svc "$old"
    retry 200 0.05 lines_are seen.txt 2
    [ "$(sed -n 2p "$BATS_TEST_TMPDIR/seen.txt")" = "saw 2" ]
    run -0 fv restart app/svc
    [ "$(lines "$BATS_TEST_TMPDIR/pre.txt")" = 3 ]
    grep -q "Running pre_start of 'app/svc' (pid [0-9]*)" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "pre_start: a non-zero exit is a failed start that names the command and its status" {
    hook_scripts
    app_ini "svc:svc" "pre_start=$BATS_TEST_TMPDIR/pre --flag" environment=PRE_STATUS=4
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" = 1 ]
    grep -q "'app/svc' failed to start: pre_start '$BATS_TEST_TMPDIR/pre --flag' failed (exit status 4)" "$(fv_log)"
    [ ! -e "$BATS_TEST_TMPDIR/seen.txt" ]
    no_survivors
}

@test "pre_start: a failure on a later start fails start PATH with its reason" {
    hook_scripts
    app_ini "svc:svc" "pre_start=$BATS_TEST_TMPDIR/pre"
    fv_start t.ini
    run -0 fv stop app/svc
    test_script pre <<'EOF2'
exit 5
EOF2
    run -1 fv start app/svc
    assert_output --partial "pre_start '$BATS_TEST_TMPDIR/pre' failed (exit status 5)"
    grep -q "'app/svc' failed to start: pre_start '$BATS_TEST_TMPDIR/pre' failed (exit status 5)" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "pre_start: one that hangs is killed with SIGKILL at the worker's shutdown time" {
    app_ini "svc:@W@/sleeper" "pre_start=@W@/sleeper pre" shutdown=300 stop_signal=USR1
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" = 1 ]
    grep -q "pre_start of 'app/svc' (pid [0-9]*) did not end within 300 ms: sending SIGKILL" "$(fv_log)"
    grep -q "'app/svc' failed to start: pre_start '$WORKERS/sleeper pre' did not end within 300 ms" "$(fv_log)"
    [ "$(count_in_log "Started 'app/svc'")" = 0 ]
    no_survivors
}

@test "pre_start: one still running when the node shuts down is stopped, and nothing survives" {
    app_ini "svc:@W@/sleeper" "pre_start=@W@/sleeper pre" shutdown=infinity
    fv_start_nowait t.ini
    retry 200 0.05 eval "fv status app/svc | grep -q starting"
    fv info app/svc | grep -qx 'running: pre_start'
    retry 200 0.05 file_has "$FV_TEST_OUT/pids"
    fv_stop
    no_survivors
}

@test "post_stop runs after a crash, before the restart, and after stop, with the worker's environment" {
    hook_scripts
    printf 'APP_VAR=from-env-file\n' >"$BATS_TEST_TMPDIR/app.env"
    mkdir "$BATS_TEST_TMPDIR/wd"
    app_ini "svc:svc" "post_stop=$BATS_TEST_TMPDIR/post" env_file=app.env "directory=$BATS_TEST_TMPDIR/wd"
    fv_start t.ini
    local old; old=$(pid_of app/svc)
    kill -KILL "$old"
    retry 200 0.05 pid_changed app/svc "$old"
    [ "$(cat "$BATS_TEST_TMPDIR/post.txt")" = "post from-env-file app/svc $BATS_TEST_TMPDIR/wd" ]
    # Before the restart: its line comes before the second start.
    ascending "$(line_of "post_stop of 'app/svc' (pid")" "$(line_of "Started 'app/svc'" 2)"
    run -0 fv stop app/svc
    [ "$(lines "$BATS_TEST_TMPDIR/post.txt")" = 2 ]
    [ "$(state_of app/svc)" = stopped ]
    fv_stop
    no_survivors
}

@test "post_stop: its failure is logged and changes nothing else" {
    hook_scripts
    app_ini "svc:svc" "post_stop=$BATS_TEST_TMPDIR/post" environment=POST_STATUS=3
    fv_start t.ini
    crash_and_restart app/svc
    grep -q "post_stop of 'app/svc' (pid [0-9]*) exited with status 3" "$(fv_log)"
    [ "$(fv info app/svc | sed -n 's/^restarts: //p')" = 1 ]
    fv_stop
    [ "$(lines "$BATS_TEST_TMPDIR/post.txt")" = 2 ]
    no_survivors
}

@test "pre_start and post_stop run with the worker's user (root only)" {
    [[ $EUID -eq 0 ]] || skip "needs root"
    getent passwd nobody >/dev/null || skip "no user nobody"
    # The test's own directory is private: work where nobody can write.
    local dir; dir=$(mktemp -d /tmp/fv-hooks.XXXXXX)
    chmod 0755 "$dir"
    mkdir -m 1777 "$dir/out"
    conf t.ini <<INI
[supervisor:app]
children = w
[worker:w]
exec = $WORKERS/sleeper
pre_start = /bin/sh -c 'echo "pre \$(id -u)" >> $dir/out/hooks'
post_stop = /bin/sh -c 'echo "post \$(id -u)" >> $dir/out/hooks'
user = nobody
directory = /
environment = FV_TEST_OUT=$dir/out
INI
    fv_start t.ini
    run -0 fv stop app/w
    [ "$(cat "$dir/out/hooks")" = "pre $(id -u nobody)
post $(id -u nobody)" ]
    fv_stop
    cat "$dir/out/pids" >>"$FV_TEST_OUT/pids"
    no_survivors
    rm -rf "$dir"
}

@test "check: a bad pre_start or post_stop is refused with FILE:LINE" {
    app_ini "svc:@W@/sleeper" "pre_start="
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    assert_output --partial "t.ini:5: missing value for pre_start"
    app_ini "svc:@W@/sleeper" "post_stop=/bin/echo 'unterminated"
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    assert_output --partial "t.ini:5: bad value for post_stop:"
    app_ini "svc:@W@/sleeper" "pre_start=/bin/echo %x"
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    assert_output --partial "t.ini:5: bad value for pre_start: unknown expansion '%x'"
}

@test "pre_start: a program that cannot be run is a failed start that names it" {
    app_ini "svc:@W@/sleeper" "pre_start=/nonexistent/setup --now"
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" = 1 ]
    grep -q "'app/svc' failed to start: failed to run pre_start '/nonexistent/setup --now': No such file or directory" "$(fv_log)"
    no_survivors
}

@test "post_stop: one that cannot be run is logged, and the worker goes on as its own exit says" {
    app_ini "svc:@W@/sleeper" "post_stop=/nonexistent/cleanup"
    fv_start t.ini
    crash_and_restart app/svc
    grep -q "post_stop of 'app/svc' could not be run: No such file or directory" "$(fv_log)"
    [ "$(fv info app/svc | sed -n 's/^restarts: //p')" = 1 ]
    fv_stop
    no_survivors
}
