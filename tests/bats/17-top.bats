# SPDX-License-Identifier: MIT
# `forkvisor top` (SPEC 1, issue 6) in a real terminal: tmux runs it in a detached pane of a private
# server, and the tests read the screen with capture-pane. Paths, states and pids; message rates
# from a pair of workers; a restart; q, Control-C, SIGTERM and a vanished daemon, each leaving the
# terminal as it was; a resized window; NO_COLOR and TERM=dumb; one snapshot into a pipe; no
# daemon. Also the mailbox fields of `status --json` that top reads.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=30}"

setup() {
    load test_helper
    command -v tmux >/dev/null || skip "tmux is not installed"
    # The shell workers below run the forkvisor under test; so does the pane.
    export FORKVISOR
}
teardown() {
    # Killing the server hangs up the pane: top restores the terminal and exits.
    local sock
    for sock in "$BATS_TEST_TMPDIR"/tmux*.sock; do
        [[ ! -S $sock ]] || tmux -S "$sock" kill-server 2>/dev/null || true
    done
    fv_teardown
}

tm() { tmux -S "$TMUX_SOCK" "$@"; }

# top_pane [VAR=VALUE...] [NEW-SESSION OPTIONS...]: `forkvisor top` in a detached 120x40 pane
# (options such as -x 60 come after), with VAR=VALUE in its environment, run by a shell that then
# prints "top exited STATUS" and waits, so that the terminal top left behind can be looked at. The
# terminal's modes before and after top go to stty.before and stty.after. Each pane has a tmux
# server of its own (a server being killed may still hold its socket for a moment).
top_pane() {
    local d=$BATS_TEST_TMPDIR env=
    while [[ $1 == *=* ]]; do env+="$1 "; shift; done
    [[ -z ${TMUX_SOCK:-} ]] || tm kill-server 2>/dev/null || true
    TMUX_N=$((${TMUX_N:-0} + 1))
    TMUX_SOCK=$d/tmux$TMUX_N.sock
    rm -f "$d/stty.before" "$d/stty.after"
    tm -f /dev/null new-session -d -x 120 -y 40 "$@" \
        "stty -g >'$d/stty.before'; $env\"\$FORKVISOR\" --control '$FV_RUNTIME_DIR/control.sock' top; s=\$?; stty -g >'$d/stty.after'; echo \"top exited \$s\"; read _"
}

pane() { tm capture-pane -p; }
pane_var() { tm display -p "#{$1}"; }
# pane_shows REGEX: the screen has a line matching REGEX (extended).
pane_shows() { pane | grep -qE -- "$1"; }
# column PATH N: field N of PATH's row (1 PATH, 2 STATE, 3 PID, 4 RESTARTS, 5 UPTIME, 6 MBOX,
# 7 IN/s, 8 OUT/s, 9 DROPPED).
column() { pane | awk -v p="$1" -v n="$2" '$1 == p { print $n }'; }
# rate_above_zero PATH N: column N of PATH's row is a rate above 0 (not "-", not "0").
rate_above_zero() { local v; v=$(column "$1" "$2"); [[ -n $v && $v != - && $v != 0 ]]; }
column_is() { [[ $(column "$1" "$2") == "$3" ]]; }

# assert_terminal_restored STATUS: top exited with STATUS and left the shell its terminal as it
# was: the main screen back, the cursor shown, the same modes (cooked, echo).
assert_terminal_restored() {
    retry 100 0.1 pane_shows "^top exited $1\$"
    [ "$(pane_var alternate_on)" -eq 0 ]
    [ "$(pane_var cursor_flag)" -eq 1 ]
    [ -s "$BATS_TEST_TMPDIR/stty.after" ]
    [ "$(cat "$BATS_TEST_TMPDIR/stty.before")" = "$(cat "$BATS_TEST_TMPDIR/stty.after")" ]
}

