# SPDX-License-Identifier: MIT
# Shared helpers for the bats suites: start/stop a daemon per test, poll, and check that no
# process outlives its test.
bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

: "${FORKVISOR_BUILD:=$BATS_TEST_DIRNAME/../../build}"
FORKVISOR="$FORKVISOR_BUILD/forkvisor"
WORKERS="$FORKVISOR_BUILD/workers"
SHWORKERS="$(cd "$BATS_TEST_DIRNAME/../../workers" && pwd)"
FIXTURES="$BATS_TEST_DIRNAME/fixtures"

# retry ATTEMPTS DELAY CMD...: poll until CMD succeeds (never sleep-and-hope).
retry() {
    local n=$1 delay=$2 i; shift 2
    for ((i = 0; i < n; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep "$delay"
    done
    echo "gave up after $n tries: $*" >&2
    return 1
}

fv() { "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" "$@"; }

# conf NAME <<EOF: writes a configuration into the test's directory, with @W@ replaced by the
# C workers' directory and @S@ by the shell workers' directory. Prints nothing.
conf() {
    sed -e "s|@W@|$WORKERS|g" -e "s|@S@|$SHWORKERS|g" > "$BATS_TEST_TMPDIR/$1"
}

# fv_start CONFIG [ARGS...]: start a daemon in the background, wait until its tree is running.
fv_start() {
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    export FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    local cfg=$1; shift
    [[ $cfg == /* ]] || cfg="$BATS_TEST_TMPDIR/$cfg"
    # 3>&- : do not hold bats' output pipe open.
    "$FORKVISOR" run "$cfg" --control "$FV_RUNTIME_DIR/control.sock" "$@" \
        >"$BATS_TEST_TMPDIR/forkvisor.log" 2>&1 3>&- &
    FV_PID=$!
    retry 100 0.05 fv wait --timeout 100
}

# fv_start_nowait CONFIG: start a daemon, wait only until its socket answers.
fv_start_nowait() {
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    export FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    local cfg=$1; shift
    [[ $cfg == /* ]] || cfg="$BATS_TEST_TMPDIR/$cfg"
    "$FORKVISOR" run "$cfg" --control "$FV_RUNTIME_DIR/control.sock" "$@" \
        >"$BATS_TEST_TMPDIR/forkvisor.log" 2>&1 3>&- &
    FV_PID=$!
}

daemon_gone() { ! kill -0 "$FV_PID" 2>/dev/null; }

# fv_wait_exit: wait for the daemon to exit by itself; sets FV_STATUS.
fv_wait_exit() {
    retry 200 0.05 daemon_gone
    FV_STATUS=0
    wait "$FV_PID" || FV_STATUS=$?
    unset FV_PID
}

fv_stop() {
    if [[ -n ${FV_PID:-} ]]; then
        kill -TERM "$FV_PID" 2>/dev/null || true
        retry 200 0.05 daemon_gone || kill -KILL "$FV_PID" 2>/dev/null || true
        wait "$FV_PID" 2>/dev/null || true
        unset FV_PID
    fi
}

pid_alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# no_survivors: every pid a worker recorded in $FV_TEST_OUT/pids is gone (polls briefly, since a
# SIGKILLed group member may take a moment to die).
all_recorded_gone() {
    local p
    [[ -r $FV_TEST_OUT/pids ]] || return 0
    while read -r p; do pid_alive "$p" && return 1; done < "$FV_TEST_OUT/pids"
    return 0
}
no_survivors() {
    retry 100 0.05 all_recorded_gone || {
        echo "processes survived: $(while read -r p; do pid_alive "$p" && echo "$p"; done < "$FV_TEST_OUT/pids")" >&2
        return 1
    }
}

# The standard teardown: stop the daemon and kill whatever a failed test left behind, so one
# failure never leaks into the next test. (Tests assert no_survivors themselves.)
fv_teardown() {
    fv_stop
    if [[ -n ${FV_TEST_OUT:-} && -r $FV_TEST_OUT/pids ]]; then
        local p
        while read -r p; do pid_alive "$p" && kill -KILL "$p" 2>/dev/null; done < "$FV_TEST_OUT/pids"
    fi
    return 0
}

# pid_of PATH: the pid in `status --json` for PATH (empty when none).
pid_of() {
    fv info "$1" | sed -n 's/^pid: //p'
}
state_of() {
    fv info "$1" | sed -n 's/^state: //p'
}
# pid_changed PATH OLD: true once PATH runs under a pid other than OLD.
pid_changed() {
    local p; p=$(pid_of "$1"); [[ -n $p && $p != "$2" ]] && [[ $(state_of "$1") == running ]]
}
