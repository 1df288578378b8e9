# SPDX-License-Identifier: MIT
# The plan's messaging cases: short reads/writes, slow subscriber, hostile mailbox traffic.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=120}"

setup() {
    load test_helper
    export FORKVISOR
}
teardown() {
    local p
    for p in ${BG_PIDS:-}; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    exec 5<&- 2>/dev/null || true
    fv_teardown
}

fd_count() { ls "/proc/$1/fd" | wc -l; }
fds_at_most() { (($(fd_count "$FV_PID") <= $1)); }
restarts_at_least() { local r; r=$(fv info "$1" | sed -n 's/^restarts: //p'); [[ -n $r && $r -ge $2 ]]; }
info_value() { fv info "$1" | sed -n "s/^$2: //p"; }
lines_at_least() { [[ -r $2 && $(wc -l <"$2") -ge $1 ]]; }
# blocked_writing PID: PID sleeps in a write to a full pipe.
blocked_writing() { grep -q pipe_write "/proc/$1/wchan"; }
# stalled_client OUT ARGS...: run `forkvisor ARGS...` with its stdout on a FIFO that the test holds
# open on fd 5 but does not read, so the client stops reading its control connection once the
# pipe is full; sets CLIENT_PID. read_stalled OUT then drains the FIFO into OUT.
stalled_client() {
    local fifo=$BATS_TEST_TMPDIR/$1.fifo; shift
    mkfifo "$fifo"
    "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" "$@" >"$fifo" 3>&- &
    CLIENT_PID=$!
    BG_PIDS+=" $CLIENT_PID"
    exec 5<"$fifo"
}
read_stalled() { cat <&5 >"$BATS_TEST_TMPDIR/$1"; exec 5<&-; }
# deep_pool_ini N: a pool of N sleepers under sixteen nested supervisors with long names, so that
# each line of `status --json` is long.
deep_pool_ini() {
    local l name=app next
    {
        for ((l = 1; l <= 16; l++)); do
            next=$(printf 'level_%02d_of_a_deep_tree_with_lo' "$l") # 32 characters, the most a name may have
            printf '[supervisor:%s]\nchildren = %s\n' "$name" "$next"
            name=$next
        done
        printf '[supervisor:%s]\nchildren = pool\n' "$name"
        printf '[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = job\ninstances = %d\n' "$1"
        printf '[worker:job]\nexec = @W@/sleeper\nintensity = 100\n'
    } | sed '/^intensity/d' | conf t.ini
}

