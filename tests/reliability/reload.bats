# SPDX-License-Identifier: MIT
# The plan's reload races: reload while children crash, reload during a restart delay, two reloads
# back to back, a SIGHUP storm. Each configuration is written aside and renamed into place, so a
# reload never reads a half-written file.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=120}"

setup() { load test_helper; }
teardown() { fv_teardown; }

# use NAME: make the configuration written as NAME (by conf) the one the daemon reads.
use() { cp "$BATS_TEST_TMPDIR/$1" "$BATS_TEST_TMPDIR/t.ini.new" && mv "$BATS_TEST_TMPDIR/t.ini.new" "$BATS_TEST_TMPDIR/t.ini"; }
# keep NAME: save the t.ini just written by app_ini as NAME.
keep() { mv "$BATS_TEST_TMPDIR/t.ini" "$BATS_TEST_TMPDIR/$1"; }
# live_recorded: how many pids that workers recorded are alive.
live_recorded() { local p n=0; while read -r p; do ours "$p" && n=$((n + 1)); done <"$FV_TEST_OUT/pids"; echo "$n"; }
# seconds_since_at_least T0 N: N seconds or more have passed since $SECONDS was T0.
seconds_since_at_least() { ((SECONDS - $1 >= $2)); }
live_recorded_is() { [[ $(live_recorded) -eq $1 ]]; }
state_is() { [[ $(state_of "$1") == "$2" ]]; }
gone() { ! fv info "$1" >/dev/null 2>&1; }
started_count() { fv_log_plain | grep -c "^<6>Started '$1' " || true; }

@test "reload races: 20 reloads while five children crash every 50 ms; the tree ends as configured, no stray process" {
    local crashers=() i
    for i in 1 2 3 4 5; do crashers+=("c$i:@W@/crash-after 50"); done
    app_ini intensity=100000 period=1 s:@W@/sleeper "${crashers[@]}"
    keep a.ini
    app_ini intensity=100000 period=1 s:@W@/sleeper "${crashers[@]:0:2}" "c3:@W@/crash-after 50" environment=V=2 \
        "${crashers[@]:3}" x:@W@/sleeper
    keep b.ini
    use a.ini
    fv_start t.ini
    local s; s=$(pid_of app/s)
    for i in $(seq 1 10); do
        use b.ini
        run -0 fv reload
        use a.ini
        run -0 fv reload
    done
    use b.ini
    run -0 fv reload
    [ "$(state_of app/x)" = running ]
    [ "$(pid_of app/s)" = "$s" ]
    [ "$(count_in_log "Reloaded configuration")" -eq 21 ]
    # Stop the crashers: a process the tree lost track of (a second instance of one child started
    # by a reload racing its restart) would live on. Only s and x are left.
    for i in 1 2 3 4 5; do run -0 fv stop "app/c$i"; done
    retry 100 0.05 live_recorded_is 2
    retry 100 0.05 no_zombie_children
    daemon_running
    fv_stop
    no_survivors
}

@test "reload races: reload during a restart delay neither starts the child early nor twice; a change or removal applies once" {
    app_ini intensity=10 d:@W@/sleeper restart_delay=800 s:@W@/sleeper
    keep same.ini
    app_ini intensity=10 d:@W@/sleeper restart_delay=800 environment=V=2 s:@W@/sleeper
    keep changed.ini
    app_ini intensity=10 s:@W@/sleeper
    keep removed.ini
    use same.ini
    fv_start t.ini
    local d; d=$(pid_of app/d)
    kill -KILL "$d"
    retry 100 0.05 state_is app/d restarting
    # Unchanged: the delay runs on, then one start.
    run -0 fv reload
    [ "$(state_of app/d)" = restarting ]
    [ "$(started_count app/d)" -eq 1 ]
    run -0 fv wait app/d --timeout 5000
    [ "$(started_count app/d)" -eq 2 ]
    # Changed during the delay: started once with the new section, the old timer does nothing.
    d=$(pid_of app/d)
    kill -KILL "$d"
    retry 100 0.05 state_is app/d restarting
    local t0=$SECONDS
    use changed.ini
    run -0 fv reload
    run -0 fv wait app/d --timeout 5000
    d=$(pid_of app/d)
    [ "$(tr '\0' '\n' <"/proc/$d/environ" | grep -x V=2)" = V=2 ]
    # Past the old delay's end (0.8 s after the kill; SECONDS counts whole seconds, so 2 is at least 1): still that one process.
    retry 100 0.05 seconds_since_at_least "$t0" 2
    [ "$(pid_of app/d)" = "$d" ]
    [ "$(started_count app/d)" -eq 3 ]
    # Removed during the delay: never started again.
    kill -KILL "$d"
    retry 100 0.05 state_is app/d restarting
    t0=$SECONDS
    use removed.ini
    run -0 fv reload
    gone app/d
    retry 100 0.05 seconds_since_at_least "$t0" 2
    [ "$(started_count app/d)" -eq 3 ]
    [ "$(live_recorded)" -eq 1 ]
    fv_stop
    no_survivors
}

@test "reload races: two reloads back to back and a storm of 100 SIGHUPs; the last configuration wins, the untouched keep their pid" {
    app_ini a:@W@/sleeper b:@W@/sleeper
    keep one.ini
    app_ini a:@W@/sleeper b:@W@/sleeper c:@W@/sleeper
    keep two.ini
    use one.ini
    fv_start t.ini
    local a b; a=$(pid_of app/a) b=$(pid_of app/b)
    use two.ini
    fv reload >"$BATS_TEST_TMPDIR/r1" 2>&1 &
    local r1=$!
    run -0 fv reload
    wait "$r1"
    [ "$(state_of app/c)" = running ]
    # The storm: configurations swapped under it, one SIGHUP after another.
    local i
    for i in $(seq 1 100); do
        if ((i % 2)); then use one.ini; else use two.ini; fi
        kill -HUP "$FV_PID"
    done
    # The file now says two.ini; one more reload after the storm settles it.
    run -0 fv reload
    [ "$(state_of app/c)" = running ]
    [ "$(pid_of app/a)" = "$a" ]
    [ "$(pid_of app/b)" = "$b" ]
    run ! log_has "Reload refused"
    echo "reloads applied: $(count_in_log "Reloaded configuration")" >&2
    [ "$(live_recorded)" -eq 3 ]
    retry 100 0.05 no_zombie_children
    daemon_running
    fv_stop
    no_survivors
}
