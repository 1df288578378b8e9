/* SPDX-License-Identifier: MIT */
/* Lifecycle events on the bus (SPEC 6.4): the tree's transitions published by the node on
 * forkvisor:started, forkvisor:exited, forkvisor:restarting, forkvisor:gave_up and
 * forkvisor:reload, each a one-line JSON object. Built only when somebody listens. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "reload.h"
#include "router.h"
#include "tree.h"

/* Publishes ev for n, if it is one of the published events and anyone is subscribed. */
void events_publish_tree(Router *r, Node *n, TreeEvent ev);

/* A configuration reload was applied (reload.h counts what happened to the nodes). */
void events_publish_reload(Router *r, const char *root_path, const ReloadCounts *c);

/* The JSON payload of an event, into buf (NUL-terminated, truncated to size). pid 0 is null;
 * code is a waitid() code (CLD_EXITED, CLD_KILLED, CLD_DUMPED) or 0 for no exit; reason, when not
 * NULL, says why (node_reason_to_string(): "crash", "operator", "oom", ...). Returns the
 * length, or -ENOBUFS when it did not fit. For the unit tests as well. */
int events_format(char *buf, size_t size, const char *event, const char *path, pid_t pid, int code, int status,
                  const char *reason, unsigned restarts, uint64_t realtime_usec);
