# SPDX-License-Identifier: MIT
# The plan's log cases: the node never blocks on its log (a reader that stops reading costs log
# lines, counted, not supervision), and the lines it owes: a child's last words before its exit,
# the SIGKILL of a shutdown timeout, the auto_shutdown of a significant child, an exec failure as
# the last exit.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=60}" # a node stuck in a write fails the test, not the run

setup() { load test_helper; }
teardown() {
    # A reader left stopped would keep the FIFO's writers (the daemon) waiting: let it go first.
    if [[ -n ${READER_PID:-} ]]; then
        kill -CONT "$READER_PID" 2>/dev/null || true
    fi
    fv_teardown
    if [[ -n ${READER_PID:-} ]]; then
        kill -KILL "$READER_PID" 2>/dev/null || true
        wait "$READER_PID" 2>/dev/null || true
    fi
}

# tfv ARGS...: fv with a deadline, for what a blocked node would never answer.
tfv() { timeout 10 "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" "$@"; }
tpid_of() { tfv info "$1" | sed -n 's/^pid: //p'; }
tpid_changed() {
    local p; p=$(tpid_of "$1"); [[ -n $p && $p != "$2" ]] && tfv info "$1" | grep -qx 'state: running'
}

# fifo_start CONFIG: the daemon with stdout and stderr on a FIFO read by a `cat` (READER_PID) that
# copies it to $(fv_log); stop the reader and the log is a pipe nobody reads.
fifo_start() {
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run" FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    mkfifo "$BATS_TEST_TMPDIR/log.fifo"
    cat "$BATS_TEST_TMPDIR/log.fifo" >"$(fv_log)" 3>&- &
    READER_PID=$!
    "$FORKVISOR" run "$BATS_TEST_TMPDIR/$1" --control "$FV_RUNTIME_DIR/control.sock" \
        </dev/null >"$BATS_TEST_TMPDIR/log.fifo" 2>&1 3>&- &
    FV_PID=$!
    retry 100 0.05 tfv wait --timeout 100
}

# chatty: a worker that prints bursts of 1000 lines (about 60 KiB), counting them in
# $FV_TEST_OUT/bursts, with a short pause in between.
chatty_script() {
    cat >"$BATS_TEST_TMPDIR/chatty" <<'EOF'
#!/bin/sh
echo $$ >>"$FV_TEST_OUT/pids"
i=0
while :; do
    seq -f "chatty line %g of a worker that does not stop talking" 1000
    i=$((i + 1))
    echo $i >"$FV_TEST_OUT/bursts.tmp" && mv -f "$FV_TEST_OUT/bursts.tmp" "$FV_TEST_OUT/bursts"
    sleep 0.02
done
EOF
    chmod +x "$BATS_TEST_TMPDIR/chatty"
}
bursts() { cat "$FV_TEST_OUT/bursts" 2>/dev/null || echo 0; }
bursts_at_least() { (($(bursts) >= $1)); }

@test "log pipe full: with the log's reader stopped, a killed child is restarted and status answers; the drops are counted" {
    chatty_script
    app_ini chat:chatty s:@W@/sleeper
    fifo_start t.ini
    kill -STOP "$READER_PID"
    # About 1.5 MiB, more than the FIFO, the node's queue and the child's pipe hold together. A
    # node stuck in a write stops reading the child, whose bursts then stop too.
    local b; b=$(bursts)
    retry 600 0.05 bursts_at_least $((b + 25))
    local old; old=$(tpid_of app/s)
    [[ -n $old ]]
    kill -KILL "$old"
    retry 200 0.05 tpid_changed app/s "$old"
    run -0 tfv status
    assert_line --regexp '^app/s +worker +running'
    # The node reaped: no zombie left of the killed sleeper.
    [[ ! -e /proc/$old ]] || run -1 grep -q '^State:.*Z' "/proc/$old/status"
    kill -CONT "$READER_PID"
    retry 200 0.05 grep -qE "^<4>($LOG_TS)?[0-9]+ log records dropped while the log was blocked\$" "$(fv_log)"
    fv_stop
    no_survivors
    # The reader has copied everything once the daemon, the FIFO's last writer, is gone.
    wait "$READER_PID"
    unset READER_PID
    # Whole records only: every line is one of ours, every chatty line that made it is whole.
    run -1 grep -vE '^<[0-7]>' "$(fv_log)"
    run -1 grep -vE '^<6>app/chat: chatty line [0-9]+ of a worker that does not stop talking$' \
        <(fv_log_plain | grep -F chatty)
}

@test "log pipe full: a child's last words, even without a newline, come before the node's line about its exit" {
    cat >"$BATS_TEST_TMPDIR/talker" <<'EOF2'
#!/bin/sh
echo $$ >>"$FV_TEST_OUT/pids"
echo "a line on stdout"
echo "last whole line on stderr" >&2
printf 'last words without a newline' >&2
exit 3
EOF2
    chmod +x "$BATS_TEST_TMPDIR/talker"
    app_ini s:@W@/sleeper w:talker temporary
    fv_start t.ini
    retry 200 0.05 grep -qF "'app/w' (pid" "$(fv_log)"
    fv_stop
    local out whole words exited
    out=$(line_of "<6>app/w: a line on stdout")
    whole=$(line_of "<6>app/w: last whole line on stderr")
    words=$(line_of "<6>app/w: last words without a newline")
    exited=$(line_of ") exited with status 3")
    ascending "$out" "$exited"
    ascending "$whole" "$words" "$exited"
    no_survivors
}

