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
    retry 200 0.05 grep -qE '^<4>[0-9]+ log records dropped while the log was blocked$' "$(fv_log)"
    # Whole records only: every line is one of ours, every chatty line that made it is whole.
    run -1 grep -vE '^<[0-7]>' "$(fv_log)"
    run -1 grep -vE '^<6>app/chat: chatty line [0-9]+ of a worker that does not stop talking$' \
        <(grep -F chatty "$(fv_log)")
    fv_stop
    no_survivors
}
