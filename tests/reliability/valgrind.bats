# SPDX-License-Identifier: MIT
# The plan's last case, in make check: the daemon under valgrind memcheck through start, restarts
# (SIGKILLed workers), control traffic, a reload and a stop, failing on any memory error, any
# leak, and any descriptor left open at exit. (The soak half of the case is `make soak`.)
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=240}"

setup() {
    load test_helper
    # ASan and valgrind do not mix: the sanitizer build is covered by its own runs.
    if [[ ${FORKVISOR_BUILD%/} == *build-san ]] || ldd "$FORKVISOR" 2>/dev/null | grep -q libasan; then
        skip "sanitizer build: valgrind cannot run an ASan binary"
    fi
    command -v valgrind >/dev/null || skip "valgrind is not installed"
}
teardown() { fv_teardown; }

restarts_at_least() { local r; r=$(fv info "$1" | sed -n 's/^restarts: //p'); [[ -n $r && $r -ge $2 ]]; }
lines_at_least() { [[ -r $2 && $(wc -l <"$2") -ge $1 ]]; }

# vg_open_fds LOG: the descriptors valgrind found open at exit, one a line as it names them
# ("file descriptor 28: /dev/null"), except those inherited from the test (valgrind says so) and
# the connection of the `shutdown` request, which the node keeps open on purpose until the kernel
# closes it at exit (its client returns only once everything is torn down:
# control_request_hold_until_exit()).
vg_open_fds() {
    awk '
        function done() { if (what != "" && !skip) print what; what = "" }
        /== Open .* [0-9]+:/ { done(); what = $0; sub(/^==[0-9]+== Open /, "", what); skip = 0; next }
        /inherited from parent|cmd_shutdown|hold_until_exit/ { skip = 1 }
        /^==[0-9]+== *$/ { done() }
        END { done() }' "$1"
}

@test "chaos soak + valgrind: start, restarts, traffic, reload, shutdown: no memory error, no leak, no fd left open" {
    app_ini intensity=100 \
        s:@W@/sleeper \
        echo:@W@/echo mailbox \
        sub:@S@/subscriber.sh subscribe=feed mailbox \
        "h:@W@/hostile garbage" restart_delay=100 \
        pool:{ strategy=simple_one_for_one template=job instances=2 job:@W@/sleeper }
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run" FV_TEST_OUT="$BATS_TEST_TMPDIR/out" FORKVISOR
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    local vg=$BATS_TEST_TMPDIR/valgrind.log
    # Only the node runs under valgrind: its children are exec'd natively.
    valgrind --tool=memcheck --track-fds=yes --leak-check=full --show-leak-kinds=all \
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
        --child-silent-after-fork=yes --log-file="$vg" \
        "$FORKVISOR" run "$BATS_TEST_TMPDIR/t.ini" --control "$FV_RUNTIME_DIR/control.sock" \
        </dev/null >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    retry 600 0.1 fv wait --timeout 200
    # Restarts: SIGKILLed workers, and the hostile one's broken frames.
    local i old
    for i in 1 2 3; do
        old=$(pid_of app/s)
        kill -KILL "$old"
        retry 300 0.1 pid_changed app/s "$old"
    done
    retry 300 0.1 restarts_at_least app/h 2
    # Traffic: calls, casts, publications, an outside subscriber and events stream, the registry.
    # (Not $i: bats' run sets a variable i of its own.)
    local n
    for n in 1 2 3; do
        run -0 fv call echo "hello $n" --timeout 10000
        assert_output "echo: hello $n"
    done
    run -0 fv send echo cast
    fv events --count 2 --timeout 20000 >"$BATS_TEST_TMPDIR/events" &
    local ev=$!
    fv subscribe feed --count 2 --timeout 20000 >"$BATS_TEST_TMPDIR/feed" &
    local fd=$!
    retry 100 0.1 fv publish feed one
    retry 300 0.1 lines_at_least 1 "$FV_TEST_OUT/sub.msgs"
    run -0 fv publish feed two
    retry 300 0.1 lines_at_least 2 "$FV_TEST_OUT/sub.msgs"
    old=$(pid_of app/echo)
    kill -KILL "$old"
    retry 300 0.1 pid_changed app/echo "$old"
    wait "$ev" || true
    wait "$fd" || true
    run -0 fv status --json
    run -0 fv registry --json
    run -0 fv info app/echo
    # Dynamic children come and go.
    run -0 fv start-child app/pool
    run -0 fv terminate-child "$output"
    # A reload that changes, adds and removes.
    app_ini intensity=100 \
        s:@W@/sleeper environment=V=2 \
        echo:@W@/echo mailbox \
        sub:@S@/subscriber.sh subscribe=feed mailbox \
        n:@W@/sleeper \
        pool:{ strategy=simple_one_for_one template=job instances=2 job:@W@/sleeper }
    run -0 fv reload
    run -0 fv wait app/n --timeout 20000
    run -0 fv shutdown
    retry 600 0.1 daemon_gone
    FV_STATUS=0
    wait "$FV_PID" || FV_STATUS=$?
    unset FV_PID
    echo "--- valgrind" >&2
    grep -E 'ERROR SUMMARY|in use at exit|FILE DESCRIPTORS|definitely|indirectly|possibly' "$vg" >&2 || true
    # 99 is valgrind's: a memory error or a leak.
    [ "$FV_STATUS" -eq 0 ]
    grep -q 'ERROR SUMMARY: 0 errors' "$vg"
    run vg_open_fds "$vg"
    assert_output ""
    grep -q 'FILE DESCRIPTORS' "$vg"
    no_survivors
}
