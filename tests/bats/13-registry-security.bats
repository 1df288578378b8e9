# SPDX-License-Identifier: MIT
# The registry cannot be changed from a child (SPEC 6.3, DESIGN 5, issue 4): workers/registry-
# attack tries every route — writes through fd 4, a writable shared mapping, mprotect, the
# kernel writing for it (/proc/self/mem, process_vm_writev), truncation, hole punching, more
# seals; all of it again on fd 4 reopened read-write through /proc/self/fd/4, and on the node's
# own read-write descriptor reopened through /proc/<node>/fd — and reports each one. Every one
# must be refused, and the registry must still name the right processes afterwards.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=20}" # a daemon that never answers fails the test, not the run

setup() { load test_helper; }
teardown() { fv_teardown; }

# The routes the worker must have tried, on each of the three descriptors (none, reopen_,
# node_fd_).
ROUTES=(write pwrite pwritev sendfile copy_file_range mmap_shared_write mprotect_write
    proc_self_mem_write process_vm_writev madvise_remove mmap_private_write_reaches_table
    ftruncate_grow ftruncate_shrink fallocate_punch_hole fallocate_grow add_seals)

attack_ini() {
    app_ini \
        attacker:@W@/registry-attack \
        svc:@W@/sleeper \
        p1:@W@/sleeper register=+pool \
        p2:@W@/sleeper register=+pool
}

# registry_pid NAME: the pid(s) `forkvisor registry` lists for NAME ("+key" for a duplicate
# key), sorted, space separated.
registry_pid() {
    fv registry | awk -v n="$1" '$1 == n { print $2 }' | sort -n | paste -sd ' '
}

# attack_refused FILE: every route of ROUTES was tried on each descriptor, and every line says
# refused.
attack_refused() {
    local f=$1 r p
    run -0 cat "$f"
    refute_output --partial WRITABLE
    [[ $(grep -cvE '^[a-z_]+=refused$' "$f") -eq 0 ]]
    for p in "" reopen_ node_fd_; do
        for r in "${ROUTES[@]}"; do
            grep -qx "$p$r=refused" "$f" || { echo "route $p$r missing from $f" >&2; return 1; }
        done
    done
}

@test "registry: every route a worker has to change the registry is refused" {
    attack_ini
    fv_start t.ini
    retry 100 0.05 file_has "$FV_TEST_OUT/attacker.attack"
    attack_refused "$FV_TEST_OUT/attacker.attack"
    [[ $(wc -l <"$FV_TEST_OUT/attacker.attack") -eq $((3 * ${#ROUTES[@]})) ]]
    run -0 grep -c 'registry-attack: .*: refused' "$(fv_log)"
    [[ $output -eq $((3 * ${#ROUTES[@]})) ]]

    # The registry still names the right processes, as the node and any child read it.
    local attacker svc p1 p2
    attacker=$(pid_of app/attacker) svc=$(pid_of app/svc) p1=$(pid_of app/p1) p2=$(pid_of app/p2)
    [[ $(state_of app/attacker) == running ]]
    [[ $(registry_pid attacker) == "$attacker" ]]
    [[ $(registry_pid svc) == "$svc" ]]
    [[ $(registry_pid +pool) == "$(printf '%s\n' "$p1" "$p2" | sort -n | paste -sd ' ')" ]]
    [[ $(fv registry | wc -l) -eq 5 ]] # a heading and 4 entries
    run -0 fv whereis svc
    assert_output "$svc"
    run -0 fv whereis +pool --all
    [[ $(printf '%s\n' "${lines[@]}" | sort -n | paste -sd ' ') == "$(registry_pid +pool)" ]]
    run -0 fv registry --json
    assert_output --partial "\"name\": \"attacker\", \"pid\": $attacker"
    fv_stop
    no_survivors
}

@test "registry: a worker's fd 4 is the sealed table, open read-only" {
    attack_ini
    fv_start t.ini
    retry 100 0.05 file_has "$FV_TEST_OUT/svc.started"
    local pid; pid=$(pid_of app/svc)
    run -0 readlink "/proc/$pid/fd/4"
    assert_output --partial "memfd:forkvisor-registry"
    # fdinfo's flags are octal: O_ACCMODE (3) clear = O_RDONLY.
    local flags; flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$pid/fdinfo/4")
    [[ $((8#$flags & 3)) -eq 0 ]]
    tr '\0' '\n' <"/proc/$pid/environ" | grep -qx FORKVISOR_REGISTRY=4
    retry 100 0.05 file_has "$FV_TEST_OUT/attacker.attack"
    run -0 grep -F "registry-attack: fd 4:" "$(fv_log)"
    assert_output --partial "open read-only, seals 0x17" # FUTURE_WRITE | GROW | SHRINK | SEAL
    fv_stop
    no_survivors
}

@test "registry: the attacker's successor is refused too, and the registry names it, not the old pid" {
    attack_ini
    fv_start t.ini
    retry 100 0.05 file_has "$FV_TEST_OUT/attacker.attack"
    local old; old=$(pid_of app/attacker)
    rm "$FV_TEST_OUT/attacker.attack"
    kill -KILL "$old"
    retry 100 0.05 pid_changed app/attacker "$old"
    retry 100 0.05 file_has "$FV_TEST_OUT/attacker.attack"
    attack_refused "$FV_TEST_OUT/attacker.attack"
    local new; new=$(pid_of app/attacker)
    [[ $(registry_pid attacker) == "$new" ]]
    run -0 fv registry
    refute_line --regexp "^attacker +$old "
    run -0 fv whereis attacker
    assert_output "$new"
    [[ $(registry_pid svc) == "$(pid_of app/svc)" ]]
    fv_stop
    no_survivors
}