@test "shutdown timeout: the SIGKILL after shutdown ms is logged, before the child's exit" {
    app_ini a:@W@/ignore-term shutdown=300
    fv_start t.ini
    local pid; pid=$(pid_of app/a)
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    local kill exited
    kill=$(line_of "<4>'app/a' (pid $pid) did not stop within 300 ms: sending SIGKILL")
    exited=$(line_of "'app/a' (pid $pid) killed by signal KILL")
    ascending "$kill" "$exited"
    no_survivors
}

@test "shutdown timeout: a nested supervisor that does not stop in time is logged as it is killed" {
    app_ini sup:{ shutdown=300 a:@W@/ignore-term shutdown=infinity }
    fv_start t.ini
    run -0 fv shutdown
    fv_wait_exit
    run -0 grep -F "<4>Supervisor 'app/sup' did not stop within 300 ms: sending SIGKILL to its processes" <(fv_log_plain)
    no_survivors
}

@test "significant children: the auto_shutdown they trigger is logged with the child and the supervisor" {
    app_ini auto_shutdown=any_significant \
        s:@W@/sleeper \
        "job:@W@/exit-with 0 300" restart=transient significant=yes
    fv_start t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    local exited down stopped
    exited=$(line_of ") exited with status 0")
    down=$(line_of "<5>Supervisor 'app' shutting down (auto_shutdown = any_significant): significant child 'app/job' terminated")
    stopped=$(line_of ") killed by signal TERM")
    ascending "$exited" "$down" "$stopped"
    no_survivors
}

@test "exec failure: after a death by signal, LAST-EXIT shows the failed start, not the stale signal" {
    cat >"$BATS_TEST_TMPDIR/vanishing" <<'EOF2'
#!/bin/sh
echo $$ >>"$FV_TEST_OUT/pids"
exec sleep 2147483647
EOF2
    chmod +x "$BATS_TEST_TMPDIR/vanishing"
    app_ini intensity=1000 period=1000 s:@W@/sleeper v:vanishing restart_delay=100
    fv_start t.ini
    local pid; pid=$(pid_of app/v)
    rm "$BATS_TEST_TMPDIR/vanishing"
    kill -KILL "$pid"
    retry 200 0.05 grep -qF "'app/v' failed to start" "$(fv_log)"
    run -0 fv info app/v
    assert_line "last exit: start failed (ENOENT)"
    run -0 fv status app/v
    assert_line --regexp '^app/v .* start failed \(ENOENT\)$'
    run -0 fv status app/v --json
    assert_output --partial '"last_exit": {"start_failed": "ENOENT"}'
    fv_stop
    no_survivors
}

# nonblocking PID FD: the file description of PID's FD has O_NONBLOCK (04000 in fdinfo's flags).
nonblocking() {
    local flags; flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$1/fdinfo/$2")
    (( (8#$flags & 8#4000) != 0 ))
}

@test "log pipe full: the node's own queue leaves the stderr it shares with stdout = inherit children blocking" {
    app_ini i:@W@/sleeper stdout=inherit stderr=inherit
    fifo_start t.ini
    local pid; pid=$(tpid_of app/i)
    [[ -n $pid ]]
    # The daemon writes its log through a description of its own, which does not block...
    local fd own=
    for fd in /proc/"$FV_PID"/fd/*; do
        [[ $(readlink "$fd") == "$(readlink /proc/"$FV_PID"/fd/2)" && ${fd##*/} != [012] ]] && own=${fd##*/}
    done
    [[ -n $own ]]
    nonblocking "$FV_PID" "$own"
    # ... while the one it inherited, and shares with the child, still blocks: a child writing
    # to a full pipe waits, as it would without us, instead of failing with EAGAIN.
    run -1 nonblocking "$FV_PID" 2
    run -1 nonblocking "$pid" 1
    run -1 nonblocking "$pid" 2
    fv_stop
    no_survivors
}

@test "log pipe full: a log on a full disk (/dev/full) costs lines, not supervision" {
    printf '#!/bin/sh\nwhile :; do echo chatter; done\n' > "$BATS_TEST_TMPDIR/chatty"
    chmod +x "$BATS_TEST_TMPDIR/chatty"
    app_ini a:chatty b:@W@/sleeper
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run" FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    "$FORKVISOR" run "$BATS_TEST_TMPDIR/t.ini" --control "$FV_RUNTIME_DIR/control.sock" \
        </dev/null >/dev/full 2>&1 3>&- &
    FV_PID=$!
    retry 100 0.05 tfv wait --timeout 100
    local b; b=$(tpid_of app/b)
    kill -KILL "$b"
    retry 100 0.05 tpid_changed app/b "$b"
    run -0 tfv status
    run -0 tfv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    no_survivors
}
