/* SPDX-License-Identifier: MIT */
/* Reload as a plan of steps over tree paths, taken one at a time as the tree allows:
 *
 *   1. SET      nodes whose section is unchanged (or a supervisor whose own keys changed) run
 *               from the new spec; no process is touched. All at once, first.
 *   2. REMOVE   children that are gone from the new configuration are stopped and forgotten,
 *               in reverse start order of the whole tree.
 *   3. in start order of the new tree, for each supervisor that stays: ARRANGE its children
 *      in the new order, new ones inserted (stopped) in their place; then for each child in
 *      order, ADD (start a new child and wait until it is up), REPLACE (restart a changed
 *      worker from its new section and wait until it is up), or recurse into a supervisor;
 *      a simple_one_for_one supervisor whose `instances` changed is SCALEd to it first (as
 *      `forkvisor scale` does: its other instances are left running).
 *
 * Each step waits while its supervisor is busy with a job of its own (a group restart, say),
 * so a reload never interleaves with a restart: it continues after the job, as an OTP
 * supervisor handles its mailbox one message at a time. Paths, not node pointers, are kept:
 * nodes may come and go between steps (dynamic children, removals).
 *
 * What counts as changed: a node's section hash (spec.h: every key = value as written, not
 * `children`). A supervisor's own keys (strategy, intensity, period, auto_shutdown, restart,
 * shutdown, significant, max_children; instances by a scale) are applied in place, without
 * restarting its children, as OTP's code_change of a supervisor would: stopping a subtree because its
 * intensity changed would be the opposite of what the operator meant. Only a change of shape
 * replaces a supervisor (stopped and removed, then a new one started in its place): another
 * kind, a strategy from or to simple_one_for_one, or another template. */
#include "reload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "macro.h"

typedef enum StepKind {
        STEP_SET,
        STEP_REMOVE,
        STEP_ARRANGE,
        STEP_ADD,
        STEP_REPLACE,
        STEP_SCALE,
} StepKind;

typedef struct Step {
        StepKind kind;
        char *path;         /* owned: the node; for ARRANGE the supervisor */
        const Spec *spec;   /* SET, REPLACE: the node's new spec; ARRANGE, SCALE: the supervisor's */
        bool begun;
        unsigned seq;       /* SCALE: which scale of the supervisor it is (tree_scale) */
        usec_t since;
} Step;

typedef struct StepList {
        Step *v;
        size_t n, cap;
} StepList;

struct Reload {
        Tree *tree;               /* borrowed */
        const Config *config;     /* borrowed */
        Step *steps;              /* owned: SET..., REMOVE... (reverse order), the rest */
        size_t n_steps, cur;
        ReloadCounts counts;
        char error[512];
};

/* ---- planning (no side effect) --------------------------------------------------------- */

typedef struct Plan {
        StepList set, remove, rest;
        ReloadCounts counts;
        bool oom;
} Plan;

static void steps_free(Step *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i].path);
        free(v);
}

static void plan_add(Plan *p, StepList *l, StepKind kind, const char *path, const Spec *spec) {
        if (p->oom)
                return;
        if (ARRAY_GROW(l->v, l->cap, l->n + 1) < 0) {
                p->oom = true;
                return;
        }
        char *copy = strdup(path);
        if (!copy) {
                p->oom = true;
                return;
        }
        l->v[l->n++] = (Step) { .kind = kind, .path = copy, .spec = spec };
}

static bool is_s1f1(const Spec *s) {
        return s->kind == SPEC_SUPERVISOR && s->strategy == STRATEGY_SIMPLE_ONE_FOR_ONE;
}

/* The same kind of node: what changes within it can be applied without replacing it. */
static bool same_shape(const Spec *a, const Spec *b) {
        if (a->kind != b->kind)
                return false;
        if (a->kind == SPEC_WORKER)
                return true;
        if (is_s1f1(a) != is_s1f1(b))
                return false;
        return !is_s1f1(a) || strcmp(a->template_->name, b->template_->name) == 0;
}

static unsigned count_nodes(const Node *n) {
        unsigned k = 1;
        for (size_t i = 0; i < n->n_children; i++)
                k += count_nodes(n->children[i]);
        return k;
}

