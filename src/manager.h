/* SPDX-License-Identifier: MIT */
/* The node: one sd-event loop that owns the tree, reaps every child, turns tree decisions into
 * processes, signals and timers, and serves the control and notify sockets. */
#pragma once

#include <stdbool.h>

#include "cluster.h"
#include "config.h"
#include "control.h"
#include "events.h"
#include "reload.h"
#include "router.h"
#include "tree.h"

typedef struct Manager Manager;

/* Observes every tree event after the manager has handled it (logs, state). */
typedef void (*ManagerObserver)(void *ud, Node *n, TreeEvent ev);

/* Takes ownership of config (the caller keeps it when this fails). control_path: where to
 * listen (already resolved); handler serves its requests with handler_ud. */
int manager_new(Config *config, const char *control_path, ControlHandler handler, void *handler_ud,
                Manager **ret);
Manager *manager_free(Manager *m);

/* Starts the tree and runs the loop; returns the exit status of `forkvisor run`. */
int manager_run(Manager *m);

void manager_set_observer(Manager *m, ManagerObserver fn, void *ud);
Tree *manager_tree(Manager *m);
sd_event *manager_event(Manager *m);
const Config *manager_config(Manager *m);
/* Orderly shutdown (as SIGTERM). */
void manager_shutdown(Manager *m);
bool manager_shutting_down(Manager *m);
Router *manager_router(Manager *m);
/* The control connections open now (metrics). */
unsigned manager_control_connections(Manager *m);
/* The lifecycle events: their sequence number, the last ones kept (events.h). */
Events *manager_events(Manager *m);
const RegistryView *manager_registry(Manager *m);
/* The node's cluster (cluster.h), or NULL without [cluster]. */
Cluster *manager_cluster(Manager *m);
/* Reload (SPEC 3.4). Reads the configuration file again now: -EINVAL with every problem in
 * *diag when it is invalid (nothing changes), -EBUSY while shutting down. Else 0: the new
 * configuration is queued (reload.c) and applied after any reload before it, and done (may be
 * NULL) is called once from the loop, never from inside this call: status 0 when applied, 1
 * with a message when something failed to start or the reload could not be applied. *ret (may
 * be NULL) is a handle for manager_reload_forget(), valid until done is called. */
typedef ReloadDone ManagerReloadDone;
int manager_reload(Manager *m, ManagerReloadDone done, void *ud, ReloadJob **ret, Diagnostics *diag,
                   const char **ret_error);
/* The waiter went away: done is not called for j. */
void manager_reload_forget(Manager *m, ReloadJob *j);
/* Reaps now the children that have exited (as a SIGCHLD would), before an answer names pids. */
void manager_reap_pending(Manager *m);
/* `stop` (held) or `start`/`restart` of n by the operator: its hold is kept on disk, or
 * forgotten, so that it outlives the daemon. 0 (also for an instance of simple_one_for_one,
 * whose holds last as long as the instance does), or -errno: the hold was not kept. */
int manager_keep_hold(Manager *m, const Node *n, bool held);
/* The mailbox of the node's running process, or NULL. */
Peer *manager_node_peer(const Node *n);
/* A worker's health (health.h): "starting", "healthy" or "unhealthy" with its failures in a row
 * and how the last check ended ("" before the first); NULL without `health` or before its
 * first start. */
const char *manager_node_health(const Node *n, unsigned *ret_failures, const char **ret_last);
/* What a child last said in sd_notify STATUS=, or NULL. */
const char *manager_node_status(const Node *n);
/* The command line the node runs (argv joined by spaces), or NULL before its first start. */
const char *manager_node_argv0(const Node *n);
/* The CPU time (user, system) of the node's running process in microseconds, since it started:
 * with everything else in its cgroup when it has one. -ESRCH without a process, else -errno. */
int manager_node_cpu_usec(const Node *n, uint64_t *ret_user, uint64_t *ret_system);
