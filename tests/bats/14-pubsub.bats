# SPDX-License-Identifier: MIT
# Pub/sub (SPEC 1, 6.4; issue 5): exact and prefix subscriptions, once and in order; slow
# subscribers lose only their own messages; subscriptions end with their subscriber; subscribe
# and events from outside the tree; lifecycle events; publications never delay a restart.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=90}"

setup() {
    load test_helper
    export FORKVISOR
}
teardown() {
    local p
    for p in ${STREAMS:-}; do kill "$p" 2>/dev/null || true; done
    fv_teardown
}

# stream OUT ARGS...: run `forkvisor ARGS...` (subscribe or events) in the background, its
# output into $BATS_TEST_TMPDIR/OUT; its pid is killed by teardown.
stream() {
    local out=$BATS_TEST_TMPDIR/$1; shift
    # Not through fv(): $! must be forkvisor itself, not a subshell.
    # Appending: a test may empty the file while it runs.
    "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" "$@" >>"$out" 2>"$out.err" 3>&- &
    STREAM_PID=$!
    STREAMS+=" $STREAM_PID"
}
msgs() { echo "$FV_TEST_OUT/$1.msgs"; }
has_line() { grep -qxF -- "$2" "$1" 2>/dev/null; }
lines_at_least() { [[ -r $2 && $(wc -l <"$2") -ge $1 ]]; }
info_value() { fv info "$1" | sed -n "s/^$2: //p"; }
# synced FILE LINE TOPIC: publish LINE's payload on TOPIC until FILE has LINE (the subscriber
# is listening), then forget what it received so far.
synced() {
    local file=$1 line=$2 topic=$3
    retry 100 0.05 sync_once "$file" "$line" "$topic" && : >"$file"
}
sync_once() { fv publish "$3" "${2##* }" && retry 4 0.05 has_line "$1" "$2"; }

two_subscribers_ini() {
    app_ini \
        exact:@S@/subscriber.sh subscribe=orders:eu mailbox \
        prefix:@S@/subscriber.sh "subscribe=orders:*" mailbox
}

@test "pubsub: exact and prefix subscribers get every message once, in publication order" {
    two_subscribers_ini
    fv_start t.ini
    for k in 1 2 3 4 5; do
        fv publish orders:eu "eu$k"
        fv publish orders:us "us$k"
        fv publish other "x$k"
    done
    retry 100 0.05 lines_at_least 10 "$(msgs prefix)"
    retry 100 0.05 lines_at_least 5 "$(msgs exact)"
    run cat "$(msgs exact)"
    assert_output "$(printf 'orders:eu eu%s\n' 1 2 3 4 5)"
    run cat "$(msgs prefix)"
    assert_output "$(for k in 1 2 3 4 5; do printf 'orders:eu eu%s\norders:us us%s\n' $k $k; done)"
    run -0 fv info app/prefix
    assert_line "subscriptions: orders:*"
    assert_line "publications dropped: 0"
}

@test "pubsub: a worker publishes; subscribers get it once even when two patterns match, from its pid" {
    app_ini \
        sub:@S@/subscriber.sh "subscribe=jobs:*, jobs:done, jobs:*" mailbox \
        "pub:@W@/publisher jobs:done 50" mailbox
    fv_start t.ini
    retry 100 0.05 lines_at_least 50 "$(msgs sub)"
    run cat "$(msgs sub)"
    assert_output "$(printf 'jobs:done %s\n' $(seq 1 50))"
    run -0 fv info app/sub
    assert_line "subscriptions: jobs:* jobs:done"
    run -0 sort -u "$FV_TEST_OUT/sub.from"
    assert_output "$(pid_of app/pub)"
}

@test "pubsub: subscribe and publish from a shell worker; unsubscribe ends it; bad topics are refused" {
    app_ini "sub:@S@/subscriber.sh a:b c:*" mailbox
    fv_start t.ini
    run -0 fv info app/sub
    assert_line "subscriptions: a:b c:*"
    synced "$(msgs sub)" "a:b s" a:b
    fv publish c:1 one
    retry 100 0.05 has_line "$(msgs sub)" "c:1 one"
    pid=$(pid_of app/sub)
    # The worker's own commands (subscriber.sh runs what it is sent): bad topics exit 2.
    fv send sub "subscribe a*b"
    fv send sub "publish a* x"
    fv send sub "publish c:2 two"
    retry 100 0.05 has_line "$(msgs sub)" "c:2 two"
    run -0 cat "$FV_TEST_OUT/sub.ran"
    assert_output "$(printf '%s\n' 'subscribe a*b: 2' 'publish a* x: 2' 'publish c:2 two: 0')"
    run -2 "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" publish 'a*' x
    assert_output --partial "bad topic"
    run -2 fv subscribe 'x y' --count 1
    assert_output --partial "bad topic 'x y'"
    run -2 fv unsubscribe a:b
    assert_output --partial "not inside a forkvisor worker"
    fv send sub "unsubscribe c:*"
    retry 100 0.05 eval '[[ $(fv info app/sub | sed -n "s/^subscriptions: //p") == "a:b" ]]'
    fv send sub "subscribe d:e"
    retry 100 0.05 eval '[[ $(fv info app/sub | sed -n "s/^subscriptions: //p") == "a:b d:e" ]]'
    fv send sub "unsubscribe nothing"
    retry 100 0.05 grep -q "not subscribed to this topic" "$(fv_log)"
    [[ $(pid_of app/sub) == "$pid" ]]
}

