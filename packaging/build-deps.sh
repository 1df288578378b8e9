#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what building and testing forkvisor needs, from Debian's packages, when it is
# missing: as root with apt-get it installs; otherwise it prints the exact command.
set -u
# debhelper, dpkg-dev, fakeroot, lintian and systemd (systemd-analyze) are for
# tests/bats/18-install.bats: the Debian packages (make deb) and the unit's check; redis-server
# is what `make bench` compares pub/sub with; valgrind, fiu-utils and libfiu-dev are for
# tests/reliability (memcheck of the daemon, fault injection), and so are python3 (raw control
# clients), strace and iproute2 (ss); libnats-dev links the cluster client (src/cluster.c) and
# nats-server runs the NATS servers of tests/cluster.
pkgs="build-essential pkg-config libsystemd-dev libinih-dev libnats-dev nats-server bats bats-assert bats-support bats-file mandoc clang tmux util-linux procps debhelper dpkg-dev fakeroot lintian systemd redis-server valgrind fiu-utils libfiu-dev python3 strace iproute2"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || {
        echo "apt-get failed; run: apt-get install -y$missing" >&2; exit 1; }
else
    echo "Missing build dependencies. Run as root:" >&2
    echo "  apt-get install -y$missing" >&2
    exit 1
fi
