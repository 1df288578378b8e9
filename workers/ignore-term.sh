#!/bin/sh
# SPDX-License-Identifier: MIT
# Test worker, shell twin of ignore-term: ignores SIGTERM, so only SIGKILL (or another signal)
# stops it. It ends by exec'ing sleep, which inherits the ignored SIGTERM: one process, whose
# pid is the one recorded. Usage: ignore-term.sh
set -u

# shellcheck source=SCRIPTDIR/markers.sh
case $0 in */*) . "${0%/*}/markers.sh" ;; *) . ./markers.sh ;; esac
[ $# -eq 0 ] || fv_usage "  (no arguments)"
trap '' TERM
fv_mark_started
exec sleep 2147483647
