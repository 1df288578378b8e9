# SPDX-License-Identifier: MIT
# Mailboxes (SPEC 1, 6.1, 6.2; issue 3): call/reply through C and shell workers, from outside and
# from inside the tree; ordered casts; noproc; call timeouts; a callee that dies during a call; a
# worker that calls while messages arrive for it; mailbox_limit; monitor/down; hostile workers
# that break the protocol; get-state; ready = mailbox; recv --timeout; the worker-only commands
# outside a worker.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=20}" # a daemon that never answers fails the test, not the run

setup() {
    load test_helper
    # The shell workers (workers/echo.sh and the scripts below) run the forkvisor under test.
    export FORKVISOR
}
teardown() { fv_teardown; }

# script NAME <<'SH': an executable shell worker $BATS_TEST_TMPDIR/NAME. It records its pid for
# no_survivors, and `forkvisor` in it runs the forkvisor under test. @W@ is replaced by the C
# workers' directory.
script() {
    {
        printf '#!/bin/sh\necho $$ >>"$FV_TEST_OUT/pids"\nforkvisor() { "$FORKVISOR" "$@"; }\n'
        sed -e "s|@W@|$WORKERS|g"
    } >"$BATS_TEST_TMPDIR/$1"
    chmod +x "$BATS_TEST_TMPDIR/$1"
}

# The worker every test below that needs a receiver uses: ready, then append every message's
# payload, one per line, to $FV_TEST_OUT/<name>.got. It never replies.
recorder_script() {
    script recorder <<'SH'
forkvisor ready
while m=$(forkvisor recv); do printf '%s\n' "$m" >>"$FV_TEST_OUT/$FORKVISOR_NAME.got"; done
SH
}

ms_now() { date +%s%3N; }
# lines_at_least N FILE
lines_at_least() { [[ -r $2 && $(wc -l <"$2") -ge $1 ]]; }
# restarts_at_least PATH N
restarts_at_least() { [[ $(fv info "$1" | sed -n 's/^restarts: //p') -ge $2 ]]; }
# info_value PATH KEY: one "KEY: value" line of `forkvisor info PATH`.
info_value() { fv info "$1" | sed -n "s/^$2: //p"; }
# fd_count PID
fd_count() { ls "/proc/$1/fd" | wc -l; }
fds_are() { [[ $(fd_count "$FV_PID") -eq $1 ]]; }
# info_is PATH KEY VALUE: `forkvisor info PATH` says "KEY: VALUE".
info_is() { [[ $(info_value "$1" "$2") == "$3" ]]; }
# Note: bats 1.8's `run -N` sets a global $i (bats_any_in leaks it): loops around run use $k.

# --- call/reply -------------------------------------------------------------------------------

@test "call: the C echo worker answers from outside, by name and by pid" {
    app_ini echo:@W@/echo mailbox
    fv_start t.ini
    run -0 fv call echo hello
    assert_output "echo: hello"
    run -0 fv call echo "two words, 'quotes' and \"more\""
    assert_output "echo: two words, 'quotes' and \"more\""
    run -0 fv call echo ""
    assert_output "echo: "
    run -0 fv call "$(pid_of app/echo)" "by pid"
    assert_output "echo: by pid"
    # Four calls delivered, nothing dropped or left queued.
    run -0 fv info app/echo
    assert_line "messages out: 4"
    assert_line "messages dropped: 0"
    assert_line "mailbox depth: 0 of 1024"
    fv_stop
    no_survivors
}

@test "call: the shell worker of SPEC 1 (workers/echo.sh) answers, the payload intact" {
    app_ini shecho:@S@/echo.sh mailbox
    fv_start t.ini
    run -0 fv call shecho hello
    assert_output "echo: hello"
    # Everything the shell could trip on: quotes, expansions, globs, separators, backslashes.
    local p="it's \"\$HOME\" \`id\` \$(id) * ; | & \\n \\\\ end"
    run -0 fv call shecho "$p"
    assert_output "echo: $p"
    run -0 fv call shecho $'two\nlines'
    assert_output $'echo: two\nlines'
    fv_stop
    no_survivors
}

