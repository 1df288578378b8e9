#!/bin/sh
# SPDX-License-Identifier: MIT
# A pub/sub subscriber in shell: subscribes to each TOPIC given (besides its configured
# `subscribe =`), reports ready, then appends "TOPIC PAYLOAD" for every info message to
# $FV_TEST_OUT/<FORKVISOR_NAME>.msgs (and the sender's pid to <FORKVISOR_NAME>.from) until the
# mailbox is closed. A cast is run as a forkvisor command of the worker's ("subscribe TOPIC",
# "unsubscribe TOPIC", "publish TOPIC DATA"), its exit status appended to <FORKVISOR_NAME>.ran.
# Usage: subscriber.sh [TOPIC...]
if [ -z "${FORKVISOR:-}" ]; then
    FORKVISOR=forkvisor
    command -v forkvisor >/dev/null 2>&1 || FORKVISOR="$(dirname "$0")/../build/forkvisor"
fi
forkvisor() { "$FORKVISOR" "$@"; }
set -f

out="${FV_TEST_OUT:-.}/${FORKVISOR_NAME:-subscriber}.msgs"
[ $# -eq 0 ] || forkvisor subscribe "$@" || exit 1
forkvisor ready
while msg=$(forkvisor recv --shell); do
    eval "$msg"
    case "$FV_KIND $FV_PAYLOAD" in
    "info "*)
        printf '%s %s\n' "$FV_TOPIC" "$FV_PAYLOAD" >> "$out"
        echo "$FV_FROM" >> "${out%.msgs}.from" ;;
    "cast "*)
        # Its words are a forkvisor command run by this worker (no globbing: set -f).
        forkvisor $FV_PAYLOAD
        echo "$FV_PAYLOAD: $?" >> "${out%.msgs}.ran" ;;
    esac
done
