# SPDX-License-Identifier: MIT
# The plan's cases about what a child inherits: fd hygiene, huge RLIMIT_NOFILE, children's signal
# state, privilege drop. The env-dump worker reports what it got; /proc says the rest.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=90}"

setup() { load test_helper; }
teardown() {
    local rc=0
    if [[ -n ${STRACE_PID:-} ]]; then kill "$STRACE_PID" 2>/dev/null; wait "$STRACE_PID" 2>/dev/null; fi
    fv_teardown || rc=$?
    if [[ -n ${USER_DIR:-} ]]; then rm -rf "$USER_DIR"; fi
    return "$rc"
}

# dump PATH FILE: wait for the report of the worker at PATH from its running pid.
dump() {
    retry 200 0.05 dump_is_current "$1" "$2"
}
dump_is_current() { [[ -s $2 && $(value "$2" pid) == "$(pid_of "$1")" ]]; }
# fd_count PID: how many descriptors PID holds.
fd_count() { ls "/proc/$1/fd" | wc -l; }
restarts_at_least() { local r; r=$(fv info "$1" | sed -n 's/^restarts: //p'); [[ -n $r && $r -ge $2 ]]; }
# status_field PID FIELD: the value of FIELD: in /proc/PID/status, tabs as spaces.
# prlimit_start LIMIT CONFIG: fv_start with the node's RLIMIT_NOFILE set to LIMIT (SOFT:HARD).
prlimit_start() {
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run" FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    # prlimit execs the node: $! is the node itself.
    prlimit --nofile="$1" "$FORKVISOR" run "$BATS_TEST_TMPDIR/$2" --control "$FV_RUNTIME_DIR/control.sock" \
        </dev/null >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    retry 300 0.05 fv wait --timeout 100
}
status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr '\t' ' ' | sed 's/ *$//'; }

@test "fd hygiene: children see fds 0-4 only, after restarts and reloads too; the node's count is back after 100 restarts" {
    app_ini intensity=1000 period=1 "e:@W@/env-dump e.env" "k:@W@/crash-after 5"
    # Descriptors the daemon inherits without close-on-exec.
    exec 7</dev/null 9>"$BATS_TEST_TMPDIR/held"
    fv_start t.ini
    exec 7<&- 9>&-
    local f=$BATS_TEST_TMPDIR/e.env base after old
    dump app/e "$f"
    [ "$(value "$f" fds)" = 0,1,2,3,4 ]
    # The level with k stopped, then 100 crashes and restarts of k, then stopped again.
    run -0 fv stop app/k
    base=$(fd_count "$FV_PID")
    run -0 fv start app/k
    retry 600 0.05 restarts_at_least app/k 100
    run -0 fv stop app/k
    after=$(fd_count "$FV_PID")
    echo "node fds: $base before, $after after 100 restarts" >&2
    [ "$after" -eq "$base" ]
    # A restarted child, and one added by a reload, see the same.
    old=$(pid_of app/e)
    rm "$f"
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/e "$old"
    dump app/e "$f"
    [ "$(value "$f" fds)" = 0,1,2,3,4 ]
    app_ini intensity=1000 period=1 "e:@W@/env-dump e.env" "k:@W@/crash-after 5" "n:@W@/env-dump n.env"
    run -0 fv reload
    dump app/n "$BATS_TEST_TMPDIR/n.env"
    [ "$(value "$BATS_TEST_TMPDIR/n.env" fds)" = 0,1,2,3,4 ]
    # The reload kept e and started k again (it was stopped by hand, and its section is the same).
    [ "$(value "$f" pid)" = "$(pid_of app/e)" ]
    fv_stop
    no_survivors
}

@test "huge RLIMIT_NOFILE: a spawn closes the node's fds in one call, not one by one; children get the limit the node was given" {
    command -v strace >/dev/null || skip "strace is not installed"
    local hard want
    hard=$(ulimit -Hn)
    # As high as this host lets us go: 1048576 where the hard limit (or CAP_SYS_RESOURCE) allows.
    want=$hard
    if prlimit --nofile=1048576:1048576 true 2>/dev/null; then want=1048576; fi
    [[ $want == unlimited || $want -ge 16384 ]] || skip "the hard RLIMIT_NOFILE is only $want"
    app_ini intensity=10 "e:@W@/env-dump e.env" s:@W@/sleeper
    # The node is given a soft limit of 1024 under a huge hard one (as systemd does); it raises
    # its own soft limit to the hard one, so any per-fd loop in a child would run $want times.
    prlimit_start "1024:$want" t.ini
    local f=$BATS_TEST_TMPDIR/e.env
    dump app/e "$f"
    [ "$(awk '/^Max open files/ { print $4 ":" $5 }' "/proc/$FV_PID/limits")" = "$want:$want" ]
    [ "$(value "$f" rlimit_nofile)" = "1024:$want" ]
    # strace, attached to the running node, sees the close calls of every process it spawns.
    local trace=$BATS_TEST_TMPDIR/trace
    strace -f -e trace=close,close_range -o "$trace" -p "$FV_PID" 2>"$trace.err" &
    STRACE_PID=$!
    retry 100 0.05 grep -q attached "$trace.err"
    local old i
    for i in 1 2 3; do
        old=$(pid_of app/s)
        kill -KILL "$old"
        retry 100 0.05 pid_changed app/s "$old"
    done
    kill -INT "$STRACE_PID"
    wait "$STRACE_PID" || true
    unset STRACE_PID
    local child max=0 n spawned=0
    for child in $(awk -v node="$FV_PID" '$1 != node { print $1 }' "$trace" | sort -u); do
        n=$(awk -v p="$child" '$1 == p && /close\(/' "$trace" | wc -l)
        ((n > max)) && max=$n
        spawned=$((spawned + 1))
    done
    echo "most close() calls in one of $spawned spawned children: $max (limit $want)" >&2
    [ "$spawned" -ge 3 ]
    [ "$max" -lt 64 ]
    grep -q close_range "$trace"
    # The successors got the limit the node was given, not its raised one.
    [ "$(awk '/^Max open files/ { print $4 ":" $5 }' "/proc/$(pid_of app/s)/limits")" = "1024:$want" ]
    fv_stop
    no_survivors
}

