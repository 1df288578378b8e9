# SPDX-License-Identifier: MIT
# bats-forkvisor: run a forkvisor tree inside a bats test, wait for it without sleeping, act on
# it, assert on its events, and make sure that nothing it started outlives the test.
#
#     setup()    { bats_load_library forkvisor; }
#     teardown() { forkvisor_teardown; }
#
#     @test "web comes back after a crash" {
#         forkvisor_start "$BATS_TEST_DIRNAME/app.ini"
#         seq=$(forkvisor_seq)
#         forkvisor_kill app/web KILL
#         assert_forkvisor_event "$seq" restarting app/web
#         forkvisor_stop
#     }
#
# Documented in forkvisor-bats(7). Every function returns non-zero with a message on stderr
# when what it waits for does not happen within $FORKVISOR_TIMEOUT milliseconds.

# The forkvisor to run, and how long any one wait may take (ms).
: "${FORKVISOR_BIN:=forkvisor}"
: "${FORKVISOR_TIMEOUT:=10000}"

# forkvisor_start CONFIG [RUN-OPTION...]: start `forkvisor run CONFIG` in the background, on a
# control socket of this test's own ($FORKVISOR_CONTROL, exported, so every forkvisor command of
# the test talks to this daemon), and return once the whole tree is up. The daemon's output goes
# to $FORKVISOR_LOG. On failure, prints the log.
forkvisor_start() {
    local config=${1:?usage: forkvisor_start CONFIG [RUN-OPTION...]}
    shift
    export FORKVISOR_CONTROL="$BATS_TEST_TMPDIR/forkvisor.sock"
    FORKVISOR_LOG="$BATS_TEST_TMPDIR/forkvisor.log"
    # Every process of the tree inherits the mark (the daemon passes its environment on), and
    # forkvisor_survivors finds them by it; the test's own shell does not carry it.
    # 3>&- : the daemon must not hold bats' output open.
    BATS_FORKVISOR_TREE="$BATS_TEST_TMPDIR" "$FORKVISOR_BIN" run "$config" "$@" \
        </dev/null >"$FORKVISOR_LOG" 2>&1 3>&- &
    FORKVISOR_PID=$!
    if ! "$FORKVISOR_BIN" wait --timeout "$FORKVISOR_TIMEOUT"; then
        echo "forkvisor_start: the tree of $config did not come up; the daemon's log:" >&2
        cat "$FORKVISOR_LOG" >&2
        return 1
    fi
}

# forkvisor_stop: shut the tree down in order, wait for the daemon to exit (its exit status in
# $FORKVISOR_STATUS), and fail if any process of the tree is still alive.
forkvisor_stop() {
    [[ -n ${FORKVISOR_PID:-} ]] || { echo "forkvisor_stop: no daemon was started" >&2; return 1; }
    "$FORKVISOR_BIN" shutdown --timeout "$FORKVISOR_TIMEOUT" || true
    forkvisor_wait_exit || return 1
    assert_forkvisor_no_survivors
}

# forkvisor_wait_exit: wait for the daemon to exit by itself (a tree that shuts itself down);
# its exit status in $FORKVISOR_STATUS.
forkvisor_wait_exit() {
    local deadline=$((SECONDS + (FORKVISOR_TIMEOUT + 999) / 1000))
    while [[ -e /proc/$FORKVISOR_PID ]] && ! grep -q '^State:.*Z' "/proc/$FORKVISOR_PID/status" 2>/dev/null; do
        if ((SECONDS > deadline)); then
            echo "forkvisor_wait_exit: the daemon (pid $FORKVISOR_PID) has not exited" >&2
            return 1
        fi
        sleep 0.02
    done
    FORKVISOR_STATUS=0
    wait "$FORKVISOR_PID" || FORKVISOR_STATUS=$?
    unset FORKVISOR_PID
}

