# SPDX-License-Identifier: MIT
# The plan's "allocation failure" case, on the running daemon: libfiu fails 1 % of its
# allocations at random while workers are killed and called; afterwards every worker answers
# and the node holds one mailbox per worker. (tests/reliability/test-alloc-failure.c sweeps the
# same operations one failing allocation at a time.)
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() { fv_teardown; }

# fiu_start CONFIG: fv_start under fiu-run (libfiu's preload libraries and its remote control),
# no failure enabled yet: fiu_ctrl switches them on and off. libfiu's remote control is a thread
# made before main(), so before the node blocks the signals it reads from signalfd: the node
# must get SIGCHLD and SIGTERM even when that thread is the one the kernel hands them to. The
# workers do not inherit libfiu: the configuration empties LD_PRELOAD and FIU_CTRL_FIFO.
fiu_start() {
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run" FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    fiu-run -x -f "$BATS_TEST_TMPDIR/fiu" "$FORKVISOR" run "$BATS_TEST_TMPDIR/$1" \
        --control "$FV_RUNTIME_DIR/control.sock" </dev/null >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    retry 100 0.05 fv wait --timeout 100
}
fiu_ctrl() { fiu-ctrl -f "$BATS_TEST_TMPDIR/fiu" -c "$1" "$FV_PID"; }

sockets_of() { find "/proc/$1/fd" -lname 'socket:*' | wc -l; }
callable() { [[ $(fv call "$1" hi 2>&1) == "echo: hi" ]]; }
all_callable() { local i; for i in 1 2 3 4 5; do callable "e$i" || return 1; done; }
# The node holds as many sockets as before the faults, every worker answering.
settled() { all_callable && [[ $(sockets_of "$FV_PID") -eq $1 ]]; }

@test "allocation failure: 1% of the node's allocations fail for 10 s while workers are killed and called; then every worker answers, one mailbox each" {
    command -v fiu-run >/dev/null && command -v fiu-ctrl >/dev/null ||
        skip "fiu-run/fiu-ctrl are not installed (Debian package fiu-utils)"
    [[ $FORKVISOR_BUILD != *-san ]] ||
        skip "libfiu's preload library crashes an AddressSanitizer binary at start (both interpose malloc); test-alloc-failure covers this build"
    local i workers=()
    for i in 1 2 3 4 5; do workers+=("e$i:@W@/echo" mailbox "environment=LD_PRELOAD= FIU_CTRL_FIFO="); done
    app_ini intensity=100000 period=1 "${workers[@]}"
    fiu_start t.ini
    all_callable
    local before; before=$(sockets_of "$FV_PID")

    fiu_ctrl 'enable_random name=libc/mm/*,probability=0.01'
    local end=$((SECONDS + 10)) pid
    while ((SECONDS < end)); do
        for i in 1 2 3 4 5; do fv call "e$i" hi >/dev/null 2>&1 || true; done
        pid=$(pid_of "app/e$((RANDOM % 5 + 1))" 2>/dev/null) || true
        [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true
        daemon_running
    done
    fiu_ctrl 'disable name=libc/mm/*'

    daemon_running
    retry 100 0.1 settled "$before"
    for i in 1 2 3 4 5; do [[ $(state_of "app/e$i") == running ]]; done
    fv_stop
    no_survivors
}
