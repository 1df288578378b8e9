# SPDX-License-Identifier: MIT
# Installing: `make install` (every file where it belongs, the installed programs and library
# working, the configuration kept, `make uninstall`), the systemd unit (systemd-analyze verify)
# and the Debian packages (contents, a tree run from them, lintian). These test the packaging,
# not the code: the sanitizer pass of `make check` skips them.
bats_require_minimum_version 1.5.0

setup() {
    load test_helper
    [[ $FORKVISOR_BUILD != *build-san ]] ||
        skip "packaging is tested once, in the plain build, not again under the sanitizers"
    REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    VERSION=$(sed -n 's/^VERSION *:= *//p' "$REPO/Makefile")
}
# make install rewrites the build's forkvisor.pc and forkvisor.service for the PREFIX it was
# given: put the default paths back.
teardown() {
    fv_teardown
    [[ -z ${REPO:-} ]] || mk "$FORKVISOR_BUILD/forkvisor.pc" "$FORKVISOR_BUILD/forkvisor.service" >/dev/null
}

# mk ARGS...: make in the source tree, on the build being tested (nothing is rebuilt when it is
# current). A make running `make check` must not hand its jobserver or variables down to it.
mk() {
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$REPO" --no-print-directory \
        BUILD="$FORKVISOR_BUILD" "$@"
}

# run_installed_tree FORKVISOR INCLUDEDIR LIBDIR: compile workers/echo.c against the installed
# libforkvisor (through the installed forkvisor.pc, shared), then run a tree of it and a sleeper
# with the installed FORKVISOR: start, wait, call, shutdown with exit 0, nothing left running.
run_installed_tree() {
    local root=$1 pcdir=$2 libdir=$3
    FORKVISOR=$root/usr/bin/forkvisor
    run -0 "$FORKVISOR" --version
    assert_output "forkvisor $VERSION"

    local flags
    # The ALLOW_SYSTEM variables keep -I/usr/include and -L/usr/lib, which pkgconf would drop as
    # the system's own directories before putting the sysroot in front.
    flags=$(PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 \
        PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 pkg-config --cflags --libs forkvisor)
    [[ $flags == *"-I$root/usr/include"* && $flags == *"-L$libdir"* ]] || {
        echo "pkg-config flags: $flags" >&2; return 1; }
    # shellcheck disable=SC2086
    run -0 cc -std=gnu17 -D_GNU_SOURCE -I"$REPO/workers" -o "$BATS_TEST_TMPDIR/echo" \
        "$REPO/workers/echo.c" $flags
    run -0 readelf -d "$BATS_TEST_TMPDIR/echo"
    assert_output --partial '[libforkvisor.so.0]'

    app_ini echo:echo mailbox "environment=LD_LIBRARY_PATH=$libdir" idle:@W@/sleeper
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    run -0 fv call echo "from an installed tree"
    assert_output "echo: from an installed tree"
    run -0 fv shutdown
    fv_wait_exit
    [ "$FV_STATUS" -eq 0 ]
    no_survivors
}

# loads_library DIR: a bats test with BATS_LIB_PATH=DIR finds the forkvisor library there.
loads_library() {
    # Written by printf: bats would take an @test line of a here-document in this file for one
    # of its own tests.
    printf '%s\n' 'setup() { bats_load_library forkvisor; }' '@''test "loaded" {' \
        '    declare -F forkvisor_start assert_forkvisor_event forkvisor_teardown' '}' >"$BATS_TEST_TMPDIR/lib.bats"
    # The bats command (not the one in PATH here, bats' internal libexec), in a clean
    # environment: the bats running this test exports its own state (filters, paths).
    run -0 env -i PATH="$PATH" HOME="$HOME" BATS_LIB_PATH="$1" "$BATS_ROOT/bin/bats" "$BATS_TEST_TMPDIR/lib.bats"
    assert_line "ok 1 loaded"
}

