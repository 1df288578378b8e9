# SPDX-License-Identifier: MIT
# The registry (SPEC 1, 6.3; issue 4): a restart keeps the name on the new pid and whereis never
# returns the old one; unique names refused when taken; runtime register/unregister; duplicate
# keys; names gone at termination; dynamic children's NAME.N; registry --json; whereis inside a
# worker reads fd 4 directly (it answers while the daemon is stopped, and while the daemon is
# busy restarting others) and prints what whereis outside prints. (That a worker cannot write the
# table is 13-registry-security.bats.)
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=60}" # a daemon that never answers fails the test, not the run (60: the restart storm below, sanitized, on a loaded machine)

setup() {
    load test_helper
    # The shell workers below run the forkvisor under test.
    export FORKVISOR
}
# A test that stopped the daemon (SIGSTOP) lets it go on first, so that it can be stopped.
teardown() {
    [[ -z ${FV_PID:-} ]] || kill -CONT "$FV_PID" 2>/dev/null || true
    fv_teardown
}

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

# done_file NAME: $FV_TEST_OUT/NAME exists (a worker writes its results, then NAME).
done_file() { test -e "$FV_TEST_OUT/$1"; }
# out NAME: the contents of $FV_TEST_OUT/NAME.
out() { cat "$FV_TEST_OUT/$1"; }

# whereis_is NAME PID: `whereis NAME` from outside prints PID.
whereis_is() { [[ $(fv whereis "$1" 2>/dev/null) == "$2" ]]; }
# not_registered NAME: `whereis NAME` from outside exits 1 and says so (and perhaps why).
not_registered() {
    run -1 fv whereis "$1"
    assert_output --regexp "^forkvisor: '$1' is not registered(\$|: '[^']*' is not running)"
}
# gen_of NAME: the generation of NAME's (first) entry in `registry`.
gen_of() { fv registry | awk -v n="$1" '$1 == n { print $3; exit }'; }
# sorted WORDS...: the words one per line, sorted.
sorted() { printf '%s\n' "$@" | sort; }

# --- restarts ----------------------------------------------------------------------------------

@test "restart: the name moves to the new pid, whereis never gives the old one again, generation grows" {
    # watch records every answer of its own whereis (fd 4) that differs from the one before.
    script watch <<'SH'
last=
while [ ! -e "$FV_TEST_OUT/stop" ]; do
    p=$(forkvisor whereis svc 2>/dev/null) || p=none
    [ "$p" = "$last" ] || { echo "$p" >>"$FV_TEST_OUT/watch.seen"; last=$p; }
done
touch "$FV_TEST_OUT/watch.done"
SH
    app_ini svc:@W@/sleeper watch:watch temporary
    fv_start t.ini
    local old new g1 g2 k
    old=$(pid_of app/svc)
    run -0 fv whereis svc
    assert_output "$old"
    g1=$(gen_of svc)
    [[ -n $g1 ]]
    retry 100 0.05 grep -qx "$old" "$FV_TEST_OUT/watch.seen"

    kill -KILL "$old"
    retry 100 0.05 pid_changed app/svc "$old"
    new=$(pid_of app/svc)
    retry 100 0.05 whereis_is svc "$new"
    for ((k = 0; k < 20; k++)); do
        run -0 fv whereis svc
        assert_output "$new"
    done
    g2=$(gen_of svc)
    echo "generation $g1 -> $g2" >&2
    [ "$g2" -gt "$g1" ]
    # The registry's pid and info's agree.
    run -0 fv registry
    assert_line --regexp "^svc +$new +$g2 +unique$"

    retry 100 0.05 grep -qx "$new" "$FV_TEST_OUT/watch.seen"
    touch "$FV_TEST_OUT/stop"
    retry 100 0.05 done_file watch.done
    # Inside, the old pid, perhaps a moment of nobody, then the new pid: never the old pid again.
    run -0 out watch.seen
    echo "watch saw: $(paste -sd ' ' "$FV_TEST_OUT/watch.seen")" >&2
    [ "$(grep -vx none "$FV_TEST_OUT/watch.seen")" = "$(printf '%s\n' "$old" "$new")" ]
    fv_stop
    no_survivors
}

# --- register and unregister at run time ---------------------------------------------------------