@test "call: from inside a worker, to the C echo, the shell echo and by pid" {
    script caller <<'SH'
out=$FV_TEST_OUT/caller
forkvisor call echo "from a worker" >"$out.1" 2>&1; echo "rc=$?" >>"$out.1"
forkvisor call shecho "it's me" >"$out.2" 2>&1; echo "rc=$?" >>"$out.2"
forkvisor call "$(cat "$FV_TEST_OUT/echo.started")" "by pid" >"$out.3" 2>&1; echo "rc=$?" >>"$out.3"
touch "$out.done"
SH
    app_ini echo:@W@/echo mailbox shecho:@S@/echo.sh mailbox caller:caller temporary
    fv_start t.ini
    retry 100 0.05 test -e "$FV_TEST_OUT/caller.done"
    run -0 cat "$FV_TEST_OUT/caller.1"
    assert_output $'echo: from a worker\nrc=0'
    run -0 cat "$FV_TEST_OUT/caller.2"
    assert_output $'echo: it\'s me\nrc=0'
    run -0 cat "$FV_TEST_OUT/caller.3"
    assert_output $'echo: by pid\nrc=0'
    fv_stop
    no_survivors
}

# payload_workers: echo, a recorder, and (when $1 is given) the worker script $1 after them.
payload_workers() {
    recorder_script
    app_ini echo:@W@/echo mailbox recorder:recorder mailbox ${1:+"$1:$1" temporary}
}

@test "call: from inside a worker, payloads of 64 KiB pass, larger ones are refused clearly" {
    script big <<'SH'
out=$FV_TEST_OUT/big
big=$(head -c 65536 /dev/zero | tr '\0' x)
forkvisor call echo "$big" | wc -c >"$out.len"
forkvisor send recorder "$big"
forkvisor call echo "${big}y" >/dev/null 2>"$out.err1"; echo "rc=$?" >>"$out.err1"
forkvisor send recorder "${big}y" 2>"$out.err2"; echo "rc=$?" >>"$out.err2"
touch "$out.done"
SH
    payload_workers big
    fv_start t.ini
    retry 100 0.05 test -e "$FV_TEST_OUT/big.done"
    # echo answers "echo: " and as much of the request as it fits in its 64 KiB buffer (one byte
    # is kept for the NUL), and call adds a newline.
    [ "$(cat "$FV_TEST_OUT/big.len")" -ge 65536 ]
    retry 100 0.05 file_has "$FV_TEST_OUT/recorder.got"
    [ "$(wc -c <"$FV_TEST_OUT/recorder.got")" -eq 65537 ]
    run -0 cat "$FV_TEST_OUT/big.err1"
    assert_output --regexp 'too long.*65536'
    assert_line rc=1
    run -0 cat "$FV_TEST_OUT/big.err2"
    assert_output --regexp 'too long.*65536'
    assert_line rc=1
    # Nothing was harmed: only the one 64 KiB cast reached the recorder.
    run -0 fv call echo ok
    assert_output "echo: ok"
    [ "$(wc -l <"$FV_TEST_OUT/recorder.got")" -eq 1 ]
    fv_stop
    no_survivors
}

@test "call: from outside, payloads of 64 KiB pass, larger ones are refused clearly" {
    payload_workers
    fv_start t.ini
    local big; big=$(head -c 65536 /dev/zero | tr '\0' x)
    run -0 fv call echo "$big"
    [ "${#output}" -ge 65535 ]
    [[ $output == "echo: xxxx"* ]]
    run -0 fv send recorder "$big"
    retry 100 0.05 file_has "$FV_TEST_OUT/recorder.got"
    [ "$(wc -c <"$FV_TEST_OUT/recorder.got")" -eq 65537 ]
    run -1 fv call echo "${big}y"
    assert_output --regexp 'too long|65536'
    run -1 fv send recorder "${big}y"
    assert_output --regexp 'too long|65536'
    fv_stop
    no_survivors
}

# --- casts --------------------------------------------------------------------------------------

