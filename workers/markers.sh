# SPDX-License-Identifier: MIT
# What the shell test workers share, as workers/markers.h is for the C ones: sourced (not run)
# from the directory of the script, with
#     case $0 in */*) . "${0%/*}/markers.sh" ;; *) . ./markers.sh ;; esac
# It only defines functions; the script sets its own traps.

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

# fv_usage TEXT: "usage: SCRIPT TEXT" on stderr, and exit 2.
fv_usage() {
    echo "usage: ${0##*/} $1" >&2
    exit 2
}

# fv_arg ARG MAX USAGE: fv_n = ARG as fv_number reads it, or fv_usage USAGE.
fv_arg() {
    fv_number "$1" "$2" || fv_usage "$3"
}

# fv_number ARG MAX: true if ARG is a decimal number no greater than MAX; sets fv_n to it
# without leading zeros (which shell arithmetic would read as octal).
fv_number() {
    case $1 in '' | *[!0-9]* | ??????????*) return 1 ;; esac
    fv_n=$1
    while case $fv_n in 0?*) true ;; *) false ;; esac; do fv_n=${fv_n#0}; done
    [ "$fv_n" -le "$2" ]
}

# fv_sleep MS: sleep in a background child, at most a second at a time, and `wait` for it: a
# trapped SIGTERM then runs at once instead of after the sleep, and a sleep left behind by a
# SIGKILL of this shell alone lives at most a second.
fv_child=
fv_sleep() {
    fv_left=$1
    while [ "$fv_left" -gt 0 ]; do
        fv_chunk=$((fv_left > 1000 ? 1000 : fv_left))
        fv_left=$((fv_left - fv_chunk))
        sleep "$((fv_chunk / 1000)).$(printf %03d $((fv_chunk % 1000)))" &
        fv_child=$!
        wait "$fv_child"
        fv_child=
    done
}

# For `trap fv_on_term TERM`: stop and reap the sleep, then die of SIGTERM like the C workers
# (default disposition), so the wait status is "killed by signal 15" whichever kind of worker
# it was.
# shellcheck disable=SC2317 # called from the trap
fv_on_term() {
    if [ -n "$fv_child" ]; then
        kill "$fv_child" 2>/dev/null
        wait "$fv_child" 2>/dev/null
    fi
    trap - TERM
    kill -TERM $$
}
