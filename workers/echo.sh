#!/bin/sh
# SPDX-License-Identifier: MIT
# The shell worker of forkvisor(1) and SPEC 1, verbatim: ready, then answer every call with
# "echo: <payload>" until the mailbox is closed. Runs $FORKVISOR if set, else `forkvisor` from
# PATH, else the one built next to this script (../build/forkvisor). Usage: echo.sh
if [ -z "${FORKVISOR:-}" ]; then
    FORKVISOR=forkvisor
    command -v forkvisor >/dev/null 2>&1 || FORKVISOR="$(dirname "$0")/../build/forkvisor"
fi
forkvisor() { "$FORKVISOR" "$@"; }

forkvisor ready
while msg=$(forkvisor recv --shell); do
    eval "$msg"
    [ "$FV_KIND" = call ] && forkvisor reply "$FV_REF" "echo: $FV_PAYLOAD"
done