@test "register: a unique name held by another is refused with 'taken' (exit 1), and stays with its holder" {
    script taker <<'SH'
o=$FV_TEST_OUT/taker
forkvisor register svc >"$o.1" 2>&1; echo "rc=$?" >>"$o.1"
forkvisor register +svc >"$o.2" 2>&1; echo "rc=$?" >>"$o.2"
forkvisor register 'bad name' >"$o.3" 2>&1; echo "rc=$?" >>"$o.3"
forkvisor register ++svc >"$o.4" 2>&1; echo "rc=$?" >>"$o.4"
forkvisor register "$(printf '%041d' 0)" >"$o.5" 2>&1; echo "rc=$?" >>"$o.5"
touch "$o.done"
SH
    app_ini svc:@W@/sleeper taker:taker temporary
    fv_start t.ini
    retry 100 0.05 done_file taker.done
    run -0 out taker.1
    assert_output $'forkvisor: register svc: taken: the name is held by another process\nrc=1'
    # Held as a unique name, it cannot be a duplicate key either.
    run -0 out taker.2
    assert_output --partial "taken"
    assert_line rc=1
    local k
    for k in 3 4 5; do
        run -0 out "taker.$k"
        assert_output --partial "bad name"
        assert_line rc=1
    done
    run -0 fv whereis svc
    assert_output "$(pid_of app/svc)"
    run -0 fv registry
    refute_output --partial "+svc"
    fv_stop
    no_survivors
}

@test "register: a name added at run time is found by another worker and from outside, and routes messages" {
    script late <<'SH'
forkvisor register late-name || exit 1
forkvisor ready
while m=$(forkvisor recv); do printf '%s\n' "$m" >>"$FV_TEST_OUT/late.got"; done
SH
    script finder <<'SH'
until p=$(forkvisor whereis late-name 2>/dev/null); do sleep 0.02; done
forkvisor whereis --all late-name >"$FV_TEST_OUT/finder.all"
echo "$p" >"$FV_TEST_OUT/finder.tmp"; mv "$FV_TEST_OUT/finder.tmp" "$FV_TEST_OUT/finder.pid"
forkvisor send late-name "from finder"
SH
    app_ini late:late mailbox finder:finder temporary
    fv_start t.ini
    local late; late=$(pid_of app/late)
    run -0 fv whereis late-name
    assert_output "$late"
    # Its configured name is still its own too.
    run -0 fv whereis late
    assert_output "$late"
    retry 100 0.05 done_file finder.pid
    [ "$(out finder.pid)" = "$late" ]
    [ "$(out finder.all)" = "$late" ]
    run -0 fv registry
    assert_line --regexp "^late-name +$late +[0-9]+ +unique$"
    fv send late-name "from outside"
    retry 100 0.05 lines_at_least 2 "$FV_TEST_OUT/late.got"
    run -0 sort "$FV_TEST_OUT/late.got"
    assert_output $'from finder\nfrom outside'
    fv_stop
    no_survivors
}

lines_at_least() { [[ -r $2 && $(wc -l <"$2") -ge $1 ]]; }

@test "unregister: the name is gone inside and outside; a name not held is refused (exit 1)" {
    script u <<'SH'
o=$FV_TEST_OUT/u
forkvisor register temp-name || exit 1
forkvisor ready
while [ ! -e "$FV_TEST_OUT/go" ]; do sleep 0.02; done
forkvisor unregister temp-name >"$o.1" 2>&1; echo "rc=$?" >>"$o.1"
forkvisor unregister temp-name >"$o.2" 2>&1; echo "rc=$?" >>"$o.2"
forkvisor whereis temp-name >"$o.3" 2>&1; echo "rc=$?" >>"$o.3"
forkvisor unregister svc >"$o.4" 2>&1; echo "rc=$?" >>"$o.4"
touch "$o.done"
exec @W@/sleeper
SH
    app_ini svc:@W@/sleeper u:u mailbox
    fv_start t.ini
    local u; u=$(pid_of app/u)
    run -0 fv whereis temp-name
    assert_output "$u"
    touch "$FV_TEST_OUT/go"
    retry 100 0.05 done_file u.done
    run -0 out u.1
    assert_output rc=0
    run -0 out u.2
    assert_output $'forkvisor: unregister temp-name: not registered by this process\nrc=1'
    run -0 out u.3
    assert_output $'forkvisor: \'temp-name\' is not registered\nrc=1'
    # Another worker's name is not this worker's to remove.
    run -0 out u.4
    assert_output --partial "not registered by this process"
    assert_line rc=1
    not_registered temp-name
    run -1 fv send temp-name x
    assert_output --partial noproc
    run -0 fv whereis svc
    assert_output "$(pid_of app/svc)"
    run -0 fv whereis u
    assert_output "$u"
    fv_stop
    no_survivors
}