@test "make install puts every file in place, with PREFIX in the paths" {
    local root=$BATS_TEST_TMPDIR/root
    run -0 mk install DESTDIR="$root" PREFIX=/usr

    assert_file_executable "$root/usr/bin/forkvisor"
    assert_file_exists "$root/usr/lib/libforkvisor.so.0"
    run -0 readelf -d "$root/usr/lib/libforkvisor.so.0"
    assert_output --partial 'Library soname: [libforkvisor.so.0]'
    [ "$(readlink "$root/usr/lib/libforkvisor.so")" = libforkvisor.so.0 ]
    assert_file_exists "$root/usr/lib/libforkvisor.a"
    cmp "$REPO/lib/forkvisor.h" "$root/usr/include/forkvisor.h"
    run -0 cat "$root/usr/lib/pkgconfig/forkvisor.pc"
    assert_line 'prefix=/usr'
    assert_line 'libdir=/usr/lib'
    assert_line 'includedir=/usr/include'
    assert_line "Version: $VERSION"

    local m n=0
    for m in "$REPO"/man/*.[1-8]; do
        cmp "$m" "$root/usr/share/man/man${m##*.}/${m##*/}"
        n=$((n + 1))
    done
    [ "$n" -eq 6 ]

    # The bats library, where bats_load_library finds it.
    cmp "$REPO/lib/bats/forkvisor/load.bash" "$root/usr/lib/bats/forkvisor/load.bash"
    loads_library "$root/usr/lib/bats"

    # For PREFIX=/usr the unit goes where Debian's systemd looks for packaged units.
    local unit=$root/lib/systemd/system/forkvisor.service
    run -0 cat "$unit"
    assert_line 'ExecStart=/usr/bin/forkvisor run /etc/forkvisor/forkvisor.ini'
    refute_output --partial '@'
    cmp "$REPO/conf/forkvisor.ini.example" "$root/etc/forkvisor/forkvisor.ini"
    run -0 "$root/usr/bin/forkvisor" check "$root/etc/forkvisor/forkvisor.ini"

    # The default PREFIX puts the unit into /usr/local's own unit directory.
    run -0 mk install DESTDIR="$BATS_TEST_TMPDIR/local"
    assert_file_exists "$BATS_TEST_TMPDIR/local/usr/local/lib/systemd/system/forkvisor.service"
    assert_file_exists "$BATS_TEST_TMPDIR/local/usr/local/bin/forkvisor"
    assert_file_exists "$BATS_TEST_TMPDIR/local/etc/forkvisor/forkvisor.ini"
}

@test "the installed forkvisor and libforkvisor run a tree" {
    local root=$BATS_TEST_TMPDIR/root
    run -0 mk install DESTDIR="$root" PREFIX=/usr
    run_installed_tree "$root" "$root/usr/lib/pkgconfig" "$root/usr/lib"
}

@test "a second install keeps an edited configuration, and uninstall leaves only it" {
    local root=$BATS_TEST_TMPDIR/root cfg=$BATS_TEST_TMPDIR/root/etc/forkvisor/forkvisor.ini
    run -0 mk install DESTDIR="$root" PREFIX=/usr
    echo '; edited by the administrator' >> "$cfg"
    cp "$cfg" "$BATS_TEST_TMPDIR/edited.ini"
    run -0 mk install DESTDIR="$root" PREFIX=/usr
    cmp "$BATS_TEST_TMPDIR/edited.ini" "$cfg"

    run -0 mk uninstall DESTDIR="$root" PREFIX=/usr
    run -0 find "$root" ! -type d
    assert_output "$cfg"
}

@test "the systemd unit passes systemd-analyze verify" {
    command -v systemd-analyze >/dev/null ||
        skip "systemd-analyze is missing (it comes with the systemd package)"
    # Installed under a private PREFIX, so that ExecStart names a program that exists (verify
    # checks it) and Documentation= finds the installed pages through MANPATH (verify runs man).
    local p=$BATS_TEST_TMPDIR/p
    run -0 mk install PREFIX="$p/usr" SYSCONFDIR="$p/etc"
    local unit=$p/usr/lib/systemd/system/forkvisor.service
    run -0 cat "$unit"
    assert_line "ExecStart=$p/usr/bin/forkvisor run $p/etc/forkvisor/forkvisor.ini"
    local line
    for line in Type=notify NotifyAccess=main KillMode=mixed Restart=on-failure \
                'ExecReload=/bin/kill -HUP $MAINPID' RuntimeDirectory=forkvisor; do
        assert_line "$line"
    done
    assert_line --regexp '^WatchdogSec=[1-9]'
    # verify exits 0 even for an unknown key or a bad value: it must print nothing at all.
    run -0 env MANPATH="$p/usr/share/man" systemd-analyze verify "$unit"
    assert_output ''
}