@test "send: 100 casts from outside arrive in order" {
    recorder_script
    app_ini rec:recorder mailbox
    fv_start t.ini
    local i
    for ((i = 1; i <= 100; i++)); do fv send rec "cast $i"; done
    retry 200 0.05 lines_at_least 100 "$FV_TEST_OUT/rec.got"
    diff <(seq -f 'cast %g' 1 100) "$FV_TEST_OUT/rec.got"
    fv_stop
    no_survivors
}

@test "send: 100 casts from inside a worker arrive in order, addressed by name and by pid" {
    recorder_script
    script sender <<'SH'
pid=$(forkvisor whereis rec)
i=1
while [ $i -le 100 ]; do
    # every other cast by pid
    [ $((i % 2)) -eq 0 ] && to=$pid || to=rec
    forkvisor send "$to" "cast $i" || echo "send $i failed" >>"$FV_TEST_OUT/sender.err"
    i=$((i + 1))
done
SH
    app_ini rec:recorder mailbox sender:sender temporary
    fv_start t.ini
    retry 200 0.05 lines_at_least 100 "$FV_TEST_OUT/rec.got"
    diff <(seq -f 'cast %g' 1 100) "$FV_TEST_OUT/rec.got"
    [ ! -e "$FV_TEST_OUT/sender.err" ]
    fv_stop
    no_survivors
}

@test "send: to a name nobody holds, outside says noproc (exit 1), inside the cast is dropped" {
    script dropper <<'SH'
forkvisor send nobody x; echo "rc=$?" >"$FV_TEST_OUT/dropper.rc.tmp"
mv "$FV_TEST_OUT/dropper.rc.tmp" "$FV_TEST_OUT/dropper.rc"
SH
    app_ini dropper:dropper temporary
    fv_start t.ini
    run -1 fv send nobody x
    assert_output --partial noproc
    retry 100 0.05 test -e "$FV_TEST_OUT/dropper.rc"
    [ "$(cat "$FV_TEST_OUT/dropper.rc")" = rc=0 ]
    daemon_running
    fv_stop
    no_survivors
}

# --- calls that fail ---------------------------------------------------------------------------

@test "call: noproc at once for a name nobody holds, from outside and from inside" {
    script caller <<'SH'
s=$(date +%s%3N)
forkvisor call nobody x --timeout 5000 >"$FV_TEST_OUT/caller.out" 2>&1
echo "rc=$? ms=$(($(date +%s%3N) - s))" >"$FV_TEST_OUT/caller.rc.tmp"
mv "$FV_TEST_OUT/caller.rc.tmp" "$FV_TEST_OUT/caller.rc"
SH
    app_ini caller:caller temporary
    fv_start t.ini
    local t0 t1
    t0=$(ms_now)
    run -1 fv call nobody x --timeout 5000
    t1=$(ms_now)
    assert_output --partial noproc
    [ $((t1 - t0)) -lt 1000 ]
    run -1 fv call 999999999 x --timeout 5000
    assert_output --partial noproc
    retry 100 0.05 test -e "$FV_TEST_OUT/caller.rc"
    run -0 cat "$FV_TEST_OUT/caller.out"
    assert_output --partial noproc
    run -0 cat "$FV_TEST_OUT/caller.rc"
    assert_output --regexp '^rc=1 ms=[0-9]+$'
    [ "${output##*ms=}" -lt 1000 ]
    fv_stop
    no_survivors
}

@test "call: a callee that never replies gives timeout (exit 1) after --timeout" {
    recorder_script
    app_ini mute:recorder mailbox
    fv_start t.ini
    local t0 t1
    t0=$(ms_now)
    run -1 fv call mute "hello?" --timeout 300
    t1=$(ms_now)
    assert_output --partial timeout
    echo "took $((t1 - t0)) ms" >&2
    [ $((t1 - t0)) -ge 300 ] && [ $((t1 - t0)) -lt 3000 ]
    # It was delivered, just not answered.
    retry 100 0.05 file_has "$FV_TEST_OUT/mute.got"
    [ "$(cat "$FV_TEST_OUT/mute.got")" = "hello?" ]
    # get-state too is a call like any other.
    run -1 fv get-state mute --timeout 300
    assert_output --partial timeout
    fv_stop
    no_survivors
}

