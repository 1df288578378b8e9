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
 * subtree counts every node in it. */
typedef struct ReloadCounts {
        unsigned unchanged, changed, added, removed;
} ReloadCounts;

/* Plans the move of t to config. What needs no process is done at once: every node whose
 * section is unchanged, and every supervisor whose own keys changed, runs from config's spec
 * from here on. Returns -EINVAL with *ret_error when config cannot be applied live (another
 * root); nothing was changed then. The caller keeps the old config alive until nothing
 * points into it, and sets t->config. */
int reload_new(Tree *t, const Config *config, Reload **ret, const char **ret_error);
Reload *reload_free(Reload *r);

/* Takes every step the tree allows now: true when the whole reload has been applied. Call it
 * again after tree events (never from inside a TreeOps callback). */
bool reload_continue(Reload *r);

const ReloadCounts *reload_counts(const Reload *r);
/* The first step that failed ("'app/web' failed to start: ..."), or NULL. */
const char *reload_error(const Reload *r);