@test "pubsub: a subscriber that never reads loses only its own messages; the fast one gets all" {
    app_ini \
        slow:@W@/sleeper subscribe=feed mailbox_limit=5 \
        fast:@S@/subscriber.sh subscribe=feed mailbox_limit=1000 mailbox \
        other:@W@/sleeper \
        "pub:@W@/publisher feed 400" mailbox
    fv_start t.ini
    # A shell subscriber runs a forkvisor per message: under sanitizers and load, 400 take long.
    retry 600 0.1 lines_at_least 400 "$(msgs fast)"
    run cat "$(msgs fast)"
    assert_output "$(printf 'feed %s\n' $(seq 1 400))"
    run -0 fv info app/slow
    assert_line "mailbox depth: 5 of 5"
    assert_line "publications dropped: 395"
    assert_line "messages dropped: 395"
    # The node is not held up: it still restarts a sibling.
    old=$(pid_of app/other)
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/other "$old"
}

@test "pubsub: a dead subscriber's subscriptions are gone; its successor starts with the configured ones only" {
    script_path=$BATS_TEST_TMPDIR/once.sh
    cat >"$script_path" <<'SH'
#!/bin/sh
echo $$ >>"$FV_TEST_OUT/pids"
# The first incarnation also subscribes to "extra" at run time.
if [ ! -e "$FV_TEST_OUT/once" ]; then
    : >"$FV_TEST_OUT/once"
    "$FORKVISOR" subscribe extra || exit 1
fi
exec "$SUBSCRIBER"
SH
    chmod +x "$script_path"
    conf t.ini <<INI
[supervisor:app]
children = sub
[worker:sub]
exec = $script_path
subscribe = base
ready = mailbox
environment = SUBSCRIBER=$SHWORKERS/subscriber.sh
INI
    fv_start t.ini
    run -0 fv info app/sub
    assert_line "subscriptions: base extra"
    old=$(pid_of app/sub)
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/sub "$old"
    run -0 fv info app/sub
    assert_line "subscriptions: base"
    # Nothing on "extra" reaches the successor; "base" does (and comes after, so "extra" had its
    # chance to arrive first).
    : >"$(msgs sub)"
    fv publish extra gone
    synced "$(msgs sub)" "base b" base
    fv publish extra gone
    fv publish base last
    retry 100 0.05 has_line "$(msgs sub)" "base last"
    run cat "$(msgs sub)"
    assert_output "base last"
}

@test "subscribe outside the tree: one line per message, in order, until --count; --timeout" {
    two_subscribers_ini
    fv_start t.ini
    baseline=$(ls "/proc/$FV_PID/fd" | wc -l)
    stream sub.txt subscribe 'orders:*' other
    synced "$BATS_TEST_TMPDIR/sub.txt" "s" orders:x
    for k in 1 2 3; do fv publish orders:eu "m$k"; fv publish ignored "i$k"; fv publish other "o$k"; done
    retry 100 0.05 lines_at_least 6 "$BATS_TEST_TMPDIR/sub.txt"
    run cat "$BATS_TEST_TMPDIR/sub.txt"
    assert_output "$(printf 'm%s\no%s\n' 1 1 2 2 3 3)"
    # The client goes away: the node lets go of its connection.
    kill "$STREAM_PID"
    retry 300 0.05 eval '[[ $(ls /proc/$FV_PID/fd | wc -l) -eq $baseline ]]'

    # --count: exits 0 once it has N messages.
    stream counted.txt subscribe t1 --count 2
    retry 100 0.05 sync_once "$BATS_TEST_TMPDIR/counted.txt" "a" t1
    fv publish t1 b
    retry 100 0.05 pid_dead "$STREAM_PID"
    run -0 wait "$STREAM_PID"
    run -0 wc -l <"$BATS_TEST_TMPDIR/counted.txt"
    assert_output 2
    # --timeout: 0 without --count; 1 when it ends the wait for N messages.
    run -0 fv subscribe nobody --timeout 100
    assert_output ""
    run -1 fv subscribe nobody --count 1 --timeout 100
    assert_output --partial "timeout: 0 of 1 messages"
    run -2 fv publish x
    run -2 fv events --count x
    run -3 "$FORKVISOR" --control "$BATS_TEST_TMPDIR/none.sock" subscribe t
}