@test "call: a callee that dies while the call is pending fails it at once with 'callee exited'" {
    recorder_script
    app_ini mute:recorder mailbox
    fv_start t.ini
    local pid cp t0 t1 rc=0
    pid=$(pid_of app/mute)
    fv call mute pending --timeout 15000 >"$BATS_TEST_TMPDIR/call.out" 2>&1 &
    cp=$!
    retry 100 0.05 file_has "$FV_TEST_OUT/mute.got"
    t0=$(ms_now)
    kill -KILL "$pid"
    wait "$cp" || rc=$?
    t1=$(ms_now)
    echo "the call ended $((t1 - t0)) ms after the kill" >&2
    [ "$rc" -eq 1 ]
    [ $((t1 - t0)) -lt 2000 ]
    run -0 cat "$BATS_TEST_TMPDIR/call.out"
    assert_output --partial "callee exited"
    # The callee is restarted by its policy, and answers calls again (well, records them).
    retry 100 0.05 pid_changed app/mute "$pid"
    fv_stop
    no_survivors
}

@test "call: from inside a worker, the callee's death fails the call at once" {
    recorder_script
    script caller <<'SH'
s=$(date +%s%3N)
forkvisor call mute pending --timeout 15000 >"$FV_TEST_OUT/caller.out" 2>&1
echo "rc=$? ms=$(($(date +%s%3N) - s))" >"$FV_TEST_OUT/caller.rc.tmp"
mv "$FV_TEST_OUT/caller.rc.tmp" "$FV_TEST_OUT/caller.rc"
SH
    app_ini mute:recorder mailbox caller:caller temporary
    fv_start t.ini
    retry 100 0.05 file_has "$FV_TEST_OUT/mute.got"
    kill -KILL "$(pid_of app/mute)"
    retry 40 0.05 test -e "$FV_TEST_OUT/caller.rc"
    run -0 cat "$FV_TEST_OUT/caller.out"
    assert_output --partial "callee exited"
    run -0 cat "$FV_TEST_OUT/caller.rc"
    assert_output --regexp '^rc=1 ms=[0-9]+$'
    [ "${output##*ms=}" -lt 5000 ]
    fv_stop
    no_survivors
}

# --- no message lost or stolen -----------------------------------------------------------------

@test "a worker that calls while messages arrive for it receives every one later, in order" {
    # slow answers a call only after it has cast three messages to the caller (by its pid, the
    # sender of the call), so they arrive while the caller's `forkvisor call` is in flight.
    script slow <<'SH'
forkvisor ready
while msg=$(forkvisor recv --shell); do
    eval "$msg"
    if [ "$FV_KIND" = call ]; then
        for i in 1 2 3; do forkvisor send "$FV_FROM" "during $i"; done
        forkvisor reply "$FV_REF" "answer to $FV_PAYLOAD"
    fi
done
SH
    script a <<'SH'
out=$FV_TEST_OUT/a
forkvisor send a "before 1"
forkvisor send "$$" "before 2"
forkvisor call slow go --timeout 5000 >"$out.reply"
forkvisor send a after
while m=$(forkvisor recv --timeout 500); do printf '%s\n' "$m" >>"$out.got"; done
touch "$out.done"
SH
    app_ini slow:slow mailbox a:a temporary
    fv_start t.ini
    retry 200 0.05 test -e "$FV_TEST_OUT/a.done"
    [ "$(cat "$FV_TEST_OUT/a.reply")" = "answer to go" ]
    run -0 cat "$FV_TEST_OUT/a.got"
    assert_output "$(printf '%s\n' "before 1" "before 2" "during 1" "during 2" "during 3" after)"
    fv_stop
    no_survivors
}

