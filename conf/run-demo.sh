#!/bin/sh
# SPDX-License-Identifier: MIT
# run-demo.sh [BUILD]: what `make demo` runs. Prints how to watch the tree from another
# terminal, then runs conf/demo.ini in the foreground with a control socket of its own until
# Ctrl-C (or `forkvisor shutdown`), which stops the tree in order; the daemon then exits 0.
# BUILD is the build directory (default: build), relative to the current directory.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
fv=$build/forkvisor

if [ ! -x "$fv" ]; then
    echo "run-demo.sh: $fv not found; build it first with: make" >&2
    exit 2
fi
# conf/demo.ini runs the test workers from build/workers and workers/ (paths relative to it), and
# its pinger runs build/forkvisor.
for w in build/workers/sleeper build/workers/crash-after build/workers/notify-after build/workers/counter \
    build/forkvisor workers/sleeper.sh; do
    if [ ! -x "$root/$w" ]; then
        echo "run-demo.sh: conf/demo.ini needs $root/$w; build it first with: make" >&2
        exit 2
    fi
done

# How to name the build directory in the banner: relative to the project root when inside it.
abs_build=$(cd "$build" && pwd)
case $abs_build in
    "$root"/*) show=${abs_build#"$root"/}/forkvisor ;;
    *) show=$abs_build/forkvisor ;;
esac

dir=${XDG_RUNTIME_DIR:-/tmp}
[ -d "$dir" ] && [ -w "$dir" ] || dir=/tmp
sock=$dir/forkvisor-demo-$(id -u).sock

if "$fv" --control "$sock" tree >/dev/null 2>&1; then
    echo "A demo is already running with the control socket $sock." >&2
    echo "Watch it with:  $show --control $sock tree" >&2
    echo "Stop it with:   $show --control $sock shutdown" >&2
    exit 1
fi

config=$root/conf/demo.ini
[ "$(pwd)" = "$root" ] && config=conf/demo.ini
# The daemon logs to the journal when journald is reachable (log = auto). A demo is watched in
# this terminal, so then run demo.ini through a one-line wrapper that sets log = stderr.
tmp=
if [ -S /run/systemd/journal/socket ]; then
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/forkvisor-demo.XXXXXX") || exit 1
    trap 'rm -rf "$tmp"' EXIT
    printf '[forkvisor]\nlog = stderr\ninclude = %s\n' "$root/conf/demo.ini" > "$tmp/demo.ini"
    config=$tmp/demo.ini
fi

cat <<EOF
== forkvisor demo: conf/demo.ini, control socket $sock

Watch the tree from another terminal:
    cd $root
    $show --control $sock tree

Things to try there (after: export FORKVISOR_CONTROL=$sock):
    $show status
    kill \$($show whereis cache)     # cache and api restart, db keeps its pid
    $show start-child demo/pool     # one more job in the pool
    $show info demo/notifier
    $show shutdown                  # or Ctrl-C here

Ctrl-C here stops the tree in reverse start order. The log follows.

EOF

# The daemon stays in the foreground. Ctrl-C reaches it (its children are in sessions of their
# own, so only the daemon sees it) and this shell, which must outlive it to clean up: the trap
# makes the shell wait for the daemon instead of dying at once.
trap ':' INT TERM
"$fv" run "$config" --control "$sock"
status=$?
echo "forkvisor exited with status $status"
exit "$status"
