# SPDX-License-Identifier: MIT
# Shared helpers for the bats suites: start/stop a daemon per test, poll, and check that no
# process outlives its test.
bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

: "${FORKVISOR_BUILD:=$BATS_TEST_DIRNAME/../../build}"
FORKVISOR="$FORKVISOR_BUILD/forkvisor"
WORKERS="$FORKVISOR_BUILD/workers"
SHWORKERS="$(cd "$BATS_TEST_DIRNAME/../../workers" && pwd)"
FIXTURES="$BATS_TEST_DIRNAME/fixtures"

# retry ATTEMPTS DELAY CMD...: poll until CMD succeeds (never sleep-and-hope).
retry() {
    local n=$1 delay=$2 i; shift 2
    for ((i = 0; i < n; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep "$delay"
    done
    echo "gave up after $n tries: $*" >&2
    return 1
}

fv() { "$FORKVISOR" --control "$FV_RUNTIME_DIR/control.sock" "$@"; }

# fv_log: the path of the daemon's log (its stdout and stderr).
fv_log() { echo "$BATS_TEST_TMPDIR/forkvisor.log"; }
# LOG_TS: the time log_timestamps writes after a line's "<N>" (an ERE, with its space). It is on
# by default, the tests' stderr being no journal.
LOG_TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z '
# fv_log_plain: the daemon's log without those times: "<N>message" lines.
fv_log_plain() { sed -E "s/^(<[0-9]>)$LOG_TS/\1/" "$(fv_log)"; }
# line_of TEXT [N]: the line number of the Nth (default 1st) log line containing TEXT.
line_of() { fv_log_plain | grep -nF -- "$1" | sed -n "${2:-1}p" | cut -d: -f1; }
# count_in_log TEXT: how many log lines contain TEXT.
count_in_log() { fv_log_plain | grep -cF -- "$1" || true; }
# order_of PREFIX: the paths named by the log lines "<N>PREFIX 'PATH'...", in log order, space
# separated; PREFIX is a regex, e.g. "Stopped" or "Started".
order_of() { fv_log_plain | sed -n "s/^<[0-9]>$1 '\([^']*\)'.*/\1/p" | paste -sd ' '; }

# conf NAME <<EOF: writes a configuration into the test's directory, with @W@ replaced by the
# C workers' directory, @S@ by the shell workers' directory and @T@ by the test's directory.
# Prints nothing.
conf() {
    sed -e "s|@W@|$WORKERS|g" -e "s|@S@|$SHWORKERS|g" -e "s|@T@|$BATS_TEST_TMPDIR|g" \
        > "$BATS_TEST_TMPDIR/$1"
}

# app_ini [KEY=VALUE...] CHILD...: conf t.ini with the root supervisor app over the CHILDren, in
# that order. A CHILD is a worker NAME:EXEC [KEY=VALUE...], or a supervisor
# NAME:{ [KEY=VALUE...] CHILD... } (the braces are words of their own). The KEY=VALUE words right
# after a supervisor (app included) or a worker are its settings ("ready=mailbox" writes "ready =
# mailbox"); the words `mailbox` and `temporary` stand for ready=mailbox and restart=temporary.
# EXEC is written as is when it starts with @ or /, else it names a script in the test's
# directory (`rec:recorder` runs $BATS_TEST_TMPDIR/recorder). The worker a supervisor's
# template=NAME names is defined inside it but not listed in its children.
app_ini() {
    # One level a supervisor being written: its name, settings, children, template and sections.
    local -a names=(app) sets=('') kids=('') tmpls=('') bodies=('')
    local d=0 w name exec sec closed=
    for w; do
        if [[ $w == '}' ]]; then
            ((d > 0)) || { echo "app_ini: a } without its supervisor" >&2; return 1; }
            sec="[supervisor:${names[d]}]"$'\n'"${sets[d]}"
            [[ -z ${kids[d]} ]] || sec+="children = ${kids[d]}"$'\n'
            sec+=${bodies[d]}
            d=$((d - 1))
            bodies[d]+=$sec
            closed=1
            continue
        fi
        if [[ $w =~ ^([A-Za-z0-9_-]+):(.*)$ ]]; then
            name=${BASH_REMATCH[1]} exec=${BASH_REMATCH[2]} closed=
            [[ $name == "${tmpls[d]}" ]] || kids[d]+="${kids[d]:+, }$name"
            if [[ $exec == '{' ]]; then
                d=$((d + 1))
                names[d]=$name sets[d]='' kids[d]='' tmpls[d]='' bodies[d]=''
                continue
            fi
            [[ $exec == [@/]* ]] || exec=$BATS_TEST_TMPDIR/$exec
            bodies[d]+="[worker:$name]"$'\n'"exec = $exec"$'\n'
            continue
        fi
        case $w in
        mailbox) w=ready=mailbox ;;
        temporary) w=restart=temporary ;;
        *=*) ;;
        *) echo "app_ini: not KEY=VALUE, NAME:EXEC, NAME:{ nor }: $w" >&2; return 1 ;;
        esac
        [[ -z $closed ]] || { echo "app_ini: a setting after }: $w" >&2; return 1; }
        [[ ${w%%=*} != template ]] || tmpls[d]=${w#*=}
        w="${w%%=*} = ${w#*=}"$'\n'
        if [[ -z ${bodies[d]} ]]; then sets[d]+=$w; else bodies[d]+=$w; fi
    done
    ((d == 0)) || { echo "app_ini: supervisor '${names[d]}' has no }" >&2; return 1; }
    printf '[supervisor:app]\n%schildren = %s\n%s' "${sets[0]}" "${kids[0]}" "${bodies[0]}" | conf t.ini
}

