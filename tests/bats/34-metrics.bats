# SPDX-License-Identifier: MIT
# Metrics where monitoring looks for them (issue 15, point 9): `forkvisor metrics` in the
# Prometheus text format, read back with a real parser of it (Debian's python3-prometheus-client)
# and compared with `status --json`; [forkvisor] metrics_file, rewritten atomically for
# node_exporter's textfile collector. The escaping of label values is unit-tested in C
# (test-metrics.c): a path holds no quote, backslash nor newline (names are [a-z0-9_-]).
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=60}"

setup() {
    load test_helper
    # The distribution's parser, not one a user's Python environment may hide.
    PY=/usr/bin/python3
    "$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
        skip "python3-prometheus-client is not installed"
}
teardown() { fv_teardown; }

# parse FILE: parses FILE with prometheus_client and checks the format's rules that the parser
# lets pass: each family has HELP and TYPE, is named forkvisor_*, and a counter's samples end in
# _total. Prints one line per sample, "name{k=v,...} value" with the labels sorted.
parse() {
    "$PY" - "$1" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1], encoding="utf-8").read()
assert text.endswith("\n"), "no newline at the end"
families = list(text_string_to_metric_families(text))
assert families, "no family"
seen = set()
for f in families:
    assert f.name.startswith("forkvisor_"), f.name
    assert f.name not in seen, "family twice: " + f.name
    seen.add(f.name)
    assert f.type in ("counter", "gauge"), (f.name, f.type)
    assert f.documentation, "no HELP for " + f.name
    for s in f.samples:
        if f.type == "counter":
            assert s.name == f.name + "_total", s.name
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        v = int(s.value) if s.value == int(s.value) else s.value
        print("%s{%s} %s" % (s.name, labels, v))
PY
}

# metric FILE SERIES: the value of SERIES (as parse prints it, without the value) in FILE.
metric() { parse "$1" | awk -v s="$2" 'index($0, s " ") == 1 { print $2 }'; }

# matches_status METRICS STATUS: every process of `status --json` (STATUS) has its state, restarts
# and mailbox in METRICS (parse's output), and forkvisor_children counts the states.
matches_status() {
    "$PY" - "$1" "$2" <<'PY'
import json, sys, collections
samples = {}
for line in open(sys.argv[1]):
    series, value = line.rsplit(" ", 1)
    samples[series] = float(value)
status = json.load(open(sys.argv[2]))
states = ("stopped", "starting", "running", "stopping", "restarting", "failed")
counts = collections.Counter()
for p in status["processes"]:
    lab = "kind=%s,path=%s" % (p["kind"], p["path"])
    for s in states:
        want = 1 if s == p["state"] else 0
        got = samples["forkvisor_child_state{%s,state=%s}" % (lab, s)]
        assert got == want, (p["path"], s, got, want)
    assert samples["forkvisor_child_restarts_total{%s}" % lab] == p["restarts"], p["path"]
    mb = p["mailbox"]
    if mb is not None:
        assert samples["forkvisor_child_mailbox_limit{%s}" % lab] == mb["limit"], p["path"]
        assert samples["forkvisor_child_messages_in_total{%s}" % lab] == mb["in"], p["path"]
        assert samples["forkvisor_child_messages_out_total{%s}" % lab] == mb["out"], p["path"]
        assert samples["forkvisor_child_messages_dropped_total{%s}" % lab] == mb["dropped"], p["path"]
    else:
        assert "forkvisor_child_mailbox_depth{%s}" % lab not in samples, p["path"]
    counts[(p["kind"], p["state"])] += 1
for kind in ("worker", "supervisor"):
    for s in states:
        got = samples["forkvisor_children{kind=%s,state=%s}" % (kind, s)]
        assert got == counts[(kind, s)], (kind, s, got)
PY
}

restarts_are() { [[ $(fv info "$1" | sed -n 's/^restarts: //p') == "$2" ]]; }