@test "a worker's call is not stolen by its own recv running at the same time, nor the reverse" {
    # b reads its mailbox in the background while it calls in the foreground: the answers go to
    # the calls, the casts to the reader, nothing twice, nothing lost.
    script b <<'SH'
out=$FV_TEST_OUT/b
(while m=$(forkvisor recv); do printf '%s\n' "$m" >>"$out.got"; done) &
i=1
while [ $i -le 10 ]; do
    forkvisor send b "cast $i"
    forkvisor call echo "call $i" >>"$out.replies"
    i=$((i + 1))
done
touch "$out.done"
wait
SH
    app_ini echo:@W@/echo mailbox b:b
    fv_start t.ini
    retry 200 0.05 test -e "$FV_TEST_OUT/b.done"
    retry 100 0.05 lines_at_least 10 "$FV_TEST_OUT/b.got"
    diff <(seq -f 'echo: call %g' 1 10) "$FV_TEST_OUT/b.replies"
    diff <(seq -f 'cast %g' 1 10) "$FV_TEST_OUT/b.got"
    fv_stop
    no_survivors
}

# --- mailbox_limit ------------------------------------------------------------------------------

# A worker that says ready and then never reads its mailbox.
deaf_script() {
    script deaf <<'SH'
forkvisor ready
exec @W@/sleeper
SH
}

@test "mailbox_limit: beyond it, casts are dropped and counted and a call is refused at once" {
    deaf_script
    app_ini deaf:deaf mailbox mailbox_limit=5
    fv_start t.ini
    local k t0 t1
    for k in 1 2 3 4 5; do fv send deaf "cast $k"; done
    run -0 fv info app/deaf
    assert_line "mailbox depth: 5 of 5"
    assert_line "messages dropped: 0"
    # From outside the operator is told; the cast is dropped and counted all the same.
    for k in 6 7 8; do
        run -1 fv send deaf "cast $k"
        assert_output --partial "mailbox full"
    done
    run -0 fv info app/deaf
    assert_line "mailbox depth: 5 of 5"
    assert_line "messages dropped: 3"
    t0=$(ms_now)
    run -1 fv call deaf x --timeout 3000
    t1=$(ms_now)
    assert_output --partial "mailbox full"
    [ $((t1 - t0)) -lt 1000 ]
    fv_stop
    no_survivors
}

# --- monitors -----------------------------------------------------------------------------------

@test "monitor: down with the name and the reason when the process ends; noproc for nobody" {
    script watcher <<'SH'
forkvisor monitor b
forkvisor monitor nobody
forkvisor ready
while msg=$(forkvisor recv --shell); do
    printf '%s\n' "$msg" >>"$FV_TEST_OUT/watcher.raw"
    eval "$msg"
    printf '%s|%s|%s|%s\n' "$FV_KIND" "$FV_TOPIC" "$FV_FROM" "$FV_PAYLOAD" >>"$FV_TEST_OUT/watcher.got"
done
SH
    app_ini intensity=5 b:@W@/sleeper watcher:watcher mailbox
    fv_start t.ini
    local b; b=$(pid_of app/b)
    retry 100 0.05 lines_at_least 1 "$FV_TEST_OUT/watcher.got"
    [ "$(sed -n 1p "$FV_TEST_OUT/watcher.got")" = "down|nobody|0|noproc" ]
    kill -KILL "$b"
    retry 100 0.05 lines_at_least 2 "$FV_TEST_OUT/watcher.got"
    [ "$(sed -n 2p "$FV_TEST_OUT/watcher.got")" = "down|b|$b|signal KILL" ]
    run -0 grep -c '^FV_KIND=down$' "$FV_TEST_OUT/watcher.raw"
    assert_output 2
    # A monitor watches one process, not the name: the successor's death sends nothing. The cast
    # from outside, sent after b's restart, comes after any down that restart would have made.
    retry 100 0.05 pid_changed app/b "$b"
    b=$(pid_of app/b)
    kill -KILL "$b"
    retry 100 0.05 pid_changed app/b "$b"
    fv send watcher sync
    retry 100 0.05 lines_at_least 3 "$FV_TEST_OUT/watcher.got"
    [ "$(sed -n 3p "$FV_TEST_OUT/watcher.got")" = "cast|watcher|0|sync" ]
    fv_stop
    no_survivors
}