# daemon_keys KEY=VALUE...: puts a [forkvisor] section with these keys at the top of t.ini.
daemon_keys() {
    local t=$BATS_TEST_TMPDIR/t.ini kv
    {
        echo '[forkvisor]'
        for kv; do echo "${kv%%=*} = ${kv#*=}"; done
        cat "$t"
    } > "$t.new"
    mv "$t.new" "$t"
}

# sleepers_ini [-s STRATEGY] NAME...: conf t.ini with the root supervisor app (with strategy =
# STRATEGY if given) over one sleeper worker per NAME, in that order.
sleepers_ini() {
    local settings=() n
    if [[ $1 == -s ]]; then settings=("strategy=$2"); shift 2; fi
    for n; do settings+=("$n:@W@/sleeper"); done
    app_ini "${settings[@]}"
}

# fv_start_nowait CONFIG [ARGS...]: start a daemon in the background and return at once. Its
# standard input is $FV_STDIN (default /dev/null, what a background job would get anyway).
fv_start_nowait() {
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    export FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    local cfg=$1; shift
    [[ $cfg == /* ]] || cfg="$BATS_TEST_TMPDIR/$cfg"
    # 3>&- : do not hold bats' output pipe open.
    "$FORKVISOR" run "$cfg" --control "$FV_RUNTIME_DIR/control.sock" "$@" \
        <"${FV_STDIN:-/dev/null}" >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
}

# fv_start CONFIG [ARGS...]: fv_start_nowait, then wait until the tree is running (`wait` waits
# for the daemon to come up as well).
fv_start() {
    fv_start_nowait "$@"
    fv wait --timeout 15000
}

# A zombie counts as gone: it has exited, only its status waits for `wait`.
daemon_gone() { ! pid_alive "$FV_PID"; }
# daemon_running: the daemon has not exited.
daemon_running() { ! daemon_gone; }

# fv_wait_exit: wait for the daemon to exit by itself; sets FV_STATUS. Safe under `set -e` when
# the status is not 0, and fails when the daemon does not exit (also where set -e is off).
fv_wait_exit() {
    retry 200 0.05 daemon_gone || return 1
    FV_STATUS=0
    wait "$FV_PID" || FV_STATUS=$?
    unset FV_PID
}

fv_stop() {
    if [[ -n ${FV_PID:-} ]]; then
        kill -TERM "$FV_PID" 2>/dev/null || true
        retry 200 0.05 daemon_gone || kill -KILL "$FV_PID" 2>/dev/null || true
        wait "$FV_PID" 2>/dev/null || true
        unset FV_PID
    fi
}

pid_alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# pid_dead PID: PID is gone (or a zombie).
pid_dead() { ! pid_alive "$1"; }

# no_survivors: every pid a worker recorded in $FV_TEST_OUT/pids is gone (polls briefly, since a
# SIGKILLed group member may take a moment to die).
# ours PID: PID is alive and one of this test's processes, not a stranger that was given a
# recorded pid again (pids wrap at 32768 here, within one run of make check): its environment
# has this test's FV_TEST_OUT, which the daemon's children inherit.
# (A zombie's environment reads empty: it is gone.)
ours() {
    kill -0 "$1" 2>/dev/null && grep -qzxF "FV_TEST_OUT=$FV_TEST_OUT" "/proc/$1/environ" 2>/dev/null
}
all_recorded_gone() {
    local p
    [[ -r $FV_TEST_OUT/pids ]] || return 0
    while read -r p; do ours "$p" && return 1; done < "$FV_TEST_OUT/pids"
    return 0
}
no_survivors() {
    retry 100 0.05 all_recorded_gone || {
        echo "processes survived: $(while read -r p; do ours "$p" && echo "$p"; done < "$FV_TEST_OUT/pids")" >&2
        return 1
    }
}

# The standard teardown: stop the daemon and kill whatever a failed test left behind, so one
# failure never leaks into the next test (tests assert no_survivors themselves). Then show the
# daemon's log (bats prints teardown output only for a failed test), and fail a test whose daemon
# reported a sanitizer error.
fv_teardown() {
    fv_stop
    if [[ -n ${FV_TEST_OUT:-} && -r $FV_TEST_OUT/pids ]]; then
        local p
        while read -r p; do ours "$p" && kill -KILL "$p" 2>/dev/null; done < "$FV_TEST_OUT/pids"
    fi
    local log; log=$(fv_log)
    [[ -r $log ]] || return 0
    echo "--- $log"
    cat "$log"
    ! grep -qE 'Sanitizer|runtime error:' "$log"
}

# pid_of PATH: the pid in `status --json` for PATH (empty when none).
pid_of() {
    fv info "$1" | sed -n 's/^pid: //p'
}
state_of() {
    fv info "$1" | sed -n 's/^state: //p'
}
# pid_changed PATH OLD: true once PATH runs under a pid other than OLD.
pid_changed() {
    local p; p=$(pid_of "$1"); [[ -n $p && $p != "$2" ]] && [[ $(state_of "$1") == running ]]
}

# ascending N...: true when every N is set and each is below the next (log line order).
ascending() {
    local prev= n
    for n; do
        [[ -n $n ]] || return 1
        [[ -z $prev || $prev -lt $n ]] || return 1
        prev=$n
    done
}
# file_has FILE: FILE exists and is not empty.
file_has() { [[ -s $1 ]]; }
# test_script NAME <<EOF: an executable shell script NAME in the test's directory; it records its pid
# for no_survivors, @T@ is the test's directory.
test_script() {
    {
        printf '#!/bin/sh\necho $$ >>"$FV_TEST_OUT/pids"\n'
        sed -e "s|@T@|$BATS_TEST_TMPDIR|g"
    } >"$BATS_TEST_TMPDIR/$1"
    chmod +x "$BATS_TEST_TMPDIR/$1"
}
# value FILE KEY: the value of KEY=... in an env-dump report (exit 1 when KEY is absent).
value() { grep -q "^$2=" "$1" && sed -n "s/^$2=//p" "$1"; }
# make_reachable DIR: let other users traverse every directory from / down to DIR.
make_reachable() {
    local d=$1
    while [[ -n $d && $d != / ]]; do chmod o+x "$d"; d=$(dirname "$d"); done
}