@test "children's signal state: SigBlk and SigIgn are 0 in every worker, though the node was started with signals blocked and ignored" {
    command -v perl >/dev/null || skip "perl is not installed"
    app_ini "e:@W@/env-dump e.env" s:@W@/sleeper
    export FV_RUNTIME_DIR="$BATS_TEST_TMPDIR/run" FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_RUNTIME_DIR" "$FV_TEST_OUT"
    # A wrapper that blocks and ignores a handful of signals, then execs the node: what a careless
    # parent (a shell's background job, nohup, an init script) hands down.
    perl -e 'use POSIX;
        sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGHUP, SIGCHLD));
        $SIG{$_} = "IGNORE" for qw(INT QUIT PIPE TSTP TTIN TTOU);
        exec @ARGV or die "exec: $!"' \
        "$FORKVISOR" run "$BATS_TEST_TMPDIR/t.ini" --control "$FV_RUNTIME_DIR/control.sock" \
        </dev/null >"$(fv_log)" 2>&1 3>&- &
    FV_PID=$!
    retry 200 0.05 fv wait --timeout 100
    [ "$(status_field "$FV_PID" SigIgn)" != 0000000000000000 ]
    local f=$BATS_TEST_TMPDIR/e.env s old
    dump app/e "$f"
    [ "$(value "$f" sigmask)" = none ]
    [ "$(value "$f" sigign)" = none ]
    for s in $(pid_of app/e) $(pid_of app/s); do
        [ "$(status_field "$s" SigBlk)" = 0000000000000000 ]
        [ "$(status_field "$s" SigIgn)" = 0000000000000000 ]
    done
    # A successor too (spawned from the running node, not at boot).
    old=$(pid_of app/s)
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/s "$old"
    s=$(pid_of app/s)
    [ "$(status_field "$s" SigBlk)" = 0000000000000000 ]
    [ "$(status_field "$s" SigIgn)" = 0000000000000000 ]
    # SIGTERM was blocked when the node started: it still shuts down on one.
    kill -TERM "$FV_PID"
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    no_survivors
}

@test "privilege drop: uid, gid, supplementary groups and capabilities in /proc/PID/status, for a successor too" {
    [[ $EUID -eq 0 ]] || skip "needs root"
    # A user with a supplementary group, if this host has one; else nobody.
    local user=nobody g u
    while IFS=: read -r g _ _ u; do
        u=${u%%,*}
        if [[ -n $u ]] && getent passwd "$u" >/dev/null; then user=$u; break; fi
    done </etc/group
    getent passwd "$user" >/dev/null || skip "no user to run as"
    USER_DIR=$(mktemp -d /tmp/fv-priv.XXXXXX)
    chmod 0755 "$USER_DIR"
    mkdir -m 1777 "$USER_DIR/out"
    conf t.ini <<INI
[supervisor:app]
children = u, ug
[worker:u]
exec = $WORKERS/sleeper
user = $user
directory = /
environment = FV_TEST_OUT=$USER_DIR/out
[worker:ug]
exec = $WORKERS/sleeper
user = $user
group = daemon
directory = /
environment = FV_TEST_OUT=$USER_DIR/out
INI
    fv_start t.ini
    local uid gid groups ggroups dgid old
    uid=$(id -u "$user") gid=$(id -g "$user") dgid=$(getent group daemon | cut -d: -f3)
    groups=$(id -G "$user" | tr ' ' '\n' | sort -n | paste -sd ' ')
    # With group =, that group replaces the primary one, the supplementary ones stay.
    ggroups=$( (id -G "$user" | tr ' ' '\n' | grep -vx "$gid"; echo "$dgid") | sort -nu | paste -sd ' ')
    check_creds() { # PID GID GROUPS
        [ "$(status_field "$1" Uid)" = "$uid $uid $uid $uid" ]
        [ "$(status_field "$1" Gid)" = "$2 $2 $2 $2" ]
        [ "$(status_field "$1" Groups | tr ' ' '\n' | sort -n | paste -sd ' ')" = "$3" ]
        [ "$(status_field "$1" CapEff)" = 0000000000000000 ]
        [ "$(status_field "$1" CapPrm)" = 0000000000000000 ]
        [ "$(status_field "$1" CapAmb)" = 0000000000000000 ]
    }
    echo "running as $user: uid $uid, gid $gid, groups $groups" >&2
    check_creds "$(pid_of app/u)" "$gid" "$groups"
    check_creds "$(pid_of app/ug)" "$dgid" "$ggroups"
    old=$(pid_of app/u)
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/u "$old"
    check_creds "$(pid_of app/u)" "$gid" "$groups"
    fv_stop
    cat "$USER_DIR/out/pids" >>"$FV_TEST_OUT/pids"
    no_survivors
}