@test "monitor: by pid, and the down of an exit status" {
    script c <<'SH'
echo $$ >"$FV_TEST_OUT/c.pid.tmp"; mv "$FV_TEST_OUT/c.pid.tmp" "$FV_TEST_OUT/c.pid"
forkvisor ready
while [ ! -e "$FV_TEST_OUT/go" ]; do sleep 0.02; done
exit 3
SH
    script watcher <<'SH'
forkvisor monitor "$(cat "$FV_TEST_OUT/c.pid")"
forkvisor ready
while msg=$(forkvisor recv --shell); do
    eval "$msg"
    printf '%s|%s|%s|%s\n' "$FV_KIND" "$FV_TOPIC" "$FV_FROM" "$FV_PAYLOAD" >>"$FV_TEST_OUT/watcher.got"
done
SH
    app_ini c:c mailbox temporary watcher:watcher mailbox
    # c is ready only once c.pid is written, so watcher reads the right pid.
    fv_start t.ini
    local c; c=$(pid_of app/c)
    [ "$(cat "$FV_TEST_OUT/c.pid")" = "$c" ]
    touch "$FV_TEST_OUT/go"
    retry 100 0.05 lines_at_least 1 "$FV_TEST_OUT/watcher.got"
    [ "$(cat "$FV_TEST_OUT/watcher.got")" = "down|$c|$c|exit status 3" ]
    fv_stop
    no_survivors
}

# --- hostile workers ----------------------------------------------------------------------------

# hostile_contained MODE: a hostile worker h next to a well-behaved echo: h is logged, killed
# and restarted by its own policy, again and again; the daemon and echo go on as if nothing
# happened.
hostile_contained() {
    app_ini intensity=1000 echo:@W@/echo mailbox "h:@W@/hostile $1" restart_delay=50
    fv_start t.ini
    local echo_pid
    echo_pid=$(pid_of app/echo)
    retry 100 0.05 restarts_at_least app/h 3
    # Each of at least three incarnations (three pids) was logged and killed.
    run -0 sed -n "s/^<4>'app\/h' (pid \([0-9]*\)) broke the mailbox protocol (.*): closed its mailbox, killing it$/\1/p" <(fv_log_plain)
    local p killed=0
    for p in $(sort -u <<<"$output"); do
        grep -qF "'app/h' (pid $p) killed by signal KILL" "$(fv_log)" && killed=$((killed + 1))
    done
    [ "$killed" -ge 3 ]
    daemon_running
    [ "$(pid_of app/echo)" = "$echo_pid" ]
    [ "$(info_value app/echo restarts)" = 0 ]
    run -0 fv call echo "still here" --timeout 2000
    assert_output "echo: still here"
    fv_stop
    no_survivors
}

@test "hostile garbage: logged, closed, restarted; the node and a sibling unharmed" { hostile_contained garbage; }
@test "hostile truncated: logged, closed, restarted; the node and a sibling unharmed" { hostile_contained truncated; }
@test "hostile lies: logged, closed, restarted; the node and a sibling unharmed" { hostile_contained lies; }
@test "hostile oversize: logged, closed, restarted; the node and a sibling unharmed" { hostile_contained oversize; }
@test "hostile fds: logged, closed, restarted; the node and a sibling unharmed" { hostile_contained fds; }
@test "hostile kind: logged, closed, restarted; the node and a sibling unharmed" { hostile_contained kind; }

@test "a record with a kind only the node sends is refused whole: the good cast before it is not delivered" {
    app_ini intensity=1000 echo:@W@/echo mailbox "h:@W@/hostile mixed" restart_delay=50
    fv_start t.ini
    retry 100 0.05 restarts_at_least app/h 3
    fv_log_plain | grep -q "^<4>'app/h' (pid [0-9]*) broke the mailbox protocol (a frame kind only the node may send)"
    # Each incarnation cast to echo first, in the record it broke the protocol with; the one cast
    # that counts is ours (from the same sender as get-state, so it arrives first).
    fv send echo "after"
    run -0 fv get-state echo
    assert_output "casts=1 calls=0"
    fv_stop
    no_survivors
}

