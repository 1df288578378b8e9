# SPDX-License-Identifier: MIT
# Log lines people can read and rotate (issue 13, point 13): log_timestamps on the node's "<N>"
# lines, SIGUSR1 reopening `file:` outputs, and their rotation by size (log_max_bytes,
# log_backups).
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=30}"

# STAMPED: the start of a stamped line, "<N>2026-12-07T03:04:05.678Z message".
setup() {
    load test_helper
    STAMPED="^<[0-7]>$LOG_TS"
}
teardown() { fv_teardown; }

# ticker_ini [KEY=VALUE...]: conf t.ini with worker app/t, which writes "tick N" (N = 1, 2, ...)
# on stdout, to file:out.log, one a few hundredths of a second, for ever; the keys are its own.
ticker_ini() {
    cat >"$BATS_TEST_TMPDIR/ticker" <<'SH'
#!/bin/sh
case $0 in */*) . "$SHWORKERS/markers.sh" ;; esac
trap fv_on_term TERM
fv_mark_started
i=0
while :; do
    i=$((i + 1))
    echo "tick $i"
    fv_sleep 20
done
SH
    chmod +x "$BATS_TEST_TMPDIR/ticker"
    app_ini "t:ticker" stdout=file:out.log "environment=SHWORKERS=$SHWORKERS" "$@"
}

# ticks FILE...: the N of every "tick N" line of the FILEs, in order, one a line; fails on any
# other line.
ticks() { cat "$@" | awk '/^tick [0-9]+$/ { print $2; next } { bad = 1 } END { exit bad }'; }
# consecutive: true when the numbers on stdin follow each other (5 6 7 ...).
consecutive() { awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }'; }

@test "log_timestamps: by default the node's lines and its children's carry the time after <N>" {
    cat >"$BATS_TEST_TMPDIR/hello" <<'SH'
#!/bin/sh
echo "hello from stdout"
exec "$1"
SH
    chmod +x "$BATS_TEST_TMPDIR/hello"
    app_ini "h:hello @W@/sleeper"
    fv_start t.ini
    retry 100 0.05 grep -qE "${STAMPED}app/h: hello from stdout\$" "$(fv_log)"
    run -0 grep -E "${STAMPED}Started 'app/h' " "$(fv_log)"
    # Every line, and a time that is today's, in UTC.
    run -1 grep -vE "$STAMPED" "$(fv_log)"
    run -0 grep -F "<6>$(date -u +%Y-%m-%dT)" "$(fv_log)"
    fv_stop
    no_survivors
}

@test "log_timestamps = no: the lines are <N>message, as before" {
    app_ini "w:@W@/sleeper"
    { printf '[forkvisor]\nlog_timestamps = no\n'; cat "$BATS_TEST_TMPDIR/t.ini"; } >"$BATS_TEST_TMPDIR/u.ini"
    fv_start u.ini
    fv_stop
    run -0 grep -E "^<6>Started 'app/w' " "$(fv_log)"
    run -1 grep -E "^<[0-7]>[0-9]{4}-" "$(fv_log)"
    no_survivors
}

@test "log_timestamps: off by default when \$JOURNAL_STREAM says stderr is the journal, on when asked" {
    app_ini "w:@W@/sleeper"
    { printf '[forkvisor]\nlog = stderr\n'; cat "$BATS_TEST_TMPDIR/t.ini"; } >"$BATS_TEST_TMPDIR/j.ini"
    { printf '[forkvisor]\nlog = stderr\nlog_timestamps = yes\n'; cat "$BATS_TEST_TMPDIR/t.ini"; } \
        >"$BATS_TEST_TMPDIR/y.ini"
    # The log file is the daemon's stderr: the redirection keeps its inode.
    : >"$(fv_log)"
    JOURNAL_STREAM=$(stat -c '%d:%i' "$(fv_log)") fv_start j.ini
    fv_stop
    run -0 grep -E "^<6>Started 'app/w' " "$(fv_log)"
    run -1 grep -E "$STAMPED" "$(fv_log)"
    JOURNAL_STREAM=$(stat -c '%d:%i' "$(fv_log)") fv_start y.ini
    fv_stop
    run -0 grep -E "${STAMPED}Started 'app/w' " "$(fv_log)"
    # Another stream than stderr: not the journal, stamped.
    JOURNAL_STREAM=1:1 fv_start j.ini
    fv_stop
    run -0 grep -E "${STAMPED}Started 'app/w' " "$(fv_log)"
    no_survivors
}

@test "SIGUSR1 after mv out.log out.log.1: new lines land in a new out.log, nothing lost, node and child alive" {
    ticker_ini
    fv_start t.ini
    local pid; pid=$(pid_of app/t)
    local out=$BATS_TEST_TMPDIR/out.log
    retry 200 0.05 grep -q '^tick 3$' "$out"
    mv "$out" "$out.1"
    kill -USR1 "$FV_PID"
    retry 200 0.05 grep -q '^tick [0-9]*$' "$out"
    retry 100 0.05 grep -q "Received SIGUSR1, reopened 1 file output" "$(fv_log)"
    daemon_running
    [ "$(pid_of app/t)" = "$pid" ]
    pid_alive "$pid"
    fv_stop
    # Every tick once, in order, across the moved file and the new one.
    run -0 ticks "$out.1" "$out"
    [ "${lines[0]}" = 1 ]
    ticks "$out.1" "$out" | consecutive
    no_survivors
}

@test "SIGUSR1 that cannot reopen keeps writing to the old file and says why" {
    mkdir "$BATS_TEST_TMPDIR/logs"
    ticker_ini
    sed -i 's|file:out.log|file:logs/out.log|' "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    local pid; pid=$(pid_of app/t)
    local dir=$BATS_TEST_TMPDIR/logs
    retry 200 0.05 grep -q '^tick 2$' "$dir/out.log"
    mv "$dir" "$dir.old"
    kill -USR1 "$FV_PID"
    retry 100 0.05 grep -q "Failed to open '$dir/out.log' again (SIGUSR1), writing on to the file it had open" "$(fv_log)"
    local n; n=$(ticks "$dir.old/out.log" | tail -1)
    retry 200 0.05 grep -q "^tick $((n + 2))\$" "$dir.old/out.log"
    daemon_running
    [ "$(pid_of app/t)" = "$pid" ]
    fv_stop
    no_survivors
}

# writer_ini N MAX BACKUPS: conf t.ini with worker app/w, which writes N lines "line I" padded
# to 40 bytes (with the newline) on stdout, to file:out.log with log_max_bytes = MAX and
# log_backups = BACKUPS, then sleeps.
writer_ini() {
    cat >"$BATS_TEST_TMPDIR/writer" <<'SH'
#!/bin/sh
i=0
while [ $i -lt "$1" ]; do
    i=$((i + 1))
    printf 'line %05d of this worker, padded to 40\n' $i
done
exec "$2"
SH
    chmod +x "$BATS_TEST_TMPDIR/writer"
    app_ini "w:writer $1 @W@/sleeper" stdout=file:out.log "log_max_bytes=$2" "log_backups=$3"
}

# line_numbers FILE...: the I of every "line I ..." of the FILEs in order; fails on a line that
# is not one whole such line.
line_numbers() {
    cat "$@" | awk '/^line [0-9][0-9][0-9][0-9][0-9] of this worker, padded to 40$/ { print $2 + 0; next } { bad = 1 } END { exit bad }'
}

@test "log_max_bytes: out.log rotates to out.log.1 ..., each file at most log_max_bytes, no line lost or split" {
    writer_ini 500 2K 20
    fv_start t.ini
    local out=$BATS_TEST_TMPDIR/out.log
    retry 300 0.05 grep -q '^line 00500 ' "$out"
    # 500 lines of 40 bytes: 20,000 bytes, 51 lines a file of 2,048: 10 files.
    local files=("$out") k
    for ((k = 1; k <= 20; k++)); do
        [[ -e $out.$k ]] || break
        files=("$out.$k" "${files[@]}")
    done
    [ "${#files[@]}" -eq 10 ]
    [ ! -e "$out.11" ]
    for k in "${files[@]}"; do
        [ "$(stat -c %s "$k")" -le 2048 ]
    done
    run -0 line_numbers "${files[@]}"
    [ "${#lines[@]}" -eq 500 ]
    [ "${lines[0]}" -eq 1 ]
    line_numbers "${files[@]}" | consecutive
    fv_stop
    no_survivors
}

@test "log_backups: at most log_backups old files are kept, the newest lines in out.log" {
    writer_ini 500 2K 3
    fv_start t.ini
    local out=$BATS_TEST_TMPDIR/out.log
    retry 300 0.05 grep -q '^line 00500 ' "$out"
    [ -e "$out.3" ]
    [ ! -e "$out.4" ]
    local k
    for k in "$out.3" "$out.2" "$out.1" "$out"; do
        [ "$(stat -c %s "$k")" -le 2048 ]
    done
    run -0 line_numbers "$out.3" "$out.2" "$out.1" "$out"
    [ "${lines[-1]}" -eq 500 ]
    line_numbers "$out.3" "$out.2" "$out.1" "$out" | consecutive
    fv_stop
    no_survivors
}

@test "log_max_bytes and log_backups need a file: output, and say where" {
    conf bad.ini <<'INI'
[supervisor:app]
children = w
[worker:w]
exec = /bin/true
log_max_bytes = 1M
INI
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/bad.ini"
    assert_output --partial "bad.ini:5: log_max_bytes needs a file: output to rotate"
    conf bad2.ini <<'INI'
[supervisor:app]
children = w
[worker:w]
exec = /bin/true
stdout = file:w.log
log_max_bytes = 12X
INI
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/bad2.ini"
    assert_output --partial "bad2.ini:6: bad value '12X' for log_max_bytes"
}