# --- duplicate keys ------------------------------------------------------------------------------

@test "duplicate keys: two configured holders and one at run time; whereis --all and registry list them all" {
    script g3 <<'SH'
o=$FV_TEST_OUT/g3
forkvisor register +grp >"$o.1" 2>&1; echo "rc=$?" >>"$o.1"
forkvisor register +grp >"$o.2" 2>&1; echo "rc=$?" >>"$o.2"
forkvisor register grp >"$o.3" 2>&1; echo "rc=$?" >>"$o.3"
forkvisor ready
exec @W@/sleeper
SH
    script reader <<'SH'
o=$FV_TEST_OUT/reader
forkvisor whereis --all grp >"$o.all" 2>&1; echo "rc=$?" >>"$o.all"
forkvisor whereis --all +grp >"$o.plus" 2>&1; echo "rc=$?" >>"$o.plus"
forkvisor whereis grp >"$o.one" 2>&1; echo "rc=$?" >>"$o.one"
touch "$o.done"
SH
    app_ini g1:@W@/sleeper register=+grp g2:@W@/sleeper register=+grp g3:g3 mailbox reader:reader temporary
    fv_start t.ini
    local g1 g2 g3
    g1=$(pid_of app/g1) g2=$(pid_of app/g2) g3=$(pid_of app/g3)
    run -0 out g3.1
    assert_output rc=0
    # Once per process; and a duplicate key is not a unique name.
    run -0 out g3.2
    assert_output --partial taken
    assert_line rc=1
    run -0 out g3.3
    assert_output --partial taken
    assert_line rc=1

    run -0 fv whereis --all grp
    local outside=$output
    [ "$(sort <<<"$output")" = "$(sorted "$g1" "$g2" "$g3")" ]
    run -0 fv whereis --all +grp
    assert_output "$outside"
    run -0 fv registry
    [ "$(grep -c '^+grp ' <<<"$output")" -eq 3 ]
    for p in "$g1" "$g2" "$g3"; do assert_line --regexp "^\+grp +$p +[0-9]+ +duplicate$"; done
    # Inside prints what outside prints, in the same order; without --all, the first holder.
    retry 100 0.05 done_file reader.done
    [ "$(out reader.all)" = "$outside"$'\nrc=0' ]
    [ "$(out reader.plus)" = "$outside"$'\nrc=0' ]
    run -0 fv whereis grp
    assert_output "$(head -n1 <<<"$outside")"
    [ "$(out reader.one)" = "$(head -n1 <<<"$outside")"$'\nrc=0' ]
    # A holder that terminates leaves the group; the others stay.
    fv stop app/g2
    run -0 fv whereis --all grp
    [ "$(sort <<<"$output")" = "$(sorted "$g1" "$g3")" ]
    fv_stop
    no_survivors
}

# --- termination ---------------------------------------------------------------------------------

@test "termination: a stopped worker's names, configured and run-time, are gone; a restart gets only the configured one back" {
    # r registers its run-time names only in its first incarnation.
    script r <<'SH'
if [ ! -e "$FV_TEST_OUT/r.once" ]; then
    forkvisor register extra || exit 1
    forkvisor register +grp2 || exit 1
    touch "$FV_TEST_OUT/r.once"
fi
forkvisor ready
exec @W@/sleeper
SH
    app_ini other:@W@/sleeper register=+grp2 r:r mailbox
    fv_start t.ini
    local r other g1 g2
    r=$(pid_of app/r) other=$(pid_of app/other)
    run -0 fv whereis r
    assert_output "$r"
    run -0 fv whereis extra
    assert_output "$r"
    run -0 fv whereis --all grp2
    [ "$(sort <<<"$output")" = "$(sorted "$r" "$other")" ]
    g1=$(gen_of r)
    # info lists what it holds now.
    run -0 fv info app/r
    assert_line --regexp '^names: '
    [ "$(sed -n 's/^names: //p' <<<"$output" | tr -d ' ' | tr , '\n' | sort)" = "$(sorted +grp2 extra r)" ]

    run -0 fv stop app/r
    not_registered r
    not_registered extra
    run -0 fv whereis --all grp2
    assert_output "$other"
    run -0 fv info app/r
    assert_line "names: r"
    run -0 fv registry
    refute_line --regexp '^(r|extra) '
    refute_output --partial " $r "

    run -0 fv start app/r
    local r2; r2=$(pid_of app/r)
    [ "$r2" != "$r" ]
    run -0 fv whereis r
    assert_output "$r2"
    g2=$(gen_of r)
    [ "$g2" -gt "$g1" ]
    not_registered extra
    run -0 fv whereis --all grp2
    assert_output "$other"
    fv_stop
    no_survivors
}