static unsigned count_specs(const Spec *s) {
        if (s->kind == SPEC_WORKER)
                return 1;
        if (is_s1f1(s))
                return 1 + s->instances;
        unsigned k = 1;
        for (size_t i = 0; i < s->n_children; i++)
                k += count_specs(s->children[i]);
        return k;
}

static const Spec *find_spec_child(const Spec *s, const char *name) {
        for (size_t i = 0; i < s->n_children; i++)
                if (strcmp(s->children[i]->name, name) == 0)
                        return s->children[i];
        return NULL;
}

static Node *find_node_child(const Node *s, const char *name) {
        for (size_t i = 0; i < s->n_children; i++)
                if (strcmp(s->children[i]->name, name) == 0)
                        return s->children[i];
        return NULL;
}

/* n stays (same path, same shape) and runs from ns from now on. */
static void plan_node(Plan *p, const Node *n, const Spec *ns) {
        bool same = n->spec->hash == ns->hash;

        if (!node_is_supervisor(n)) {
                if (same) {
                        p->counts.unchanged++;
                        plan_add(p, &p->set, STEP_SET, n->path, ns);
                } else {
                        p->counts.changed++;
                        plan_add(p, &p->rest, STEP_REPLACE, n->path, ns);
                }
                return;
        }

        /* A supervisor: its own keys in place, its children one by one. */
        if (same)
                p->counts.unchanged++;
        else
                p->counts.changed++;
        plan_add(p, &p->set, STEP_SET, n->path, ns);

        if (is_s1f1(ns)) {
                /* A changed count first: the highest instances beyond it are stopped (not
                 * restarted from a changed template before), new ones start from the new
                 * template. tree_set_spec makes it the count of the supervisor's next start. */
                unsigned live = 0, keep = ns->instances;
                for (size_t i = 0; i < n->n_children; i++)
                        live += n->children[i]->intent != NODE_INTENT_REMOVE;
                if (n->spec->instances != ns->instances) {
                        p->counts.scaled++;
                        /* A supervisor that is down starts the new count when it starts. */
                        if (n->state != NODE_RUNNING)
                                keep = live;
                        else if (ns->instances > live)
                                p->counts.added += ns->instances - live;
                        else
                                p->counts.removed += live - ns->instances;
                        plan_add(p, &p->rest, STEP_SCALE, n->path, ns);
                } else
                        keep = live;
                /* Running dynamic children are compared with the new template: an unchanged
                 * template leaves them alone, a changed one restarts each from it (with its
                 * instance number and start-child arguments), so no process keeps running
                 * from a section that no longer exists. */
                for (size_t i = 0; i < n->n_children; i++) {
                        const Node *c = n->children[i];
                        if (c->intent != NODE_INTENT_REMOVE) {
                                if (keep == 0)
                                        break; /* the scale stops this one and those after it */
                                keep--;
                        }
                        if (c->spec->hash == ns->template_->hash) {
                                p->counts.unchanged++;
                                plan_add(p, &p->set, STEP_SET, c->path, ns->template_);
                        } else {
                                p->counts.changed++;
                                plan_add(p, &p->rest, STEP_REPLACE, c->path, ns->template_);
                        }
                }
                return;
        }

        for (size_t i = 0; i < n->n_children; i++) {
                const Node *c = n->children[i];
                const Spec *cs = find_spec_child(ns, c->name);
                if (!cs || !same_shape(c->spec, cs)) {
                        p->counts.removed += count_nodes(c);
                        plan_add(p, &p->remove, STEP_REMOVE, c->path, NULL);
                }
        }
        plan_add(p, &p->rest, STEP_ARRANGE, n->path, ns);
        for (size_t i = 0; i < ns->n_children && !p->oom; i++) {
                const Spec *cs = ns->children[i];
                const Node *c = find_node_child(n, cs->name);
                if (c && same_shape(c->spec, cs)) {
                        plan_node(p, c, cs);
                        continue;
                }
                char *path;
                if (asprintf(&path, "%s/%s", n->path, cs->name) < 0) {
                        p->oom = true;
                        return;
                }
                p->counts.added += count_specs(cs);
                plan_add(p, &p->rest, STEP_ADD, path, cs);
                free(path);
        }
}