@test "short reads/writes: a reply of many packets to a client that stops reading; the node serves others, the reply arrives whole" {
    deep_pool_ini 600
    fv_start_big t.ini
    local size
    fv status --json >"$BATS_TEST_TMPDIR/ref.json"
    size=$(wc -c <"$BATS_TEST_TMPDIR/ref.json")
    echo "status --json: $size bytes, in packets of at most 32 KiB" >&2
    [ "$size" -gt 400000 ]
    stalled_client status.json status --json
    retry 200 0.05 blocked_writing "$CLIENT_PID"
    # The client holds at most a pipe's worth: the rest waits in its socket or in the node, which
    # meanwhile answers others and restarts a killed child.
    local victim path
    path=$(fv status | awk '/\/job\.300 / { print $1 }')
    victim=$(pid_of "$path")
    kill -KILL "$victim"
    retry 100 0.05 pid_changed "$path" "$victim"
    run -0 fv status
    # A second client that vanishes in the middle of its own large reply costs the node nothing.
    local base i
    base=$(fd_count "$FV_PID")
    for i in 1 2 3 4 5; do
        fv status --json | head -c 100 >/dev/null
    done
    # Now the stalled one reads: the whole reply, valid JSON, every node once.
    read_stalled status.json
    wait "$CLIENT_PID"
    BG_PIDS=
    local rows
    rows=$(grep -c '"path"' "$BATS_TEST_TMPDIR/status.json")
    [ "$rows" -eq 618 ]
    [ "$(grep -c '"path": "app/.*/pool/job\.' "$BATS_TEST_TMPDIR/status.json")" -eq 600 ]
    [ "$(tail -n 1 "$BATS_TEST_TMPDIR/status.json")" = '], "cluster": null}' ]
    if command -v jq >/dev/null; then jq length "$BATS_TEST_TMPDIR/status.json" >/dev/null; fi
    retry 100 0.05 fds_at_most "$base"
    daemon_running
    fv_stop
    no_survivors
}

@test "short reads/writes: 20 clients at once call with payloads near 64 KiB; every reply is whole and their own" {
    app_ini echo:@W@/echo mailbox
    fv_start t.ini
    local i pids=()
    for i in $(seq 1 20); do
        # 65000 bytes: the reply spans two control packets.
        ( payload="$i:$(head -c 64990 /dev/zero | tr '\0' "$(printf \\$(printf '%03o' $((96 + i))))")"
          out=$(fv call echo "$payload" --timeout 20000) || exit 1
          [[ $out == "echo: $payload" ]] || exit 2
          echo ok >"$BATS_TEST_TMPDIR/call.$i" ) &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    [ "$(ls "$BATS_TEST_TMPDIR"/call.* | wc -l)" -eq 20 ]
    daemon_running
    fv_stop
    no_survivors
}

# end_published: publish 99999 on feed and see it arrive in sub.out.
end_published() { fv publish feed 99999 && retry 10 0.05 grep -qx 99999 "$BATS_TEST_TMPDIR/sub.out"; }
# sync_stalled TOPIC: publish "0" on TOPIC until the stalled client's first line arrives (read one
# line of fd 5: bash reads a pipe byte by byte, so nothing more is taken from it).
sync_stalled() {
    local line i
    for ((i = 0; i < 100; i++)); do
        fv publish "$1" 0 >/dev/null
        if read -t 0.2 -r line <&5; then return 0; fi
    done
    return 1
}

@test "slow subscriber: drops counted for it alone, the fast one gets everything in order, and the node stays responsive" {
    app_ini intensity=100 \
        slow:@W@/sleeper subscribe=feed mailbox_limit=5 \
        fast:@S@/subscriber.sh subscribe=feed mailbox_limit=5000 mailbox \
        other:@W@/sleeper \
        pubs:{ strategy=simple_one_for_one template=pub "pub:@W@/publisher feed 1000 512" mailbox restart=temporary }
    fv_start t.ini
    # An outside subscriber that stops reading too (its output is a FIFO nobody reads once it is
    # known to be subscribed).
    stalled_client sub.out subscribe feed
    sync_stalled feed
    # Forget the synchronisation messages the others got.
    retry 100 0.05 file_has "$FV_TEST_OUT/fast.msgs"
    : >"$FV_TEST_OUT/fast.msgs"
    # What the slow one holds and has dropped so far: 1000 more publications fill its 5 places
    # and every other one is dropped.
    local dropped0 depth0
    dropped0=$(info_value app/slow 'publications dropped')
    depth0=$(info_value app/slow 'mailbox depth' | cut -d' ' -f1)
    run -0 fv start-child app/pubs
    retry 1200 0.05 lines_at_least 1000 "$FV_TEST_OUT/fast.msgs"
    # The node answered throughout: status, a call, a restart.
    run -0 fv status
    local old; old=$(pid_of app/other)
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/other "$old"
    [ "$(awk '$2 != 0 { print $2 }' "$FV_TEST_OUT/fast.msgs" | cut -d. -f1 | paste -sd ' ')" = "$(seq 1 1000 | paste -sd ' ')" ]
    run -0 fv info app/slow
    assert_line "mailbox depth: 5 of 5"
    [ "$(info_value app/slow 'publications dropped')" -eq $((dropped0 + 1000 - (5 - depth0))) ]
    [ "$(info_value app/fast 'publications dropped')" = 0 ]
    # The stalled outside subscriber reads again: what it gets is in order, never a message twice,
    # and it is not cut off (a last message still arrives).
    cat <&5 >"$BATS_TEST_TMPDIR/sub.out" &
    BG_PIDS+=" $!"
    exec 5<&-
    retry 100 0.05 end_published
    kill "$CLIENT_PID"
    awk '{ split($1, a, "."); if (a[1] != 0 && a[1] != 99999) print a[1] }' "$BATS_TEST_TMPDIR/sub.out" \
        >"$BATS_TEST_TMPDIR/sub.seq"
    echo "stalled outside subscriber got $(wc -l <"$BATS_TEST_TMPDIR/sub.seq") of 1000" >&2
    [ "$(wc -l <"$BATS_TEST_TMPDIR/sub.seq")" -gt 0 ]
    sort -n -c "$BATS_TEST_TMPDIR/sub.seq"
    [ "$(uniq -d "$BATS_TEST_TMPDIR/sub.seq" | wc -l)" -eq 0 ]
    daemon_running
    fv_stop
    no_survivors
}

@test "hostile mailbox traffic: seven kinds of misbehaviour at once; each offender restarted, the others served, no fd leaked" {
    local modes=(garbage truncated lies oversize fds kind flood) m
    {
        echo '[supervisor:app]'
        echo 'intensity = 100000'
        echo 'period = 1'
        echo "children = echo, sub, ${modes[*]}, pub"
        printf '[worker:echo]\nexec = @W@/echo\nready = mailbox\n'
        printf '[worker:sub]\nexec = @S@/subscriber.sh\nsubscribe = feed\nmailbox_limit = 2000\nready = mailbox\n'
        for m in "${modes[@]}"; do printf '[worker:%s]\nexec = @W@/hostile %s\nrestart_delay = 20\n' "$m" "$m"; done
        printf '[worker:pub]\nexec = @W@/publisher feed 1000\nready = mailbox\nrestart = temporary\n'
    } | conf t.ini
    fv_start_big t.ini
    local echo_pid sub_pid k
    echo_pid=$(pid_of app/echo) sub_pid=$(pid_of app/sub)
    for m in "${modes[@]}"; do retry 200 0.05 restarts_at_least "app/$m" 2; done
    for k in 1 2 3 4 5; do
        run -0 fv call echo "ping $k" --timeout 5000
        assert_output "echo: ping $k"
    done
    # The well-behaved subscriber got the whole feed, in order, despite its noisy neighbours.
    # (Waited for long: a shell subscriber runs a forkvisor per message, slow under sanitizers.)
    retry 2400 0.05 lines_at_least 1000 "$FV_TEST_OUT/sub.msgs"
    [ "$(awk '{ print $2 }' "$FV_TEST_OUT/sub.msgs" | paste -sd ' ')" = "$(seq 1 1000 | paste -sd ' ')" ]
    [ "$(pid_of app/echo)" = "$echo_pid" ]
    [ "$(pid_of app/sub)" = "$sub_pid" ]
    [ "$(info_value app/echo restarts)" = 0 ]
    [ "$(info_value app/sub restarts)" = 0 ]
    # Stop the offenders: the node's descriptors are what a tree of echo and sub holds.
    for m in "${modes[@]}"; do run -0 fv stop "app/$m"; done
    local with_two; with_two=$(fd_count "$FV_PID")
    run -0 fv stop app/echo
    run -0 fv stop app/sub
    local none; none=$(fd_count "$FV_PID")
    echo "node fds: $with_two with echo and sub, $none with no worker" >&2
    # Each running worker costs the node a few fds (mailbox, output pipes); the offenders left none.
    [ $((with_two - none)) -le 8 ]
    daemon_running
    fv_stop
    no_survivors
}