@test "dynamic children: NAME.N is registered for each instance, follows restarts and leaves with terminate-child" {
    app_ini pool:{ strategy=simple_one_for_one template=job instances=2 "job:@W@/sleeper job-%i" }
    fv_start t.ini
    local j1 j2 j3
    j1=$(pid_of app/pool/job.1) j2=$(pid_of app/pool/job.2)
    run -0 fv whereis job.1
    assert_output "$j1"
    run -0 fv whereis job.2
    assert_output "$j2"
    not_registered job
    run -0 fv start-child app/pool
    assert_output app/pool/job.3
    j3=$(pid_of app/pool/job.3)
    run -0 fv whereis job.3
    assert_output "$j3"
    kill -KILL "$j1"
    retry 100 0.05 pid_changed app/pool/job.1 "$j1"
    retry 100 0.05 whereis_is job.1 "$(pid_of app/pool/job.1)"
    run -0 fv terminate-child app/pool/job.3
    not_registered job.3
    run -0 fv registry
    assert_line --regexp '^job\.1 '
    assert_line --regexp '^job\.2 '
    refute_line --regexp '^job\.3 '
    fv_stop
    no_survivors
}

# --- registry --json ------------------------------------------------------------------------------

@test "registry --json is valid JSON, with names that need escaping, duplicates, and no names at all" {
    command -v python3 >/dev/null || skip "python3 is not installed"
    script odd <<'SH'
forkvisor register 'q"uo\te' || exit 1
forkvisor register '+g{r}p' || exit 1
forkvisor ready
exec @W@/sleeper
SH
    app_ini a:@W@/sleeper "register=+g{r}p" odd:odd mailbox
    fv_start t.ini
    local a odd
    a=$(pid_of app/a) odd=$(pid_of app/odd)
    run -0 fv registry --json
    printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/r.json"
    run -0 python3 -m json.tool "$BATS_TEST_TMPDIR/r.json"
    # Every entry, as the table has it: name, pid, generation, kind.
    run -0 python3 -c '
import json, sys
for e in json.load(open(sys.argv[1])):
    assert isinstance(e["generation"], int) and e["generation"] > 0
    print(e["name"], e["pid"], e["kind"])
' "$BATS_TEST_TMPDIR/r.json"
    [ "$(sort <<<"$output")" = "$(sort <<EOF
odd $odd unique
q"uo\\te $odd unique
g{r}p $a duplicate
g{r}p $odd duplicate
EOF
)" ]
    run -0 fv whereis 'q"uo\te'
    assert_output "$odd"
    fv_stop

    # No names at all: still a JSON array.
    app_ini a:@W@/sleeper register=none
    fv_start t.ini
    run -0 fv registry --json
    run -0 python3 -c 'import json, sys; assert json.loads(sys.argv[1]) == []' "$output"
    fv_stop
    no_survivors
}

# --- lookups inside a worker ----------------------------------------------------------------------

@test "whereis inside a worker reads fd 4: it answers while the daemon is stopped (no round trip)" {
    script reader <<'SH'
o=$FV_TEST_OUT/reader
forkvisor ready
while [ ! -e "$FV_TEST_OUT/go" ]; do sleep 0.02; done
forkvisor whereis svc >"$o.1" 2>&1; echo "rc=$?" >>"$o.1"
forkvisor whereis nobody >"$o.2" 2>&1; echo "rc=$?" >>"$o.2"
touch "$o.done"
exec @W@/sleeper
SH
    app_ini svc:@W@/sleeper reader:reader mailbox
    fv_start t.ini
    local svc; svc=$(pid_of app/svc)
    kill -STOP "$FV_PID"
    touch "$FV_TEST_OUT/go"
    retry 100 0.05 done_file reader.done
    kill -CONT "$FV_PID"
    [ "$(out reader.1)" = "$svc"$'\nrc=0' ]
    [ "$(out reader.2)" = $'forkvisor: \'nobody\' is not registered\nrc=1' ]
    fv_stop
    no_survivors
}