int reload_new(Tree *t, const Config *config, Reload **ret, const char **ret_error) {
        const Node *root = t->root;
        Plan p = {};

        if (strcmp(root->name, config->root->name) != 0 || !same_shape(root->spec, config->root)) {
                *ret_error = strcmp(root->name, config->root->name) != 0
                                     ? "the root supervisor cannot be changed by a reload; restart forkvisor to apply it"
                                     : "the root supervisor cannot change to or from simple_one_for_one or its template "
                                       "by a reload; restart forkvisor to apply it";
                return -EINVAL;
        }
        plan_node(&p, root, config->root);

        Reload *r = p.oom ? NULL : calloc(1, sizeof *r);
        size_t n = p.set.n + p.remove.n + p.rest.n;
        Step *v = r ? calloc(n ? n : 1, sizeof *v) : NULL;
        if (!v) {
                free(r);
                steps_free(p.set.v, p.set.n);
                steps_free(p.remove.v, p.remove.n);
                steps_free(p.rest.v, p.rest.n);
                *ret_error = "out of memory";
                return -ENOMEM;
        }
        /* Removals in reverse: later children (and deeper ones) before earlier ones. */
        size_t k = 0;
        for (size_t i = 0; i < p.set.n; i++)
                v[k++] = p.set.v[i];
        for (size_t i = p.remove.n; i > 0; i--)
                v[k++] = p.remove.v[i - 1];
        for (size_t i = 0; i < p.rest.n; i++)
                v[k++] = p.rest.v[i];
        free(p.set.v);
        free(p.remove.v);
        free(p.rest.v);

        r->tree = t;
        r->config = config;
        r->steps = v;
        r->n_steps = n;
        r->counts = p.counts;
        *ret = r;
        return 0;
}

Reload *reload_free(Reload *r) {
        if (!r)
                return NULL;
        steps_free(r->steps, r->n_steps);
        return mfree(r);
}

/* ---- applying ------------------------------------------------------------------------- */

static void add_error(Reload *r, const char *fmt, ...) _printf_(2, 3);
static void add_error(Reload *r, const char *fmt, ...) {
        size_t l = strlen(r->error);
        if (l > 0 && l + 2 < sizeof r->error) {
                strcpy(r->error + l, "; ");
                l += 2;
        }
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->error + l, sizeof r->error - l, fmt, ap);
        va_end(ap);
}

static bool in_transition(const Node *n) {
        return n->state == NODE_STARTING || n->state == NODE_STOPPING;
}

/* 1: the step is done; 0: wait for the tree to move. */
static int step_take(Reload *r, Step *s) {
        Tree *t = r->tree;
        Node *n = tree_find(t, s->path);
        const char *error = NULL;
        int q;

        if (!n)
                return 1; /* gone meanwhile (a dynamic child that ended, say): nothing to do */

        switch (s->kind) {
        case STEP_SET:
                if (tree_set_spec(n, s->spec) < 0)
                        add_error(r, "'%s': out of memory", s->path);
                return 1;

        case STEP_REMOVE:
                if (!s->begun) {
                        q = tree_remove_node(t, n, &error);
                        if (q == -EBUSY)
                                return 0;
                        if (q < 0) {
                                add_error(r, "cannot remove '%s': %s", s->path, error);
                                return 1;
                        }
                        s->begun = true;
                        return tree_find(t, s->path) ? 0 : 1;
                }
                return 0; /* until it is gone */

        case STEP_ARRANGE:
                if (n->op != SUP_OP_NONE)
                        return 0;
                for (size_t i = 0; i < s->spec->n_children; i++) {
                        const Spec *cs = s->spec->children[i];
                        Node *c = find_node_child(n, cs->name);
                        if (c)
                                tree_move_child(n, c, i);
                        else if (tree_insert_child(t, n, i, cs, NULL) < 0)
                                add_error(r, "cannot add '%s/%s': out of memory", s->path, cs->name);
                }
                return 1;

        case STEP_ADD:
                if (!s->begun) {
                        if (n->parent->state != NODE_RUNNING)
                                return 1; /* it starts with its supervisor */
                        /* Held: the operator stopped it before (its hold outlived it). */
                        if (n->state == NODE_STOPPED && !node_is_held(n)) {
                                q = tree_start_node(t, n, &error);
                                if (q == -EBUSY && !t->shutting_down)
                                        return 0;
                                if (q < 0) {
                                        add_error(r, "'%s' failed to start: %s", s->path, error);
                                        return 1;
                                }
                        }
                        s->begun = true;
                }
                if (in_transition(n))
                        return 0;
                if (n->state == NODE_FAILED)
                        add_error(r, "'%s' failed to start: %s", s->path, n->reason);
                return 1;

        case STEP_SCALE:
                if (!s->begun) {
                        /* Starting, or busy with a job: scaled once running; down (or on its
                         * way down): it starts with the new count. */
                        if (n->state == NODE_STARTING || (n->state == NODE_RUNNING && n->op != SUP_OP_NONE))
                                return 0;
                        if (n->state != NODE_RUNNING)
                                return 1;
                        s->since = t->ops->now(t->ud);
                        q = tree_scale(t, n, s->spec->instances, NODE_REASON_RELOAD, &s->seq, &error);
                        if (q < 0) {
                                add_error(r, "cannot scale '%s' to %u: %s", s->path, s->spec->instances, error);
                                return 1;
                        }
                        s->begun = true;
                }
                char why[512];
                q = tree_scale_check(n, s->seq, s->spec->instances, s->since, why, sizeof why);
                if (q == 0)
                        return 0;
                if (q < 0 && q != -ESTALE) /* a later scale is the operator's: not an error */
                        add_error(r, "cannot scale '%s' to %u: %s", s->path, s->spec->instances, why);
                return 1;

        case STEP_REPLACE:
                if (!s->begun) {
                        if (n->spec == s->spec)
                                return 1;
                        q = tree_replace_node(t, n, s->spec, &error);
                        if (q == -EBUSY && !t->shutting_down)
                                return 0;
                        if (q < 0) {
                                add_error(r, "cannot restart '%s': %s", s->path, error);
                                return 1;
                        }
                        if (q > 0)
                                return 1;
                        s->begun = true;
                }
                if (n->next_spec || n->intent == NODE_INTENT_START || in_transition(n))
                        return 0;
                if (n->state == NODE_FAILED)
                        add_error(r, "'%s' failed to start: %s", s->path, n->reason);
                return 1;

        default:
                assert_not_reached();
                return 1;
        }
}

