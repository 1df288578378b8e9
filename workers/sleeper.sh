#!/bin/sh
# SPDX-License-Identifier: MIT
# Test worker, shell twin of sleeper: does nothing until SIGTERM (or another fatal signal).
# LABEL is ignored (it tells instances apart in ps). Usage: sleeper.sh [LABEL]
set -u

# shellcheck source=SCRIPTDIR/markers.sh
case $0 in */*) . "${0%/*}/markers.sh" ;; *) . ./markers.sh ;; esac
[ $# -le 1 ] || fv_usage "[LABEL]"
trap fv_on_term TERM
fv_mark_started
while :; do
    fv_sleep 1000
done