@test "the Debian packages build, hold the right files, run, and pass lintian" {
    [[ -z ${FORKVISOR_PACKAGE_BUILD:-} ]] || skip "a package build does not build packages inside itself"
    local tool
    for tool in dpkg-buildpackage dh lintian; do
        command -v $tool >/dev/null ||
            skip "$tool is missing (apt-get install -y dpkg-dev debhelper lintian)"
    done
    # nocheck: the package's own `make check` would run this very file again and double the time
    # of `make check`; `make deb` without nocheck runs it.
    local deb=$BATS_TEST_TMPDIR/deb
    DEB_BUILD_OPTIONS=nocheck DEB_BUILD_PROFILES=nocheck TMPDIR=$BATS_TEST_TMPDIR \
        run -0 mk deb DEBDIR="$deb"
    local arch
    arch=$(dpkg --print-architecture)
    local fv=$deb/forkvisor_${VERSION}_$arch.deb lib=$deb/libforkvisor0_${VERSION}_$arch.deb
    local dev=$deb/libforkvisor-dev_${VERSION}_$arch.deb
    assert_file_exists "$deb/forkvisor_${VERSION}_$arch.changes"

    run -0 dpkg-deb -c "$fv"
    local f
    for f in ./usr/bin/forkvisor ./lib/systemd/system/forkvisor.service \
             ./etc/forkvisor/forkvisor.ini ./usr/share/man/man1/forkvisor.1.gz \
             ./usr/share/man/man5/forkvisor.ini.5.gz ./usr/share/doc/forkvisor/copyright \
             ./usr/lib/bats/forkvisor/load.bash ./usr/share/man/man7/forkvisor-bats.7.gz \
             ./usr/share/man/man7/forkvisor-cluster.7.gz; do
        assert_line --regexp " ${f//./\\.}\$"
    done
    refute_output --partial libforkvisor
    run -0 dpkg-deb -I "$fv" conffiles
    assert_output /etc/forkvisor/forkvisor.ini
    run -0 dpkg-deb -c "$lib"
    assert_line --regexp ' \./usr/lib/[^/]+/libforkvisor\.so\.0$'
    run -0 dpkg-deb -c "$dev"
    for f in './usr/include/forkvisor\.h' './usr/lib/[^/]+/libforkvisor\.a' \
             './usr/lib/[^/]+/pkgconfig/forkvisor\.pc' './usr/lib/[^/]+/libforkvisor\.so -> libforkvisor\.so\.0' \
             './usr/share/man/man3/forkvisor\.3\.gz' './usr/share/man/man7/forkvisor-protocol\.7\.gz'; do
        assert_line --regexp " $f\$"
    done

    # Unpacked into a throwaway root, as dpkg would install them (maintainer scripts aside).
    local root=$BATS_TEST_TMPDIR/root
    for f in "$fv" "$lib" "$dev"; do run -0 dpkg -x "$f" "$root"; done
    run -0 cat "$root/lib/systemd/system/forkvisor.service"
    assert_line 'ExecStart=/usr/bin/forkvisor run /etc/forkvisor/forkvisor.ini'
    loads_library "$root/usr/lib/bats"
    local libdir
    libdir=$(dirname "$root"/usr/lib/*/libforkvisor.so.0)
    run_installed_tree "$root" "$libdir/pkgconfig" "$libdir"

    # lintian exits non-zero on an error; its output (warnings too) is shown on failure only.
    run lintian --fail-on error "$deb/forkvisor_${VERSION}_$arch.changes"
    refute_line --regexp '^E: '
    assert_success
}
