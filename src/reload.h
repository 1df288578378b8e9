/* SPDX-License-Identifier: MIT */
/* Reload (SPEC 3.4): the difference between the running tree and a new configuration, and its
 * application one step at a time over the tree's operator primitives. Pure policy like tree.c:
 * no file is read and no process touched here (the manager parses, the tree acts). */
#pragma once

#include <stdbool.h>

#include "spec.h"
#include "tree.h"

typedef struct Reload Reload;

/* Counted in nodes of the tree (supervisors, workers and dynamic children); an added or removed
 * subtree counts every node in it, and so do the instances a scale starts or stops. scaled:
 * the simple_one_for_one supervisors whose `instances` changed. */
typedef struct ReloadCounts {
        unsigned unchanged, changed, added, removed, scaled;
} ReloadCounts;

/* Plans the move of t to config. What needs no process is done at once: every node whose
 * section is unchanged, and every supervisor whose own keys changed, runs from config's spec
 * from here on. Returns -EINVAL with *ret_error when config cannot be applied live (another
 * root); nothing was changed then. The caller keeps the old config alive until nothing
 * points into it. */
int reload_new(Tree *t, const Config *config, Reload **ret, const char **ret_error);
Reload *reload_free(Reload *r);

/* Takes every step the tree allows now: true when the whole reload has been applied. Call it
 * again after tree events (never from inside a TreeOps callback). */
bool reload_continue(Reload *r);

const ReloadCounts *reload_counts(const Reload *r);
/* The first step that failed ("'app/web' failed to start: ..."), or NULL. */
const char *reload_error(const Reload *r);

/* ---- the queue: one reload applied at a time, the others wait in order (SPEC 3.4) -------- */

/* Owns the running configuration, the ones waiting to be applied, and the superseded ones some
 * node may still point into. Pure like the plan: the node reads files and drives it from its
 * loop (ops->kick asks for reload_queue_run() to be called soon, never from inside a call). */
typedef struct ReloadQueue ReloadQueue;
typedef struct ReloadJob ReloadJob;
/* status 0 when applied; 1 with a message when something failed or it could not be applied. */
typedef void (*ReloadDone)(void *ud, int status, const char *message);

typedef struct ReloadQueueOps {
        /* Call reload_queue_run() from the loop, soon. */
        void (*kick)(void *ud);
        /* A queued reload begins to be applied (systemd's RELOADING=1), old → new. */
        void (*begin)(void *ud, const Config *old, const Config *new);
        /* It could not begin (error: why); nothing was changed. */
        void (*refused)(void *ud, const char *error);
        /* It was applied, with error when a step failed. */
        void (*finished)(void *ud, const ReloadCounts *c, const char *error);
} ReloadQueueOps;

/* Takes ownership of config, the running configuration. */
int reload_queue_new(Config *config, const ReloadQueueOps *ops, void *ud, ReloadQueue **ret);
/* Answers every reload not applied yet with 1 and why; frees nothing else. */
void reload_queue_cancel(ReloadQueue *q, const char *why);
/* Frees the configurations too: call it after the tree, whose nodes borrow from them. */
ReloadQueue *reload_queue_free(ReloadQueue *q);
/* The tree it applies to (made from reload_queue_config()). */
void reload_queue_set_tree(ReloadQueue *q, Tree *t);
const Config *reload_queue_config(const ReloadQueue *q);
/* Queues config (taken over) to be applied after any reload before it; done (may be NULL) is
 * called once, from reload_queue_run(). *ret (may be NULL) is a handle for reload_job_forget(),
 * valid until done is called. 0 or -ENOMEM (config is freed). */
int reload_queue_push(ReloadQueue *q, Config *config, ReloadDone done, void *ud, ReloadJob **ret);
/* The waiter went away: done is not called for j. */
void reload_job_forget(ReloadJob *j);
/* Takes every step it can now; after any tree event (the node calls ops->kick's way). */
void reload_queue_run(ReloadQueue *q);
/* A reload is being applied or waits. */
bool reload_queue_busy(const ReloadQueue *q);
