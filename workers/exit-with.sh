#!/bin/sh
# SPDX-License-Identifier: MIT
# Test worker, shell twin of exit-with: exits with CODE after MS milliseconds (default 0).
# Usage: exit-with.sh CODE [MS]
set -u

# shellcheck source=SCRIPTDIR/markers.sh
case $0 in */*) . "${0%/*}/markers.sh" ;; *) . ./markers.sh ;; esac
trap fv_on_term TERM

usage="CODE [MS]   (CODE 0..255; MS milliseconds, default 0)"
case $# in 1 | 2) ;; *) fv_usage "$usage" ;; esac
fv_arg "$1" 255 "$usage"
code=$fv_n
fv_arg "${2-0}" 999999999 "$usage"
ms=$fv_n

fv_mark_started
fv_sleep "$ms"
exit "$code"