@test "hostile flood: the node keeps serving others, and a restart is not delayed" {
    app_ini intensity=100000 period=1 echo:@W@/echo mailbox s:@W@/sleeper "h:@W@/hostile flood"
    fv_start t.ini
    # The flooder fills its mailbox, is treated as broken, restarts, floods again: all the while
    # the node keeps serving the others.
    retry 100 0.05 restarts_at_least app/h 2
    local k s t0 t1
    for k in 1 2 3 4 5; do
        run -0 fv call echo "ping $k" --timeout 2000
        assert_output "echo: ping $k"
    done
    s=$(pid_of app/s)
    t0=$(ms_now)
    kill -KILL "$s"
    retry 100 0.02 pid_changed app/s "$s"
    t1=$(ms_now)
    echo "restart during the flood: $((t1 - t0)) ms" >&2
    [ $((t1 - t0)) -lt 1000 ]
    daemon_running
    fv_stop
    no_survivors
}

@test "hostile flood: per issue 3, the flooder's mailbox is closed and it is restarted" {
    # Issue 3, Bad input: a child that floods its mailbox is logged, its mailbox closed, and it
    # is restarted by its own policy. hostile flood casts to itself without end.
    app_ini intensity=100 echo:@W@/echo mailbox "h:@W@/hostile flood" mailbox_limit=16 restart_delay=100
    fv_start t.ini
    local echo_pid; echo_pid=$(pid_of app/echo)
    retry 100 0.05 restarts_at_least app/h 1
    grep -q "broke the mailbox protocol (flooding" "$(fv_log)"
    # Nobody else is affected: echo keeps its pid and answers at once.
    run -0 fv call echo still --timeout 1000
    assert_output "echo: still"
    [ "$(pid_of app/echo)" = "$echo_pid" ]
    fv_stop
    no_survivors
}

@test "hostile workers leak no descriptor in the daemon" {
    local modes=(garbage truncated lies oversize fds kind) m
    {
        echo '[supervisor:app]'
        echo 'intensity = 1000'
        echo "children = echo ${modes[*]}"
        printf '[worker:echo]\nexec = @W@/echo\nready = mailbox\n'
        for m in "${modes[@]}"; do printf '[worker:%s]\nexec = @W@/hostile %s\nrestart_delay = 20\n' "$m" "$m"; done
    } | conf t.ini
    fv_start_nowait t.ini
    retry 100 0.05 info_is app/echo state running
    for m in "${modes[@]}"; do fv stop "app/$m"; done
    run -0 fv call echo before
    local base; base=$(fd_count "$FV_PID")
    echo "daemon fds with every hostile worker stopped: $base" >&2
    for m in "${modes[@]}"; do
        fv start "app/$m" || true
        retry 100 0.05 restarts_at_least "app/$m" 3
        fv stop "app/$m"
    done
    run -0 fv call echo after
    assert_output "echo: after"
    retry 50 0.05 fds_are "$base" || { ls -l "/proc/$FV_PID/fd" >&2; false; }
    fv_stop
    no_survivors
}

# --- get-state ---------------------------------------------------------------------------------

@test "get-state: the counter GenServer's state after casts; calls agree" {
    app_ini counter:@W@/counter mailbox echo:@W@/echo mailbox
    fv_start t.ini
    run -0 fv get-state counter
    assert_output "count=0"
    fv send counter inc
    fv send counter inc
    fv send counter inc
    fv send counter "add 10"
    fv send counter "bogus"
    run -0 fv get-state counter
    assert_output "count=13"
    run -0 fv call counter get
    assert_output 13
    run -0 fv call counter nonsense
    assert_output --partial "error: unknown call"
    run -0 fv get-state "$(pid_of app/counter)"
    assert_output "count=13"
    # The library's plain loop too.
    fv call echo x >/dev/null
    run -0 fv get-state echo
    assert_output "casts=0 calls=1"
    run -1 fv get-state nobody
    assert_output --partial noproc
    fv_stop
    no_survivors
}

