# SPDX-License-Identifier: MIT
# The plan's "bad config files" case, for size: a big tree is checked in about linear time.
bats_require_minimum_version 1.5.0

setup() { load test_helper; }
teardown() { fv_teardown; }

# big_ini FILE SUPERVISORS WORKERS: a root over SUPERVISORS supervisors of WORKERS workers each,
# every list on continuation lines, and a last supervisor that lists one worker twice when
# DUP is set.
big_ini() {
    awk -v S="$2" -v W="$3" -v dup="${4:-}" 'BEGIN {
        printf "[supervisor:root]\nchildren = s0"
        for (i = 1; i < S; i++) printf ",\n  s%d", i
        printf "\n"
        for (i = 0; i < S; i++) {
            printf "[supervisor:s%d]\nchildren = w%d_0", i, i
            for (j = 1; j < W; j++) printf ",\n  w%d_%d", i, j
            if (dup != "" && i == S - 1) printf ",\n  w%d_0", i
            printf "\n"
            for (j = 0; j < W; j++) printf "[worker:w%d_%d]\nexec = /bin/true\n", i, j
        }
    }' > "$1"
}

@test "bad config files: 40,000 sections are checked (a flat tree and a nested one)" {
    # Quadratic section lookups took 14-20 s here; the limit only stops a hang.
    big_ini "$BATS_TEST_TMPDIR/nested.ini" 200 199
    run -0 timeout 20 "$FORKVISOR" check "$BATS_TEST_TMPDIR/nested.ini"
    assert_output --partial "ok (40001 sections, root 'root')"
    big_ini "$BATS_TEST_TMPDIR/flat.ini" 1 39998
    run -0 timeout 20 "$FORKVISOR" check "$BATS_TEST_TMPDIR/flat.ini"
    assert_output --partial "ok (40000 sections, root 'root')"
}

@test "bad config files: in 40,000 sections a child listed twice is still found" {
    big_ini "$BATS_TEST_TMPDIR/dup.ini" 200 199 dup
    run -2 timeout 20 "$FORKVISOR" check "$BATS_TEST_TMPDIR/dup.ini"
    assert_output --partial "'w199_0' is listed twice in children of [supervisor:s199]"
}