# A counter and a sender that casts "inc" to it all the time, and an idle sleeper.
talk_ini() {
    {
        printf '#!/bin/sh\necho $$ >>"$FV_TEST_OUT/pids"\n'
        printf 'while "$FORKVISOR" send counter inc; do sleep 0.02; done\n'
    } >"$BATS_TEST_TMPDIR/sender"
    chmod +x "$BATS_TEST_TMPDIR/sender"
    app_ini counter:@W@/counter mailbox sender:sender idle:@W@/sleeper
}

@test "top --help, and a usage error" {
    run -0 "$FORKVISOR" top --help
    assert_output --partial "Usage: forkvisor top"
    assert_output --partial "q quits"
    run -2 "$FORKVISOR" top extra
    assert_output --partial "Usage: forkvisor top"
}

@test "top without a daemon exits 3, in a pipe and in a terminal" {
    run -3 "$FORKVISOR" --control "$BATS_TEST_TMPDIR/nothing.sock" top
    assert_output --partial "no daemon at"
    FV_RUNTIME_DIR=$BATS_TEST_TMPDIR/nothing top_pane
    assert_terminal_restored 3
    pane_shows "no daemon at"
}

@test "status --json has each node's mailbox counters, null without a mailbox" {
    app_ini counter:@W@/counter mailbox mailbox_limit=7 stopped:@W@/sleeper
    fv_start t.ini
    run -0 fv stop app/stopped
    for k in 1 2 3; do fv send counter inc; done
    run -0 fv call counter get
    assert_output 3
    run -0 fv status --json
    run -0 python3 -c '
import json, sys
for r in json.load(sys.stdin)["processes"]:
    m = r["mailbox"]
    print(r["path"], "null" if m is None else "%(depth)d/%(limit)d in %(in)d out %(out)d dropped %(dropped)d" % m)
' <<<"$output"
    assert_line "app null"
    # Three casts and a call delivered; the reply (and readiness) came from it.
    assert_line --regexp '^app/counter 0/7 in [1-9][0-9]* out 4 dropped 0$'
    assert_line "app/stopped null"
    # The text form is unchanged.
    run -0 fv status
    assert_line --index 0 --regexp '^PATH +KIND +STATE +PID +RESTARTS +UPTIME +LAST-EXIT$'
    fv_stop
    no_survivors
}

@test "top in a pipe prints one snapshot without escapes and exits 0" {
    talk_ini
    fv_start t.ini
    local pid; pid=$(pid_of app/idle)
    run -0 bash -c '"$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" top | cat; exit ${PIPESTATUS[0]}'
    assert_line --index 0 --regexp '^forkvisor top  [0-9:]{8}  .*/control.sock$'
    assert_line --index 1 "4 processes: 4 running"
    assert_line --regexp '^PATH +STATE +PID +RESTARTS +UPTIME +MBOX +IN/s +OUT/s +DROPPED$'
    assert_line --regexp '^app +running +- +0 +[0-9.]+s +- +- +- +-$'
    # One snapshot has no rates: they need two.
    assert_line --regexp "^app/idle +running +$pid +0 +[0-9.]+s +0/1024 +- +- +0$"
    refute_output --partial $'\e'
    refute_output --partial "q quits"
    fv_stop
    no_survivors
}

