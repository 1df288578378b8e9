# SPDX-License-Identifier: MIT
# Configuration errors: every problem reported as FILE:LINE: message, exit 2, nothing started;
# did-you-mean hints, overlong lines, structure errors (duplicates, two parents, cycles),
# includes, continuation lines and the \; escape.
bats_require_minimum_version 1.5.0

setup() {
    load test_helper
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    export FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    cd "$BATS_TEST_TMPDIR" || return 1
}
teardown() { fv_teardown; }

# refused FILE: both `check` and `run` exit 2 on FILE and start nothing; leaves `check`'s
# output in $output for the caller's assertions.
refused() {
    local sock="$BATS_TEST_TMPDIR/refused.sock" before after
    before=$(cat "$FV_TEST_OUT/pids" 2>/dev/null | wc -l)
    run -2 timeout 10 "$FORKVISOR" run "$1" --control "$sock"
    local run_output=$output
    after=$(cat "$FV_TEST_OUT/pids" 2>/dev/null | wc -l)
    [ "$after" -eq "$before" ] || { echo "a bad configuration started processes" >&2; return 1; }
    [ ! -e "$sock" ] || { echo "a bad configuration opened the control socket" >&2; return 1; }
    run -2 "$FORKVISOR" check "$1"
    # run reports the same problems as check.
    local line
    while IFS= read -r line; do
        [[ $line == "$1":* ]] || continue
        [[ $run_output == *"$line"* ]] || { echo "run did not report: $line" >&2; return 1; }
    done <<<"$output"
}

# refuses FILE REGEX <<EOF: writes configuration FILE (as conf does), checks that it is refused
# (see refused) and that the report matches REGEX; leaves that report in $output.
refuses() {
    conf "$1"
    refused "$1"
    assert_output --regexp "$2"
}

@test "every problem of a file is reported with its line, and nothing starts" {
    conf bad.ini <<'INI'
; a comment on line 1
[supervisor:app]
restrat = one_for_one
strategy = one_for_al
children = web, dbb

[worker:web]
exec = @W@/sleeper
restart = sometimes

[worker:db]
exec = @W@/sleeper
shutdown = soon

[wroker:x]
exec = @W@/sleeper
INI
    refused bad.ini
    assert_line "bad.ini:3: unknown key 'restrat', did you mean 'restart'?"
    assert_line --regexp "^bad\.ini:4: bad value 'one_for_al' for strategy: expected .*one_for_one.*rest_for_one.*; did you mean 'one_for_all'\?$"
    assert_line --regexp "^bad\.ini:5: undefined section 'dbb', did you mean 'db'\?$"
    assert_line --regexp "^bad\.ini:9: bad value 'sometimes' for restart: expected permanent, transient or temporary$"
    assert_line --regexp "^bad\.ini:13: bad value 'soon' for shutdown: expected .*brutal_kill or infinity"
    assert_line "bad.ini:15: unknown section kind 'wroker', did you mean 'worker'?"
    # Each line is FILE:LINE: message, and there are at least the six problems above.
    local n
    n=$(grep -c '^bad\.ini:[0-9][0-9]*: ' <<<"$output")
    [ "$n" -ge 6 ]
}

@test "a missing exec is a missing required key" {
    refuses noexec.ini "noexec\.ini:5: missing required key 'exec' in \[worker:b\]" <<'INI'
[supervisor:app]
children = a, b
[worker:a]
exec = @W@/sleeper
[worker:b]
restart = permanent
INI
}