# forkvisor_survivors: the pids of the processes started by this test's daemon (at any depth,
# also those that left its session or were reparented) that are still alive, one per line.
forkvisor_survivors() {
    local f pid
    for f in /proc/[0-9]*/environ; do
        pid=${f#/proc/}
        pid=${pid%/environ}
        [[ $pid != "${FORKVISOR_PID:-}" ]] || continue
        grep -qzxF "BATS_FORKVISOR_TREE=$BATS_TEST_TMPDIR" "$f" 2>/dev/null && echo "$pid"
    done
    return 0
}

# assert_forkvisor_no_survivors: nothing the daemon started is alive (after up to a second for
# processes just SIGKILLed to go).
assert_forkvisor_no_survivors() {
    local i left
    for ((i = 0; i < 50; i++)); do
        left=$(forkvisor_survivors)
        [[ -n $left ]] || return 0
        sleep 0.02
    done
    echo "assert_forkvisor_no_survivors: still alive:" >&2
    for i in $left; do echo "  $i $(tr '\0' ' ' <"/proc/$i/cmdline" 2>/dev/null)" >&2; done
    return 1
}

# forkvisor_teardown: for teardown(): stop a daemon the test left running, kill whatever of its
# tree survived, and print the daemon's log (bats shows it only when the test failed).
forkvisor_teardown() {
    local i
    if [[ -n ${FORKVISOR_PID:-} ]]; then
        kill -TERM "$FORKVISOR_PID" 2>/dev/null || true
        forkvisor_wait_exit 2>/dev/null || { kill -KILL "$FORKVISOR_PID" 2>/dev/null; wait "$FORKVISOR_PID" 2>/dev/null; }
        unset FORKVISOR_PID
    fi
    for i in $(forkvisor_survivors); do kill -KILL "$i" 2>/dev/null || true; done
    if [[ -r ${FORKVISOR_LOG:-} ]]; then
        echo "--- forkvisor's log ($FORKVISOR_LOG)"
        cat "$FORKVISOR_LOG"
    fi
}

# forkvisor_pid PATH: the pid of the worker at PATH (empty, exit 1, when it has no process).
forkvisor_pid() {
    local pid
    pid=$("$FORKVISOR_BIN" info "${1:?usage: forkvisor_pid PATH}" | sed -n 's/^pid: //p')
    [[ -n $pid ]] && echo "$pid"
}

# forkvisor_seq: the sequence number of the daemon's last event. Remember it before acting, then
# read what the action caused with forkvisor_events or assert_forkvisor_event: nothing is missed,
# whatever the timing.
forkvisor_seq() {
    "$FORKVISOR_BIN" status --json | grep -o '"seq": *[0-9]*' | head -n 1 | grep -o '[0-9]*$'
}

# forkvisor_events SEQ N: print the N events after SEQ, one JSON object per line (waiting for
# them as long as $FORKVISOR_TIMEOUT).
forkvisor_events() {
    "$FORKVISOR_BIN" events --since "${1:?usage: forkvisor_events SEQ N}" --count "${2:?usage: forkvisor_events SEQ N}" \
        --timeout "$FORKVISOR_TIMEOUT"
}

# assert_forkvisor_event SEQ EVENT PATH [REASON]: an event EVENT (started, exited, restarting,
# gave_up, reload) for PATH, with "reason": REASON if given, comes after SEQ (waits for it).
# Sets $FORKVISOR_EVENT to it (the JSON line) and $FORKVISOR_EVENT_SEQ to its sequence number.
assert_forkvisor_event() {
    local seq=${1:?usage: assert_forkvisor_event SEQ EVENT PATH [REASON]} event=${2:?} path=${3:?} reason=${4:-}
    local line deadline=$((SECONDS + (FORKVISOR_TIMEOUT + 999) / 1000)) seen=()
    while ((SECONDS <= deadline)); do
        line=$("$FORKVISOR_BIN" events --since "$seq" --count 1 --timeout "$FORKVISOR_TIMEOUT") || break
        seq=$(grep -o '"seq": *[0-9]*' <<<"$line" | grep -o '[0-9]*$')
        [[ -n $seq ]] || break
        seen+=("$line")
        if [[ $line == *"\"event\": \"$event\""* && $line == *"\"path\": \"$path\""* &&
              (-z $reason || $line == *"\"reason\": \"$reason\""*) ]]; then
            FORKVISOR_EVENT=$line
            FORKVISOR_EVENT_SEQ=$seq
            return 0
        fi
    done
    echo "assert_forkvisor_event: no '$event' event for '$path'${reason:+ with reason '$reason'}; saw:" >&2
    printf '  %s\n' "${seen[@]}" >&2
    return 1
}

# forkvisor_kill PATH [SIGNAL]: signal the worker's process (default SIGKILL: a crash) through
# the daemon, which cannot hit a reused pid, and wait until its supervisor has it running again
# in a new process, whose pid is printed.
forkvisor_kill() {
    local path=${1:?usage: forkvisor_kill PATH [SIGNAL]} old
    old=$(forkvisor_pid "$path") || { echo "forkvisor_kill: '$path' has no process" >&2; return 1; }
    "$FORKVISOR_BIN" signal "$path" "${2:-KILL}" || return 1
    "$FORKVISOR_BIN" wait "$path" --pid-not "$old" --timeout "$FORKVISOR_TIMEOUT" || return 1
    forkvisor_pid "$path"
}
