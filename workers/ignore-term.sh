#!/bin/sh
# SPDX-License-Identifier: MIT
# Test worker, shell twin of ignore-term: ignores SIGTERM, so only SIGKILL (or another signal)
# stops it. It ends by exec'ing sleep, which inherits the ignored SIGTERM: one process, whose
# pid is the one recorded. Usage: ignore-term.sh
set -u
if [ $# -ne 0 ]; then
    echo "usage: ${0##*/}   (no arguments)" >&2
    exit 2
fi

# Test markers, as in the C workers: with $FV_TEST_OUT set, append our pid to $FV_TEST_OUT/pids
# (a short echo is one O_APPEND write) and create $FV_TEST_OUT/<name>.started through a rename,
# <name> being $FORKVISOR_NAME, else this script's basename ('/' becomes '_').
fv_mark_started() {
    [ -n "${FV_TEST_OUT:-}" ] || return 0
    echo $$ >>"$FV_TEST_OUT/pids"
    name=${FORKVISOR_NAME:-${0##*/}}
    case $name in */*) name=$(printf '%s' "$name" | tr / _) ;; esac
    echo $$ >"$FV_TEST_OUT/$name.started.tmp.$$" &&
        mv -f "$FV_TEST_OUT/$name.started.tmp.$$" "$FV_TEST_OUT/$name.started"
}
trap '' TERM
fv_mark_started
exec sleep 2147483647