bool reload_continue(Reload *r) {
        while (r->cur < r->n_steps) {
                if (step_take(r, &r->steps[r->cur]) == 0)
                        return false;
                r->cur++;
        }
        return true;
}

const ReloadCounts *reload_counts(const Reload *r) {
        return &r->counts;
}

const char *reload_error(const Reload *r) {
        return r->error[0] ? r->error : NULL;
}

/* ---- the queue ------------------------------------------------------------------------------ */

/* One `forkvisor reload` or SIGHUP: the configuration it read, and who waits for its outcome. */
struct ReloadJob {
        ReloadJob *next;
        Config *config;            /* owned until applied */
        ReloadDone done;           /* NULL: nobody waits (SIGHUP, or the client went away) */
        void *done_ud;
};

struct ReloadQueue {
        const ReloadQueueOps *ops;
        void *ud;
        Tree *tree;                /* borrowed */
        Config *config;            /* owned: the running one */
        ReloadJob *job;            /* owned: being applied */
        Reload *reload;            /* owned: its plan */
        ReloadJob *queue;          /* owned: FIFO */
        Config **retired;          /* owned: superseded configs some node may still point into */
        size_t n_retired, cap_retired;
};

int reload_queue_new(Config *config, const ReloadQueueOps *ops, void *ud, ReloadQueue **ret) {
        ReloadQueue *q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->config = config;
        q->ops = ops;
        q->ud = ud;
        *ret = q;
        return 0;
}

static void job_answer(ReloadJob *j, int status, const char *message) {
        if (j->done)
                j->done(j->done_ud, status, message);
        config_free(j->config);
        free(j);
}

void reload_queue_cancel(ReloadQueue *q, const char *why) {
        q->reload = reload_free(q->reload);
        if (q->job)
                job_answer(TAKE_PTR(q->job), 1, why);
        while (q->queue) {
                ReloadJob *j = q->queue;
                q->queue = j->next;
                job_answer(j, 1, why);
        }
}

ReloadQueue *reload_queue_free(ReloadQueue *q) {
        if (!q)
                return NULL;
        reload_queue_cancel(q, "the daemon exited");
        for (size_t i = 0; i < q->n_retired; i++)
                config_free(q->retired[i]);
        free(q->retired);
        config_free(q->config);
        return mfree(q);
}

void reload_queue_set_tree(ReloadQueue *q, Tree *t) {
        q->tree = t;
}

