/* SPDX-License-Identifier: MIT */
/* The node's event priorities, in one place: which ready source sd-event dispatches first (a
 * lower number first). The order is the node's promise: supervision never waits behind traffic.
 *
 *   REAP      child exits (SIGCHLD) before anything else, so that every other handler of the
 *             same pass sees the tree as it is: a child that has exited is already reaped, not
 *             still running (a stop deadline firing at once finds nothing left to kill).
 *   SUPERVISE a node's timers (restart delay, stop deadline), readiness notifications (they gate
 *             the start of the next child) and SIGTERM/SIGINT: the tree's own work.
 *   CONTROL   control requests and SIGHUP (a reload is a control request by other means); also
 *             every source that sets no priority (sd-event's default).
 *   MAILBOX   workers' mailboxes and the router's flush of what they queued: a flood of messages
 *             never delays a restart or a control request. Each wake-up does bounded work.
 *   IDLE      children's output and the systemd status line: they wait, restarts do not.
 *
 * Leaf header: includes nothing of the project. */
#pragma once

#include <systemd/sd-event.h>

#define PRIORITY_REAP      (SD_EVENT_PRIORITY_IMPORTANT - 100)
#define PRIORITY_SUPERVISE SD_EVENT_PRIORITY_IMPORTANT
#define PRIORITY_CONTROL   SD_EVENT_PRIORITY_NORMAL
#define PRIORITY_MAILBOX   (SD_EVENT_PRIORITY_NORMAL + 50)
#define PRIORITY_IDLE      SD_EVENT_PRIORITY_IDLE