@test "an over-long line is refused with its number, a line of the maximum length is kept whole" {
    local prefix="exec = $WORKERS/sleeper " max label
    {
        echo '[supervisor:app]'
        echo 'children = a'
        echo '[worker:a]'
        printf '%s%s\n' "$prefix" "$(printf 'x%.0s' {1..400})"
        echo 'restart = sometimes'
    } >long.ini
    refused long.ini
    assert_output --regexp "long\.ini:4: line too long \(max [0-9]+ bytes\)"
    # The parser went on: the error after the long line is reported too.
    assert_output --partial "long.ini:5: bad value 'sometimes' for restart"
    # Never truncated silently: a line of exactly the maximum is taken whole.
    max=$(sed -n 's/.*line too long (max \([0-9]*\) bytes).*/\1/p' <<<"$output" | head -n1)
    [ "$max" -gt "${#prefix}" ]
    label=$(printf 'y%.0s' $(seq $((max - ${#prefix}))))
    {
        echo '[supervisor:app]'
        echo 'children = a'
        echo '[worker:a]'
        printf '%s%s\n' "$prefix" "$label"
    } >exact.ini
    [ "$(sed -n 4p exact.ini | wc -c)" -eq $((max + 1)) ]
    run -0 "$FORKVISOR" check exact.ini
    fv_start exact.ini
    run -0 fv info app/a
    assert_line "command: $WORKERS/sleeper $label"
    fv_stop
    no_survivors
}

@test "a duplicate section is refused, naming the first definition" {
    refuses dup.ini "dup\.ini:7: duplicate section .*'a'.*dup\.ini:4" <<'INI'
[supervisor:app]
children = a

[worker:a]
exec = @W@/sleeper

[worker:a]
exec = @W@/sleeper
INI

    refuses dup2.ini "dup2\.ini:5: duplicate section .*'a'" <<'INI'
[supervisor:app]
children = a
[worker:a]
exec = @W@/sleeper
[supervisor:a]
children = app
INI
}

@test "a child listed under two supervisors is refused" {
    refuses two.ini "two\.ini:6: 'a' is listed under two supervisors: 's1' .*two\.ini:4.* and 's2'" <<'INI'
[supervisor:app]
children = s1, s2
[supervisor:s1]
children = a
[supervisor:s2]
children = a
[worker:a]
exec = @W@/sleeper
INI
}

@test "a worker listed under no supervisor is refused" {
    refuses orphan.ini "orphan\.ini:5: .*'b' is not listed in the children of any supervisor" <<'INI'
[supervisor:app]
children = a
[worker:a]
exec = @W@/sleeper
[worker:b]
exec = @W@/sleeper
INI
}

@test "a cycle of supervisors is refused" {
    refuses cycle.ini "cycle\.ini:[46]: cycle: " <<'INI'
[supervisor:app]
children = a
[supervisor:x]
children = y
[supervisor:y]
children = x
[worker:a]
exec = @W@/sleeper
INI
    assert_output --partial "x"
    assert_output --partial "y"

    refuses self.ini "self\.ini:2: cycle: .*'app'" <<'INI'
[supervisor:app]
children = a, app
[worker:a]
exec = @W@/sleeper
INI
}

# includer TARGET: a configuration whose line 2 includes TARGET, over one sleeper a.
includer() {
    printf '[forkvisor]\ninclude = %s\n[supervisor:app]\nchildren = a\n[worker:a]\nexec = @W@/sleeper\n' "$1"
}

@test "an unreadable include is refused with the line of the include" {
    refuses missing.ini "missing\.ini:2: cannot read include '[^']*nowhere\.ini': No such file or directory" < <(includer nowhere.ini)

    mkdir adir
    refuses dir.ini "dir\.ini:2: cannot read include '[^']*adir'" < <(includer adir)

    # Without read permission (root reads anything, so ask as nobody then).
    includer secret.ini | conf locked.ini
    printf '[worker:b]\nexec = /bin/true\n' >secret.ini
    chmod 000 secret.ini
    chmod o+r locked.ini
    if [[ $(id -u) -eq 0 ]]; then
        command -v setpriv >/dev/null || skip "setpriv is needed to read as another user"
        make_reachable "$BATS_TEST_TMPDIR"
        run -2 setpriv --reuid=65534 --regid=65534 --clear-groups "$FORKVISOR" check "$BATS_TEST_TMPDIR/locked.ini"
    else
        run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/locked.ini"
    fi
    assert_output --regexp "locked\.ini:2: cannot read include '[^']*secret\.ini': Permission denied"
}

@test "include merges a second file into the tree" {
    mkdir conf.d
    conf main.ini <<'INI'
[forkvisor]
include = conf.d/*.ini
[supervisor:app]
children = a, b
[worker:a]
exec = @W@/sleeper
INI
    conf conf.d/b.ini <<'INI'
[worker:b]
exec = @W@/sleeper
INI
    run -0 "$FORKVISOR" check main.ini
    fv_start main.ini
    run -0 fv status
    assert_output --regexp "app/a +worker +running"
    assert_output --regexp "app/b +worker +running"
    run -0 fv whereis b
    [ "$output" = "$(cat "$FV_TEST_OUT/b.started")" ]
    # An error in the included file is reported against that file and its own line.
    printf 'restart = nope\n' >>conf.d/b.ini
    run -2 "$FORKVISOR" check main.ini
    assert_output --regexp "conf\.d/b\.ini:3: bad value 'nope' for restart"
    fv_stop
    no_survivors
}

@test "children go on over indented continuation lines, in order" {
    conf cont.ini <<'INI'
[supervisor:app]
children = a,
    b
  c, d
[worker:a]
exec = @W@/sleeper
[worker:b]
exec = @W@/sleeper
[worker:c]
exec = @W@/sleeper
[worker:d]
exec = @W@/sleeper
INI
    run -0 "$FORKVISOR" check cont.ini
    fv_start cont.ini
    run -0 fv status
    [ "$(awk 'NR > 1 { print $1 }' <<<"$output" | paste -sd ' ')" = "app app/a app/b app/c app/d" ]
    # Started in that order, too.
    [ "$(sed -n "s/.*Started 'app\/\([a-d]\)'.*/\1/p" "$(fv_log)" | paste -sd ' ')" = "a b c d" ]
    fv_stop
    no_survivors

    # A key that takes one value cannot go on.
    refuses cont-bad.ini "cont-bad\.ini:5: indented line continues 'exec'" <<'INI'
[supervisor:app]
children = a
[worker:a]
exec = @W@/sleeper
  --verbose
INI
}

@test "\\; puts a literal semicolon into exec, where ' ;' alone starts a comment" {
    conf semi.ini <<'INI'
[supervisor:app]
children = a
[worker:a]
exec = /bin/sh -c 'echo a \; echo b\; exec @W@/sleeper' ; this is a comment
stdout = file:@T@/semi.out
INI
    fv_start semi.ini
    retry 100 0.05 grep -qx b semi.out
    [ "$(cat semi.out)" = "$(printf 'a\nb')" ]
    fv_stop
    no_survivors

    # Without the backslash the rest of the line is a comment: the quote is left open.
    refuses nosemi.ini "nosemi\.ini:4: bad value for exec: unterminated single quote" <<'INI'
[supervisor:app]
children = a
[worker:a]
exec = /bin/sh -c 'echo a ; echo b'
INI
}