const Config *reload_queue_config(const ReloadQueue *q) {
        return q->config;
}

bool reload_queue_busy(const ReloadQueue *q) {
        return q->reload || q->queue;
}

int reload_queue_push(ReloadQueue *q, Config *config, ReloadDone done, void *ud, ReloadJob **ret) {
        ReloadJob *j = calloc(1, sizeof *j);
        if (!j) {
                config_free(config);
                return -ENOMEM;
        }
        j->config = config;
        j->done = done;
        j->done_ud = ud;
        ReloadJob **tail = &q->queue;
        while (*tail)
                tail = &(*tail)->next;
        *tail = j;
        q->ops->kick(q->ud);
        if (ret)
                *ret = j;
        return 0;
}

void reload_job_forget(ReloadJob *j) {
        j->done = NULL;
        j->done_ud = NULL;
}

static int cmp_ptr(const void *a, const void *b) {
        uintptr_t x = (uintptr_t) *(const void *const *) a, y = (uintptr_t) *(const void *const *) b;
        return x < y ? -1 : x > y;
}

typedef struct InUse {
        const Spec **specs;        /* sorted */
        size_t n;
        bool found;
} InUse;

static void check_in_use(Node *n, unsigned depth, void *ud) {
        InUse *u = ud;
        const Spec *s[2] = { n->spec, n->next_spec };
        for (size_t i = 0; i < 2 && !u->found; i++)
                if (s[i] && bsearch(&s[i], u->specs, u->n, sizeof *u->specs, cmp_ptr))
                        u->found = true;
}

/* Does any node of the tree still borrow a spec of c? (Nodes being removed or replaced keep
 * their old section until they are down.) */
static bool config_in_use(const Tree *t, const Config *c) {
        InUse u = { .n = c->n_sections };
        u.specs = malloc((c->n_sections ? c->n_sections : 1) * sizeof *u.specs);
        if (!u.specs)
                return true; /* cannot tell: keep it */
        memcpy(u.specs, c->sections, c->n_sections * sizeof *u.specs);
        qsort(u.specs, u.n, sizeof *u.specs, cmp_ptr);
        tree_walk(t->root, check_in_use, &u);
        free(u.specs);
        return u.found;
}

/* Frees the superseded configurations no node points into any more; the others wait for a
 * later reload or the end of the node. */
static void free_retired(ReloadQueue *q) {
        size_t k = 0;
        for (size_t i = 0; i < q->n_retired; i++) {
                if (config_in_use(q->tree, q->retired[i]))
                        q->retired[k++] = q->retired[i];
                else
                        config_free(q->retired[i]);
        }
        q->n_retired = k;
}

/* Starts the next queued reload; false when none could start. */
static bool queue_begin(ReloadQueue *q) {
        ReloadJob *j = q->queue;
        const char *error = NULL;

        q->queue = j->next;
        j->next = NULL;
        if (q->tree->shutting_down) {
                job_answer(j, 1, "the daemon is shutting down");
                return false;
        }
        q->ops->begin(q->ud, q->config, j->config);
        Reload *r;
        if (reload_new(q->tree, j->config, &r, &error) < 0) {
                q->ops->refused(q->ud, error);
                job_answer(j, 1, error);
                return false;
        }
        if (ARRAY_GROW(q->retired, q->cap_retired, q->n_retired + 1) < 0) {
                reload_free(r);
                q->ops->refused(q->ud, "out of memory");
                job_answer(j, 1, "out of memory");
                return false;
        }
        q->retired[q->n_retired++] = q->config;
        q->config = TAKE_PTR(j->config);
        q->reload = r;
        q->job = j;
        return true;
}

void reload_queue_run(ReloadQueue *q) {
        for (;;) {
                if (!q->reload) {
                        if (!q->queue)
                                return;
                        if (!queue_begin(q))
                                continue;
                }
                const char *error;
                if (q->tree->shutting_down)
                        error = "the daemon began to shut down before the reload was applied";
                else if (!reload_continue(q->reload))
                        return; /* the next tree event brings us back */
                else
                        error = reload_error(q->reload);

                q->ops->finished(q->ud, reload_counts(q->reload), error);
                ReloadJob *j = TAKE_PTR(q->job);
                job_answer(j, error ? 1 : 0, error); /* error may point into the plan */
                q->reload = reload_free(q->reload);
                free_retired(q);
        }
}
