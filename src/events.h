/* SPDX-License-Identifier: MIT */
/* Lifecycle events on the bus (SPEC 6.4): the tree's transitions published by the node on
 * forkvisor:started, forkvisor:exited, forkvisor:restarting, forkvisor:gave_up and
 * forkvisor:reload, each a one-line JSON object. Every event is numbered ("seq": 1, 2, ...) and
 * the last ones are kept (event-log.h), whether anybody listens or not, for `events --since`. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "event-log.h"
#include "reload.h"
#include "router.h"
#include "tree.h"

/* The node's events: published on router (borrowed), numbered and kept. */
typedef struct Events Events;
int events_new(Router *router, Events **ret);
Events *events_free(Events *e);
/* The events kept, and their numbering: event_log_newest() is the current sequence number. */
const EventLog *events_log(const Events *e);

/* Numbers and keeps ev for n, if it is one of the published events, and publishes it if anyone
 * is subscribed. */
void events_publish_tree(Events *e, Node *n, TreeEvent ev);

/* A configuration reload was applied (reload.h counts what happened to the nodes). */
void events_publish_reload(Events *e, const char *root_path, const ReloadCounts *c);

/* The cluster (cluster.h): event is "cluster:connected", "cluster:disconnected", "node:up" or
 * "node:down", published on forkvisor:EVENT with "node" (this node for cluster:*, the other for
 * node:*) and, for cluster:*, "server" (its URL or null); "path" and "pid" are null. */
void events_publish_cluster(Events *e, const char *event, const char *node, const char *server);

/* The JSON payload of an event numbered seq, into buf (NUL-terminated, truncated to size). pid 0 is null;
 * code is a waitid() code (CLD_EXITED, CLD_KILLED, CLD_DUMPED) or 0 for no exit; reason, when not
 * NULL, says why (node_reason_to_string(): "crash", "operator", "oom", ...). Returns the
 * length, or -ENOBUFS when it did not fit. For the unit tests as well. */
int events_format(char *buf, size_t size, const char *event, uint64_t seq, const char *path, pid_t pid, int code,
                  int status, const char *reason, unsigned restarts, uint64_t realtime_usec);
