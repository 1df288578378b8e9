# SPDX-License-Identifier: MIT
# auto_shutdown and significant children (SPEC 4.5): at the root run exits 0 by itself; a nested
# supervisor shuts down normally, which its parent treats as a normal exit.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=20}" # a daemon that never answers fails the test, not the run

setup() { load test_helper; }
teardown() { fv_teardown; }

# nested_ini APP_SETTINGS INNER_SETTINGS: t.ini with app (APP_SETTINGS) over a sleeper s and a
# supervisor inner (INNER_SETTINGS, auto_shutdown = any_significant) over a sleeper w and a
# transient significant job that exits 0 after 300 ms. SETTINGS are KEY=VALUE words separated by
# spaces (as app_ini takes them), "" for none.
nested_ini() {
    local -a app inner
    read -ra app <<<"$1"
    read -ra inner <<<"$2"
    app_ini "${app[@]}" \
        s:@W@/sleeper \
        inner:{ "${inner[@]}" auto_shutdown=any_significant \
            w:@W@/sleeper \
            "job:@W@/exit-with 0 300" restart=transient significant=yes \
        }
}

# ends_by_itself: start t.ini and check that run exits 0 by itself, having restarted nothing.
ends_by_itself() {
    fv_start t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    run -1 grep -F "Restarting" "$(fv_log)"
    no_survivors
}

@test "any_significant at the root: a significant job exiting 0 ends run with exit 0" {
    app_ini auto_shutdown=any_significant \
        s1:@W@/sleeper \
        "job:@W@/exit-with 0 300" restart=transient significant=yes \
        s2:@W@/sleeper
    fv_start t.ini
    local s1 s2; s1=$(pid_of app/s1) s2=$(pid_of app/s2)
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    no_survivors
    run -0 grep -F "'app/job' (pid" "$(fv_log)"
    assert_output --partial "exited with status 0"
    run -1 grep -F "Restarting" "$(fv_log)"
    run -1 grep -F "gave up" "$(fv_log)"
    # The others were stopped by the supervisor, in reverse start order.
    local l1 l2
    l1=$(grep -nF "'app/s1' (pid $s1) killed by signal TERM" "$(fv_log)" | cut -d: -f1)
    l2=$(grep -nF "'app/s2' (pid $s2) killed by signal TERM" "$(fv_log)" | cut -d: -f1)
    ascending "$l2" "$l1"
}

@test "any_significant at the root: a temporary significant child that crashes also ends run with 0" {
    app_ini auto_shutdown=any_significant \
        s:@W@/sleeper \
        "job:@W@/crash-after 300" temporary significant=yes
    ends_by_itself
}

@test "any_significant: a transient significant child that crashes is restarted, no shutdown" {
    app_ini intensity=10 auto_shutdown=any_significant \
        s:@W@/sleeper \
        "job:@W@/exit-with 3 300" restart=transient significant=yes
    fv_start t.ini
    local old; old=$(pid_of app/job)
    retry 100 0.05 pid_changed app/job "$old"
    daemon_running
    [ "$(state_of app)" = running ]
    fv_stop
    no_survivors
}

@test "all_significant waits for every significant child" {
    app_ini auto_shutdown=all_significant \
        s:@W@/sleeper \
        "j1:@W@/exit-with 0 200" restart=transient significant=yes \
        "j2:@W@/exit-with 0 1500" restart=transient significant=yes
    fv_start t.ini
    run -0 fv wait app/j1 --state stopped --timeout 5000
    # j1 is done but j2 still runs: the tree stays up.
    run -0 fv status
    assert_line --regexp '^app/j2 +worker +running '
    assert_line --regexp '^app/s +worker +running '
    daemon_running
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    run -0 grep -F "'app/j2' (pid" "$(fv_log)"
    assert_output --partial "exited with status 0"
    no_survivors
}

@test "nested: a transient supervisor that auto-shuts down is a normal exit, not restarted" {
    nested_ini "" restart=transient
    fv_start t.ini
    local s w; s=$(pid_of app/s) w=$(pid_of app/inner/w)
    run -0 fv wait app/inner --state stopped --timeout 5000
    run -0 fv info app/inner
    assert_line "state: stopped"
    assert_line "restarts: 0"
    retry 100 0.05 pid_dead "$w"
    run -0 grep -F "'app/inner/w' (pid $w) killed by signal TERM" "$(fv_log)"
    run -1 grep -F "Restarting" "$(fv_log)"
    run -1 grep -F "gave up" "$(fv_log)"
    # The parent carries on.
    daemon_running
    [ "$(pid_of app/s)" = "$s" ]
    [ "$(state_of app)" = running ]
    fv_stop
    no_survivors
}

@test "nested: a permanent supervisor that auto-shuts down is restarted" {
    nested_ini intensity=10 ""
    fv_start t.ini
    local s w; s=$(pid_of app/s) w=$(pid_of app/inner/w)
    retry 100 0.05 pid_changed app/inner/w "$w"
    run -0 grep -F "Restarting 'app/inner' (restart 1)" "$(fv_log)"
    run -1 grep -F "gave up" "$(fv_log)"
    [ "$(pid_of app/s)" = "$s" ]
    fv_stop
    no_survivors
}

@test "nested: a significant supervisor that auto-shuts down shuts its parent down too" {
    nested_ini auto_shutdown=any_significant "restart=transient significant=yes"
    ends_by_itself
}