@test "events: a kill is seen as exited (signal), restarting and started, as JSON lines" {
    sleepers_ini a b
    fv_start t.ini
    stream ev.txt events
    # Listening once an operator restart of b shows up.
    retry 100 0.05 eval 'fv restart app/b && grep -q "\"path\": \"app/b\"" "$BATS_TEST_TMPDIR/ev.txt"'
    : >"$BATS_TEST_TMPDIR/ev.txt"
    old=$(pid_of app/a)
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/a "$old"
    new=$(pid_of app/a)
    retry 100 0.05 lines_at_least 3 "$BATS_TEST_TMPDIR/ev.txt"
    run cat "$BATS_TEST_TMPDIR/ev.txt"
    assert_line --index 0 --regexp "^\\{\"event\": \"exited\", \"path\": \"app/a\", \"pid\": $old, \"signal\": \"KILL\", \"reason\": \"crash\", \"restarts\": 0, \"time\": \"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\", \"seq\": [0-9]+\\}\$"
    assert_line --index 1 --regexp "^\\{\"event\": \"restarting\", \"path\": \"app/a\", .*\"restarts\": 1, "
    assert_line --index 2 --regexp "^\\{\"event\": \"started\", \"path\": \"app/a\", \"pid\": $new, \"restarts\": 1, "
    # --timeout without --count: nothing happened, exit 0.
    run -0 fv events --timeout 10
    assert_output ""
}

@test "events: a worker subscribed to forkvisor:exited hears of its sibling's crash; gave_up is published" {
    app_ini \
        listener:@S@/subscriber.sh "subscribe=forkvisor:exited, forkvisor:gave_up" mailbox \
        sub:{ intensity=1 period=60 temporary crasher:@W@/sleeper }
    fv_start t.ini
    kill -KILL "$(pid_of app/sub/crasher)"
    retry 100 0.05 grep -q '"path": "app/sub/crasher".*"signal": "KILL"' "$(msgs listener)"
    retry 100 0.05 pid_alive "$(pid_of app/sub/crasher)"
    kill -KILL "$(pid_of app/sub/crasher)"
    retry 100 0.05 grep -q '^forkvisor:gave_up {"event": "gave_up", "path": "app/sub"' "$(msgs listener)"
    run -0 grep -c '^forkvisor:exited ' "$(msgs listener)"
    assert_output 2
}

@test "pubsub: a flood of publications does not hold up a restart" {
    app_ini intensity=10 \
        slow:@W@/sleeper subscribe=flood mailbox_limit=10 \
        fast:@W@/sleeper "subscribe=*" \
        victim:@W@/sleeper \
        "flood:@W@/publisher flood 0 64" mailbox
    fv_start t.ini
    retry 100 0.05 eval '[[ $(fv info app/slow | sed -n "s/^publications dropped: //p") -gt 1000 ]]'
    for k in 1 2 3; do
        old=$(pid_of app/victim)
        kill -KILL "$old"
        retry 100 0.05 pid_changed app/victim "$old"
    done
    run -0 fv info app/victim
    assert_line "restarts: 3"
    run -0 fv status
}

@test "events: a reload is published with what it changed" {
    sleepers_ini a b
    fv_start t.ini
    stream ev.txt events
    retry 100 0.05 eval 'fv restart app/b && grep -q "\"path\": \"app/b\"" "$BATS_TEST_TMPDIR/ev.txt"'
    : >"$BATS_TEST_TMPDIR/ev.txt"
    sleepers_ini a b c
    run -0 fv reload
    retry 100 0.05 grep -q '"event": "reload"' "$BATS_TEST_TMPDIR/ev.txt"
    run -0 grep '"event": "reload"' "$BATS_TEST_TMPDIR/ev.txt"
    assert_output --regexp "^\\{\"event\": \"reload\", \"path\": \"app\", \"pid\": $FV_PID, \"unchanged\": 3, \"changed\": 0, \"added\": 1, \"removed\": 0, \"restarts\": 0, \"time\": \""
    # The new child's start was published too.
    run -0 grep -c '"event": "started", "path": "app/c"' "$BATS_TEST_TMPDIR/ev.txt"
}

@test "pubsub: a burst that ends exactly with a wake-up's work is still delivered to every subscriber" {
    # 31 subscribers: a publication costs 32 units of work, a record of 64 of them (the
    # publisher flushes every 64) 2048, and 8 records use up a wake-up's 16384 exactly. Nothing
    # else happens afterwards (the test only reads files), so delivery must not wait for another
    # event. 512 messages stay well within each subscriber's limit of 1024.
    app_ini "pub:@W@/publisher t 512" mailbox
    fv_start t.ini
    # (Not `n`: retry's own local would hide it from the functions it calls.)
    local k subs=31
    for k in $(seq $subs); do stream "s$k.txt" subscribe t sync; done
    all_synced() { local k; for k in $(seq $subs); do grep -q sync "$BATS_TEST_TMPDIR/s$k.txt" || return 1; done; }
    retry 100 0.05 eval 'fv publish sync sync && retry 4 0.05 all_synced'
    fv restart app/pub
    all_have() { local k; for k in $(seq $subs); do [[ $(grep -c '^[0-9]' "$BATS_TEST_TMPDIR/s$k.txt") -ge 512 ]] || return 1; done; }
    retry 100 0.05 all_have || { for k in $(seq $subs); do echo "s$k: $(grep -c '^[0-9]' "$BATS_TEST_TMPDIR/s$k.txt")"; done; false; }
    run -0 grep -c '^[0-9]' "$BATS_TEST_TMPDIR/s$subs.txt"
    assert_output 512
}