@test "top shows the tree, message rates and a restart, and q restores the terminal" {
    talk_ini
    fv_start t.ini
    local counter; counter=$(pid_of app/counter)
    top_pane
    retry 100 0.1 pane_shows "^app/counter +running +$counter +0 "
    pane_shows '^forkvisor top  [0-9:]{8}  .*control.sock  \(q quits\)$'
    pane_shows '^4 processes: 4 running$'
    pane_shows '^PATH +STATE +PID +RESTARTS +UPTIME +MBOX +IN/s +OUT/s +DROPPED$'
    pane_shows "^app/idle +running +$(pid_of app/idle) +0 +[0-9.]+s +0/1024 "
    [ "$(pane_var alternate_on)" -eq 1 ]
    [ "$(pane_var cursor_flag)" -eq 0 ]
    # The sender's casts: out of the sender (IN/s) and into the counter (OUT/s).
    retry 100 0.1 rate_above_zero app/counter 8
    retry 100 0.1 rate_above_zero app/sender 7
    column_is app/idle 7 0
    column_is app/idle 8 0
    # A restart shows up within a refresh or two: a new pid, one restart.
    kill -KILL "$counter"
    retry 100 0.1 column_is app/counter 4 1
    [ "$(column app/counter 3)" != "$counter" ]
    [ "$(column app/counter 3)" = "$(pid_of app/counter)" ]
    tm send-keys q
    assert_terminal_restored 0
    run ! pane_shows "IN/s"
    fv_stop
    no_survivors
}

@test "Control-C and SIGTERM quit top and restore the terminal too" {
    sleepers_ini a
    fv_start t.ini
    top_pane
    retry 100 0.1 pane_shows '^app/a +running'
    tm send-keys C-c
    assert_terminal_restored 0

    top_pane
    retry 100 0.1 pane_shows '^app/a +running'
    local top; top=$(ps -o pid= --ppid "$(pane_var pane_pid)")
    [ -n "$top" ]
    kill -TERM $top
    assert_terminal_restored 0
    fv_stop
    no_survivors
}

@test "when the daemon goes away, top restores the terminal and exits 3 with one line" {
    sleepers_ini a
    fv_start t.ini
    top_pane
    retry 100 0.1 pane_shows '^app/a +running'
    run -0 fv shutdown
    fv_wait_exit
    assert_terminal_restored 3
    run -0 pane
    assert_line --partial "forkvisor: the daemon at $FV_RUNTIME_DIR/control.sock has gone away"
    no_survivors
}

@test "top fits the window and follows its size" {
    sleepers_ini a b c d e f
    fv_start t.ini
    top_pane -x 60 -y 8
    # 8 lines: 4 of header, 3 rows, and one that counts the rest; lines are cut, never wrapped.
    retry 100 0.1 pane_shows '^\.\.\. 4 more'
    pane_shows '^app/b +running +[0-9]+ +0 +[0-9.]+s +0/1024$'
    [ "$(pane | grep -c '^app')" -eq 3 ]
    tm resize-window -x 100 -y 20
    retry 100 0.1 pane_shows '^app/f +running .* 0/1024 +[-0] +[-0] +0$'
    run ! pane_shows 'more'
    tm send-keys q
    assert_terminal_restored 0
    fv_stop
    no_survivors
}

@test "top uses the terminal's palette, none with NO_COLOR, and no escapes at all with TERM=dumb" {
    sleepers_ini a
    fv_start t.ini
    top_pane
    retry 100 0.1 pane_shows '^app/a +running'
    # Green for running (SGR 32), bold title, reverse video for the column header.
    run -0 tm capture-pane -p -e
    assert_output --partial $'\e[32mrunning'
    assert_output --partial $'\e[1mforkvisor top'
    assert_output --regexp $'\e\\[7m(\e\\[[0-9;]*m)*PATH'
    tm send-keys q
    assert_terminal_restored 0

    top_pane NO_COLOR=1
    retry 100 0.1 pane_shows '^app/a +running'
    run -0 tm capture-pane -p -e
    refute_output --regexp $'\e\\[3[0-7]m'
    assert_output --partial $'\e[1mforkvisor top'
    tm send-keys q
    assert_terminal_restored 0

    # A dumb terminal: frames one after another, plain text, no alternate screen.
    top_pane TERM=dumb
    retry 100 0.1 pane_shows '^app/a +running'
    [ "$(pane_var alternate_on)" -eq 0 ]
    run -0 tm capture-pane -p -e
    refute_output --partial $'\e'
    tm send-keys q
    assert_terminal_restored 0
    fv_stop
    no_survivors
}
