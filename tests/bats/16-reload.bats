# SPDX-License-Identifier: MIT
# Reload (SPEC 3.4): `forkvisor reload` and SIGHUP apply the difference between the running tree
# and the files; unchanged children keep their pid; an invalid file changes nothing.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() { fv_teardown; }

log_has() { grep -qF -- "$1" "$(fv_log)"; }
# pids_of PATH...: "PATH=PID" for each, one line, for comparing before and after.
pids_of() { local p; for p; do printf '%s=%s ' "$p" "$(pid_of "$p")"; done; }
gone() { ! fv info "$1" >/dev/null 2>&1; }
reloads_logged() { [[ $(count_in_log "Reloaded configuration") -ge $1 ]]; }

@test "reload keeps unchanged children, starts added ones in order, stops removed ones, restarts changed ones" {
    app_ini a:@W@/sleeper "b:@W@/env-dump b.env" environment=COLOUR=red c:@W@/sleeper d:@W@/sleeper
    fv_start t.ini
    retry 100 0.05 file_has "$BATS_TEST_TMPDIR/b.env"
    [ "$(value "$BATS_TEST_TMPDIR/b.env" env.COLOUR)" = red ]
    local a b c d
    a=$(pid_of app/a) b=$(pid_of app/b) c=$(pid_of app/c) d=$(pid_of app/d)
    rm "$BATS_TEST_TMPDIR/b.env"

    app_ini \
        a:@W@/sleeper \
        n1:@W@/sleeper \
        "b:@W@/env-dump b.env" environment=COLOUR=blue \
        n2:@W@/sleeper \
        d:@W@/sleeper
    run -0 fv reload
    # unchanged: same pids
    [ "$(pid_of app/a)" = "$a" ]
    [ "$(pid_of app/d)" = "$d" ]
    # removed: stopped and forgotten
    run ! fv info app/c
    pid_dead "$c"
    # changed: a new process, with its new environment
    [ "$(state_of app/b)" = running ]
    [ "$(pid_of app/b)" != "$b" ]
    pid_dead "$b"
    retry 100 0.05 file_has "$BATS_TEST_TMPDIR/b.env"
    [ "$(value "$BATS_TEST_TMPDIR/b.env" env.COLOUR)" = blue ]
    # added: running, in their place in the order
    [ "$(state_of app/n1)" = running ]
    [ "$(state_of app/n2)" = running ]
    run -0 fv status
    [ "$(echo "$output" | awk 'NR > 2 { print $1 }' | paste -sd ' ')" = "app/a app/n1 app/b app/n2 app/d" ]
    # removed before the new ones start; new ones in order
    ascending "$(line_of "Stopped 'app/c'")" "$(line_of "Started 'app/n1'")" "$(line_of "Started 'app/n2'")"
    log_has "Reloaded configuration: 3 unchanged, 1 changed, 2 added, 1 removed"
    # a changed child's restart is the operator's, not a crash
    run -0 fv info app/b
    assert_line "restarts: 0"
    # and the tree stops in its new order
    fv_stop
    [ "$(order_of Stopped)" = "app/c app/b app/d app/n2 app/b app/n1 app/a app" ]
    no_survivors
}

@test "an invalid configuration changes nothing: exit 2, FILE:LINE on stderr" {
    sleepers_ini a b
    fv_start t.ini
    local before; before=$(pids_of app/a app/b)
    cat >>"$BATS_TEST_TMPDIR/t.ini" <<'INI'
[worker:c]
exec = @W@/sleeper
colour = red
INI
    run -2 --separate-stderr fv reload
    [[ $stderr == *"$BATS_TEST_TMPDIR/t.ini:9: unknown key 'colour'"* ]]
    [[ $stderr == *"t.ini:7: worker 'c' is not listed"* ]]
    [ -z "$output" ]
    [ "$(pids_of app/a app/b)" = "$before" ]
    run -0 fv wait --timeout 1000
    run ! fv info app/c
    # an unreadable file too
    mv "$BATS_TEST_TMPDIR/t.ini" "$BATS_TEST_TMPDIR/gone.ini"
    run -2 --separate-stderr fv reload
    [[ $stderr == *"t.ini:0: "* ]]
    [ "$(pids_of app/a app/b)" = "$before" ]
    daemon_running
    fv_stop
    no_survivors
}