@test "whereis inside a worker stays right while the daemon is busy restarting others" {
    # Four workers crash and are restarted without pause, each time leaving and taking their
    # names (+crash and their own); reader looks stable up 150 times meanwhile.
    script reader <<'SH'
o=$FV_TEST_OUT/reader
forkvisor ready
while [ ! -e "$FV_TEST_OUT/go" ]; do sleep 0.02; done
want=$(cat "$FV_TEST_OUT/want")
bad=0 i=0
while [ $i -lt 150 ]; do
    p=$(forkvisor whereis stable 2>>"$o.err")
    [ "$p" = "$want" ] || { bad=$((bad + 1)); echo "lookup $i: '$p'" >>"$o.err"; }
    forkvisor whereis --all crash >/dev/null 2>>"$o.crash" || true
    i=$((i + 1))
done
echo "bad=$bad" >"$o.tmp"; mv "$o.tmp" "$o.result"
exec @W@/sleeper
SH
    {
        echo '[supervisor:app]'
        echo 'intensity = 1000000'
        echo 'period = 1'
        echo 'children = stable, reader, c1, c2, c3, c4'
        printf '[worker:stable]\nexec = @W@/sleeper\n'
        printf '[worker:reader]\nexec = %s\nready = mailbox\n' "$BATS_TEST_TMPDIR/reader"
        for k in 1 2 3 4; do
            printf '[worker:c%s]\nexec = @W@/crash-after 5\nregister = +crash\n' "$k"
        done
    } | conf t.ini
    fv_start_nowait t.ini
    retry 100 0.05 info_is app/reader state running
    local before after
    before=$(restarts_of app/c1)
    pid_of app/stable >"$FV_TEST_OUT/want"
    touch "$FV_TEST_OUT/go"
    retry 500 0.05 done_file reader.result
    after=$(restarts_of app/c1)
    echo "c1 restarted $((after - before)) times during the lookups" >&2
    [ "$after" -gt "$before" ]
    [ ! -s "$FV_TEST_OUT/reader.err" ] || { cat "$FV_TEST_OUT/reader.err" >&2; false; }
    [ "$(out reader.result)" = bad=0 ]
    # --all of a key whose holders come and go: an answer or "not registered", never an error.
    ! grep -v "is not registered" "$FV_TEST_OUT/reader.crash" || false
    run -0 fv whereis stable
    assert_output "$(pid_of app/stable)"
    daemon_running
    fv_stop
    no_survivors
}

restarts_of() { fv info "$1" | sed -n 's/^restarts: //p'; }
info_is() { [[ $(fv info "$1" | sed -n "s/^$2: //p") == "$3" ]]; }

@test "whereis inside a worker without its fd 4 asks the daemon, and prints the same" {
    script w <<'SH'
o=$FV_TEST_OUT/w
forkvisor whereis svc 4<&- >"$o.1" 2>&1; echo "rc=$?" >>"$o.1"
env -u FORKVISOR_REGISTRY "$FORKVISOR" whereis svc >"$o.2" 2>&1; echo "rc=$?" >>"$o.2"
forkvisor whereis nobody 4<&- >"$o.3" 2>&1; echo "rc=$?" >>"$o.3"
forkvisor whereis svc >"$o.4" 2>&1; echo "rc=$?" >>"$o.4"
touch "$o.done"
SH
    app_ini svc:@W@/sleeper w:w temporary
    fv_start t.ini
    local svc; svc=$(pid_of app/svc)
    retry 100 0.05 done_file w.done
    local k
    for k in 1 2 4; do [ "$(out "w.$k")" = "$svc"$'\nrc=0' ]; done
    [ "$(out w.3)" = $'forkvisor: \'nobody\' is not registered\nrc=1' ]
    fv_stop
    no_survivors
}

# --- the command line ------------------------------------------------------------------------------

@test "register and unregister outside a worker exit 2; --help works for the registry commands" {
    local cmd
    for cmd in register unregister; do
        run -2 env -u FORKVISOR_MAILBOX "$FORKVISOR" "$cmd" x
        assert_output --partial "not inside a forkvisor worker"
        run -0 env -u FORKVISOR_MAILBOX "$FORKVISOR" "$cmd" --help
        assert_output --partial "Usage: forkvisor $cmd NAME"
        run -2 env -u FORKVISOR_MAILBOX "$FORKVISOR" "$cmd"
    done
    run -0 "$FORKVISOR" whereis --help
    assert_output --partial "Usage: forkvisor whereis NAME [--all]"
    run -0 "$FORKVISOR" registry --help
    assert_output --partial "Usage: forkvisor registry"
    run -2 "$FORKVISOR" whereis
}