@test "metrics: parsed by prometheus_client; states, restarts after 2 kills, exits by reason and mailboxes match status --json" {
    app_ini intensity=10 a:@W@/sleeper b:@W@/sleeper echo:@W@/echo mailbox
    fv_start t.ini
    local old
    for n in 1 2; do
        old=$(pid_of app/a)
        kill -KILL "$old"
        retry 200 0.05 pid_changed app/a "$old"
    done
    retry 100 0.05 restarts_are app/a 2
    run -0 fv stop app/b
    for n in 1 2 3; do run -0 fv call echo "m$n"; done

    # Nothing changes between the two answers: the tree is still.
    fv status --json > "$BATS_TEST_TMPDIR/status.json"
    fv metrics > "$BATS_TEST_TMPDIR/m.txt"
    parse "$BATS_TEST_TMPDIR/m.txt" > "$BATS_TEST_TMPDIR/m.parsed"
    matches_status "$BATS_TEST_TMPDIR/m.parsed" "$BATS_TEST_TMPDIR/status.json"

    m=$BATS_TEST_TMPDIR/m.txt
    [ "$(metric "$m" 'forkvisor_child_state{kind=worker,path=app/a,state=running}')" = 1 ]
    [ "$(metric "$m" 'forkvisor_child_state{kind=worker,path=app/b,state=stopped}')" = 1 ]
    [ "$(metric "$m" 'forkvisor_child_restarts_total{kind=worker,path=app/a}')" = 2 ]
    # The exits as the "exited" events give their reasons: two crashes, one operator stop.
    [ "$(metric "$m" 'forkvisor_child_exits_total{kind=worker,path=app/a,reason=crash}')" = 2 ]
    [ "$(metric "$m" 'forkvisor_child_exits_total{kind=worker,path=app/b,reason=operator}')" = 1 ]
    [ -z "$(metric "$m" 'forkvisor_child_exits_total{kind=worker,path=app/b,reason=crash}')" ]
    [ "$(metric "$m" 'forkvisor_child_uptime_seconds{kind=worker,path=app/b}')" = 0 ]
    # The node's own: the three calls went in and out of the echo worker's mailbox.
    (( $(metric "$m" 'forkvisor_messages_out_total{}') >= 3 ))
    (( $(metric "$m" 'forkvisor_child_messages_out_total{kind=worker,path=app/echo}') == 3 ))
    (( $(metric "$m" 'forkvisor_child_memory_bytes{kind=worker,path=app/a}') > 0 ))
    # CPU time, as info gives it: there for a running worker, in both modes; not for a stopped one.
    [[ $(metric "$m" 'forkvisor_child_cpu_seconds_total{kind=worker,mode=user,path=app/a}') =~ ^[0-9.e+-]+$ ]]
    [[ $(metric "$m" 'forkvisor_child_cpu_seconds_total{kind=worker,mode=system,path=app/a}') =~ ^[0-9.e+-]+$ ]]
    [ -z "$(metric "$m" 'forkvisor_child_cpu_seconds_total{kind=worker,mode=user,path=app/b}')" ]
    (( $(metric "$m" 'forkvisor_control_connections{}') >= 1 ))
    (( $(metric "$m" 'forkvisor_events_total{}') == $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seq"])' "$BATS_TEST_TMPDIR/status.json") ))
    run -0 fv metrics --timeout 5000
    run -2 fv metrics --json
    assert_output --partial "metrics does not take --json"

    fv_stop
    no_survivors
}

@test "metrics: publications made on the node are counted, subscribers or not" {
    sleepers_ini a
    fv_start t.ini
    fv metrics > "$BATS_TEST_TMPDIR/before.txt"
    run -0 fv publish news hello
    run -0 fv publish news again
    fv metrics > "$BATS_TEST_TMPDIR/after.txt"
    local b a
    b=$(metric "$BATS_TEST_TMPDIR/before.txt" 'forkvisor_publications_total{}')
    a=$(metric "$BATS_TEST_TMPDIR/after.txt" 'forkvisor_publications_total{}')
    (( a == b + 2 ))
    fv_stop
    no_survivors
}

# Every read of FILE parses whole: prints the number of distinct writes seen once N were seen.
# Reads in a loop as fast as it can, so that a half-written file would be read if there was one.
reader() {
    "$PY" - "$1" "$2" <<'PY'
import sys, os
from prometheus_client.parser import text_string_to_metric_families
path, want = sys.argv[1], int(sys.argv[2])
seen, reads = set(), 0
while len(seen) < want:
    reads += 1
    assert reads < 5000000, "the file stopped changing"
    try:
        text = open(path, encoding="utf-8").read()
    except FileNotFoundError:
        continue
    # The last family comes last: a file cut short lacks it or ends inside it.
    assert text.endswith("\n") and "\nforkvisor_metrics_file_errors_total " in text, "a partial file: %r" % text[-200:]
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    seen.add(fams["forkvisor_metrics_file_writes"].samples[0].value)
print(len(seen))
PY
}

@test "metrics_file: written every metrics_interval, replaced atomically: a reader never sees a part" {
    sleepers_ini a b
    mkdir -p "$BATS_TEST_TMPDIR/prom"
    daemon_keys metrics_file="$BATS_TEST_TMPDIR/prom/forkvisor.prom" metrics_interval=100
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    retry 200 0.05 file_has "$BATS_TEST_TMPDIR/prom/forkvisor.prom"
    run -0 reader "$BATS_TEST_TMPDIR/prom/forkvisor.prom" 8
    assert_output 8
    parse "$BATS_TEST_TMPDIR/prom/forkvisor.prom" > /dev/null
    # The file is for node_exporter, another user: readable by all (the umask permitting).
    [ "$(stat -c %a "$BATS_TEST_TMPDIR/prom/forkvisor.prom")" = "$(printf '%o' $((0644 & ~$(umask))))" ]
    fv_stop
    no_survivors
}

errors_at_least() {
    local v; v=$(fv metrics | awk '$1 == "forkvisor_metrics_file_errors_total" { print $2 }')
    [[ -n $v && $v -ge $1 ]]
}

@test "metrics_file: a missing directory is logged once and counted, never fatal; written once it exists" {
    sleepers_ini a
    daemon_keys metrics_file="$BATS_TEST_TMPDIR/later/forkvisor.prom" metrics_interval=100
    fv_start t.ini
    retry 400 0.05 errors_at_least 3
    run -0 fv status app/a
    [ "$(count_in_log "Cannot create metrics_file $BATS_TEST_TMPDIR/later/forkvisor.prom")" = 1 ]
    mkdir "$BATS_TEST_TMPDIR/later"
    retry 200 0.05 file_has "$BATS_TEST_TMPDIR/later/forkvisor.prom"
    parse "$BATS_TEST_TMPDIR/later/forkvisor.prom" > /dev/null
    retry 200 0.05 grep -qF "Wrote metrics_file $BATS_TEST_TMPDIR/later/forkvisor.prom again" "$(fv_log)"
    daemon_running
    fv_stop
    no_survivors
}

@test "metrics_file: the node's own control socket given as metrics_file is left alone, and the node stays reachable" {
    sleepers_ini a
    daemon_keys metrics_file="$BATS_TEST_TMPDIR/run/control.sock" metrics_interval=100
    fv_start t.ini
    retry 400 0.05 errors_at_least 3
    [ "$(count_in_log "Cannot replace what is no regular file at metrics_file $BATS_TEST_TMPDIR/run/control.sock")" = 1 ]
    [ -S "$BATS_TEST_TMPDIR/run/control.sock" ]
    [ ! -e "$BATS_TEST_TMPDIR/run/control.sock.tmp" ]
    run -0 fv status app/a
    fv_stop
    no_survivors
}

@test "metrics_file: a reload sets it, and the node writes it from the next interval on" {
    sleepers_ini a
    daemon_keys metrics_interval=100
    fv_start t.ini
    sed -i "s|^\[forkvisor\]\$|&\nmetrics_file = $BATS_TEST_TMPDIR/prom/forkvisor.prom|" "$BATS_TEST_TMPDIR/t.ini"
    mkdir "$BATS_TEST_TMPDIR/prom"
    run -0 fv reload
    retry 200 0.05 file_has "$BATS_TEST_TMPDIR/prom/forkvisor.prom"
    parse "$BATS_TEST_TMPDIR/prom/forkvisor.prom" > /dev/null
    fv_stop
    no_survivors
}

@test "metrics_file, metrics_interval: check refuses bad values with FILE:LINE" {
    sleepers_ini a
    daemon_keys metrics_file="$BATS_TEST_TMPDIR/dir/" metrics_interval=50
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    assert_output --partial "t.ini:2: bad value '$BATS_TEST_TMPDIR/dir/' for metrics_file: expected the path of a file"
    assert_output --partial "t.ini:3: bad value '50' for metrics_interval: expected milliseconds from 100 to 3600000"
}
