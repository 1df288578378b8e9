# SPDX-License-Identifier: MIT
# The plan's supervision cases: restart intensity exceeded and respected.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() { fv_teardown; }

# restarted_at_least PATH N: PATH has been restarted N times or more.
restarted_at_least() { local r; r=$(fv info "$1" | sed -n 's/^restarts: //p'); [[ -n $r && $r -ge $2 ]]; }

@test "intensity exceeded: a crash loop ends with the root giving up, run exits 1" {
    app_ini intensity=2 period=5 k:@W@/sleeper "c:@W@/crash-after 20"
    fv_start_nowait t.ini
    fv_wait_exit
    [ "$FV_STATUS" -eq 1 ]
    run -0 grep -F "Supervisor 'app' gave up: reached restart intensity" "$(fv_log)"
    no_survivors
}

@test "intensity respected: crashes slower than intensity allows are restarted forever" {
    app_ini intensity=1 period=0.2 "c:@W@/crash-after 300"
    fv_start t.ini
    retry 200 0.05 restarted_at_least app/c 3
    daemon_running
    fv_stop
    no_survivors
}