# --- ready = mailbox --------------------------------------------------------------------------

@test "ready = mailbox: the next child starts only once the worker said ready" {
    script slow <<'SH'
touch "$FV_TEST_OUT/slow.started"
while [ ! -e "$FV_TEST_OUT/go" ]; do sleep 0.02; done
forkvisor ready
exec @W@/sleeper
SH
    app_ini slow:slow mailbox after:@W@/sleeper
    fv_start_nowait t.ini
    retry 100 0.05 test -e "$FV_TEST_OUT/slow.started"
    # Not ready within 300 ms: the tree is not running and after has not been started.
    run -1 fv wait --timeout 300
    [ "$(state_of app/slow)" = starting ]
    [ "$(state_of app/after)" != running ]
    [ ! -e "$FV_TEST_OUT/after.started" ]
    touch "$FV_TEST_OUT/go"
    run -0 fv wait --timeout 5000
    # (after writes its marker once it runs, which may be just after exec succeeded)
    retry 100 0.05 test -e "$FV_TEST_OUT/after.started"
    ascending "$(line_of "Started 'app/slow'")" "$(line_of "Started 'app/after'")"
    fv_stop
    no_survivors
}

@test "ready = mailbox: the C library reports ready for a GenServer; a silent worker fails to start" {
    app_ini counter:@W@/counter mailbox silent:@W@/sleeper mailbox ready_timeout=300
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "Started 'app/counter'" "$(fv_log)"
    run -0 grep -F "app/silent" "$(fv_log)"
    assert_output --partial "ready"
    no_survivors
}

# --- recv and the worker-only commands --------------------------------------------------------

@test "recv --timeout exits 1 when nothing comes; recv --shell prints assignments for eval" {
    script r <<'SH'
out=$FV_TEST_OUT/r
forkvisor ready
s=$(date +%s%3N)
forkvisor recv --timeout 200 >"$out.out" 2>"$out.err"
echo "rc=$? ms=$(($(date +%s%3N) - s))" >"$out.rc.tmp"; mv "$out.rc.tmp" "$out.rc"
forkvisor recv --shell >"$out.shell.tmp"; mv "$out.shell.tmp" "$out.shell"
exec @W@/sleeper
SH
    app_ini r:r mailbox
    fv_start t.ini
    retry 100 0.05 test -e "$FV_TEST_OUT/r.rc"
    run -0 cat "$FV_TEST_OUT/r.rc"
    assert_output --regexp '^rc=1 ms=[0-9]+$'
    [ "${output##*ms=}" -ge 200 ]
    [ ! -s "$FV_TEST_OUT/r.out" ]
    [ -s "$FV_TEST_OUT/r.err" ]
    fv send r "it's a 'test'"
    retry 100 0.05 test -e "$FV_TEST_OUT/r.shell"
    run -0 cat "$FV_TEST_OUT/r.shell"
    assert_line "FV_KIND=cast"
    assert_line "FV_REF=0"
    assert_line "FV_FROM=0"
    assert_line "FV_TOPIC='r'"
    # eval gives the bytes back.
    run -0 sh -c ". \"\$1\"; printf '%s' \"\$FV_PAYLOAD\"" sh "$FV_TEST_OUT/r.shell"
    assert_output "it's a 'test'"
    fv_stop
    no_survivors
}

@test "ready, recv, reply, monitor outside a worker exit 2 and say why" {
    local cmd
    for cmd in "ready" "recv" "recv --timeout 10" "reply 1 x" "monitor x"; do
        # shellcheck disable=SC2086
        run -2 env -u FORKVISOR_MAILBOX "$FORKVISOR" $cmd
        assert_output --partial "not inside a forkvisor worker"
    done
    # Usage errors inside a worker are 2 too.
    run -2 env FORKVISOR_MAILBOX=3 "$FORKVISOR" recv --bogus 3</dev/null
}
