#!/bin/sh
# SPDX-License-Identifier: MIT
# Test worker, shell twin of crash-after: runs MS milliseconds, then exits with CODE (default 1).
# Usage: crash-after.sh MS [CODE]
set -u

# shellcheck source=SCRIPTDIR/markers.sh
case $0 in */*) . "${0%/*}/markers.sh" ;; *) . ./markers.sh ;; esac
trap fv_on_term TERM

usage="MS [CODE]   (MS milliseconds; CODE 0..255, default 1)"
case $# in 1 | 2) ;; *) fv_usage "$usage" ;; esac
fv_arg "$1" 999999999 "$usage"
ms=$fv_n
fv_arg "${2-1}" 255 "$usage"
code=$fv_n

fv_mark_started
fv_sleep "$ms"
exit "$code"