@test "SIGHUP reloads; its errors go to the log" {
    sleepers_ini a
    fv_start t.ini
    local a; a=$(pid_of app/a)
    sleepers_ini a b
    kill -HUP "$FV_PID"
    retry 100 0.05 reloads_logged 1
    [ "$(state_of app/b)" = running ]
    [ "$(pid_of app/a)" = "$a" ]
    log_has "Reloaded configuration: 2 unchanged, 0 changed, 1 added, 0 removed"
    echo "bogus line" >>"$BATS_TEST_TMPDIR/t.ini"
    kill -HUP "$FV_PID"
    retry 100 0.05 log_has "Reload refused"
    grep -qE "^<3>.*t\.ini:7: " "$(fv_log)"
    [ "$(pid_of app/a)" = "$a" ]
    [ "$(state_of app/b)" = running ]
    fv_stop
    no_survivors
}

@test "a reload during shutdown is refused" {
    app_ini slow:@S@/ignore-term.sh shutdown=3000
    fv_start t.ini
    kill -TERM "$FV_PID"
    retry 100 0.05 test "$(state_of app/slow)" = stopping
    run -1 --separate-stderr fv reload
    [[ $stderr == *"shutting down"* ]]
    kill -HUP "$FV_PID"
    retry 100 0.05 log_has "Reload refused: the daemon is shutting down"
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    no_survivors
}

@test "a second reload while one is applying is queued and applied after it" {
    sleepers_ini a
    fv_start t.ini
    local a; a=$(pid_of app/a)
    app_ini a:@W@/sleeper "slow:@W@/notify-after 1500" ready=notify
    fv reload 3>&- &
    local first=$!
    # the first reload is under way (slow takes 1.5 s to be ready) when the second is asked for
    retry 100 0.05 fv info app/slow
    app_ini a:@W@/sleeper "slow:@W@/notify-after 1500" ready=notify last:@W@/sleeper
    run -0 fv reload
    # the second returns only once it is applied, and it was applied after the first
    [ "$(state_of app/last)" = running ]
    [ "$(state_of app/slow)" = running ]
    wait "$first"
    [ "$(pid_of app/a)" = "$a" ]
    ascending "$(line_of "Reloaded configuration")" "$(line_of "Started 'app/last'")" \
        "$(line_of "Reloaded configuration" 2)"
    [ "$(sed -n 's/.*Reloaded configuration: //p' "$(fv_log)" | paste -sd '|')" = \
      "2 unchanged, 0 changed, 1 added, 0 removed|3 unchanged, 0 changed, 1 added, 0 removed" ]
    fv_stop
    no_survivors
}

@test "reload reports a child that fails to start (exit 1) and keeps the rest" {
    sleepers_ini a
    fv_start t.ini
    local a; a=$(pid_of app/a)
    app_ini intensity=10 a:@W@/sleeper broken:/nonexistent/program temporary
    run -1 --separate-stderr fv reload
    [[ $stderr == *"'app/broken' failed to start: failed to execute '/nonexistent/program'"* ]]
    [ "$(pid_of app/a)" = "$a" ]
    daemon_running
    fv_stop
    no_survivors
}

@test "a supervisor's own keys are applied in place; its children keep running" {
    app_ini sub:{ a:@W@/sleeper b:@W@/sleeper }
    fv_start t.ini
    local before; before=$(pids_of app/sub/a app/sub/b)
    sed -i 's/^children = a, b$/strategy = one_for_all\nintensity = 3\nchildren = a, b/' "$BATS_TEST_TMPDIR/t.ini"
    run -0 fv reload
    [ "$(pids_of app/sub/a app/sub/b)" = "$before" ]
    run -0 fv info app/sub
    assert_line "strategy: one_for_all"
    assert_line "intensity: 3 in 5000 ms"
    log_has "Reloaded configuration: 3 unchanged, 1 changed, 0 added, 0 removed"
    fv_stop
    no_survivors
}
