# SPDX-License-Identifier: MIT
# The plan's "rlimits after setuid" case: limit_nproc counts the processes of the worker's user,
# as fork(2) does, although the worker is forked by root and only then becomes that user.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() { fv_teardown; }

# uid_is PID UID: PID runs with the real uid UID (setpriv has switched).
uid_is() { [[ $(awk '/^Uid:/ { print $2 }' "/proc/$1/status") == "$2" ]]; }

# pick_user: sets U to a user with a passwd entry and no process now, so that the test knows
# how many it has (other suites run things as nobody at the same time; a system account such
# as games runs nothing). Skips when there is none, or without root.
pick_user() {
    [[ $EUID -eq 0 ]] || skip "user = needs root"
    command -v setpriv >/dev/null || skip "no setpriv"
    local u
    for u in games lp news uucp nobody; do
        getent passwd "$u" >/dev/null || continue
        [[ -z $(ps -u "$u" -o pid= 2>/dev/null) ]] || continue
        U=$u
        return 0
    done
    skip "no user without processes among games, lp, news, uucp and nobody"
}

# as_user_sleeping: a process of U's, recorded for the teardown, which kills it only as the
# test's own: by FV_TEST_OUT in its environment (fv_start_nowait exports the same later).
as_user_sleeping() {
    export FV_TEST_OUT="$BATS_TEST_TMPDIR/out"
    mkdir -p "$FV_TEST_OUT"
    setpriv --reuid="$U" --regid="$(id -g "$U")" --clear-groups sleep 1000 </dev/null >/dev/null 2>&1 3>&- &
    echo "$!" >> "$BATS_TEST_TMPDIR/out/pids"
    retry 100 0.05 uid_is "$!" "$(id -u "$U")"
}

@test "rlimits after setuid: limit_nproc = 1, while the worker's user has a process already: the worker does not start, and says why" {
    pick_user
    as_user_sleeping
    app_ini w:@W@/sleeper "user=$U" limit_nproc=1
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "'app/w' failed to start: failed to start within limit_nproc (its user has that many processes already)" "$(fv_log)"
}

@test "rlimits after setuid: limit_nproc above what the worker's user has: it starts, with the limit set" {
    pick_user
    as_user_sleeping
    app_ini w:@W@/sleeper "user=$U" limit_nproc=100
    fv_start t.ini
    [ "$(state_of app/w)" = running ]
    local pid; pid=$(pid_of app/w)
    run -0 grep -E '^Max processes +100 +100 ' "/proc/$pid/limits"
    fv_stop
}
