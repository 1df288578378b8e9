#!/bin/sh
# SPDX-License-Identifier: MIT
# Example worker: prints every published message it receives as "TOPIC DATA" on standard
# output (the daemon's log with stdout = log). What it hears is set by `subscribe =` in its
# section, or by topics given as arguments. Usage: listener.sh [TOPIC...]
if [ -z "${FORKVISOR:-}" ]; then
    FORKVISOR=forkvisor
    command -v forkvisor >/dev/null 2>&1 || FORKVISOR="$(dirname "$0")/../build/forkvisor"
fi
forkvisor() { "$FORKVISOR" "$@"; }

[ $# -eq 0 ] || forkvisor subscribe "$@" || exit 1
forkvisor ready
while msg=$(forkvisor recv --shell); do
    eval "$msg"
    [ "$FV_KIND" = info ] && printf '%s %s\n' "$FV_TOPIC" "$FV_PAYLOAD"
done
