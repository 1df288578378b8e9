/* SPDX-License-Identifier: MIT */
/* The daemon's side of the operator subcommands: a fixed table of commands (never a lookup of
 * arbitrary names), each checking its argument count, and the waiters that answer `wait`,
 * `start`, `stop`, `restart`, `start-child` and `scale` once the tree has reached what was asked. */
#include "commands.h"
#include "commands-bus.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-view.h"
#include "events.h"
#include "exitdesc.h"
#include "inspect.h"
#include "json.h"
#include "list.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "registry.h"
#include "signame.h"
#include "time-util.h"

typedef enum WaitGoal {
        GOAL_STATE,    /* `wait`: the node is in `state` */
        GOAL_UP,       /* start/restart/start-child: running since `since` */
        GOAL_DOWN,     /* stop: stopped or failed */
        GOAL_GONE,     /* terminate-child: the node no longer exists */
} WaitGoal;

typedef struct Waiter Waiter;
struct Waiter {
        LIST_FIELDS(Waiter, waiters);
        Commands *commands;        /* borrowed */
        ControlRequest *req;       /* borrowed; answered exactly once */
        char *path;                /* looked up again each time: nodes may go away */
        WaitGoal goal;
        NodeState state;
        unsigned min_restarts;     /* GOAL_STATE: and at least these restarts */
        pid_t pid_not;             /* GOAL_STATE: and a process other than this one (0: any) */
        usec_t since;
        bool print_path;
        int status;                /* the exit status once the goal is met: 1 when the hold
                                    * could not be kept (keep_hold) */
        sd_event_source *timeout;
};

/* A `forkvisor reload` waiting for its reload to be applied. */
typedef struct ReloadWaiter ReloadWaiter;
struct ReloadWaiter {
        LIST_FIELDS(ReloadWaiter, reloads);
        Commands *commands;        /* borrowed */
        ControlRequest *req;       /* borrowed; answered exactly once */
        ReloadJob *job;            /* borrowed from the manager until it answers */
};

/* A `forkvisor scale` waiting for its supervisor to run its count. */
typedef struct ScaleWaiter ScaleWaiter;
struct ScaleWaiter {
        LIST_FIELDS(ScaleWaiter, scales);
        Commands *commands;        /* borrowed */
        ControlRequest *req;       /* borrowed; answered exactly once */
        char *path;                /* the supervisor, looked up again each time */
        unsigned n, seq;           /* the count asked, and which scale of the supervisor it is */
        usec_t since;
};

struct Commands {
        Manager *manager;          /* borrowed */
        Waiter *waiters;           /* owned */
        ReloadWaiter *reloads;     /* owned */
        ScaleWaiter *scales;       /* owned */
        unsigned long n_dropped;   /* requests not carried out: expired, or their client gone */
        Metrics *metrics;          /* owned; NULL when it could not be made */
};

/* ---- waiters ---------------------------------------------------------------------------- */

static void waiter_free(Waiter *w) {
        Commands *c = w->commands;
        LIST_REMOVE(waiters, c->waiters, w);
        sd_event_source_disable_unref(w->timeout);
        free(w->path);
        free(w);
}

static void waiter_finish(Waiter *w, int status) {
        ControlRequest *req = w->req;
        control_request_set_abandon(req, NULL, NULL);
        waiter_free(w);
        control_reply_finish(req, status);
}

static void on_waiter_abandoned(ControlRequest *req, void *ud) {
        waiter_free(ud);
}

static int on_waiter_timeout(sd_event_source *s, uint64_t usec, void *ud) {
        Waiter *w = ud;
        control_reply_errorf(w->req, "timed out waiting for '%s'\n", w->path);
        waiter_finish(w, 1);
        return 0;
}

/* Returns true when the waiter was answered (and freed). */
static bool waiter_check(Waiter *w) {
        Node *n = tree_find(manager_tree(w->commands->manager), w->path);

        switch (w->goal) {
        case GOAL_GONE:
                if (n && n->intent != NODE_INTENT_REMOVE) {
                        control_reply_errorf(w->req, "'%s' was kept by a later scale\n", w->path);
                        waiter_finish(w, 1);
                        return true;
                }
                if (n)
                        return false;
                waiter_finish(w, 0);
                return true;
        case GOAL_STATE:
                if (!n || n->state != w->state || n->restarts < w->min_restarts ||
                    (w->pid_not > 0 && (n->pid <= 0 || n->pid == w->pid_not)))
                        return false;
                waiter_finish(w, 0);
                return true;
        case GOAL_DOWN:
                if (!n) {
                        waiter_finish(w, w->status);
                        return true;
                }
                if (n->state != NODE_STOPPED && n->state != NODE_FAILED && n->state != NODE_EXITED)
                        return false;
                waiter_finish(w, w->status);
                return true;
        case GOAL_UP:
                if (!n) {
                        control_reply_errorf(w->req, "'%s' is gone\n", w->path);
                        waiter_finish(w, 1);
                        return true;
                }
                if (node_is_up(n) && n->started_at >= w->since) { /* a one-shot: done */
                        if (w->print_path)
                                control_reply_printf(w->req, "%s\n", n->path);
                        waiter_finish(w, w->status);
                        return true;
                }
                if ((n->state == NODE_FAILED || n->state == NODE_STOPPED) && n->started_at >= w->since &&
                    n->intent != NODE_INTENT_START) {
                        control_reply_errorf(w->req, "'%s' %s: %s\n", n->path,
                                             n->state == NODE_FAILED ? "failed to start" : "stopped",
                                             n->reason[0] ? n->reason : "no reason given");
                        waiter_finish(w, 1);
                        return true;
                }
                return false;
        default:
                return false;
        }
}

static void scale_waiter_free(ScaleWaiter *w) {
        LIST_REMOVE(scales, w->commands->scales, w);
        free(w->path);
        free(w);
}

static void on_scale_abandoned(ControlRequest *req, void *ud) {
        scale_waiter_free(ud);
}

/* Answers w once its scale is done or has ended otherwise (tree_scale_check). */
static void scale_waiter_check(ScaleWaiter *w) {
        Node *s = tree_find(manager_tree(w->commands->manager), w->path);
        ControlRequest *req = w->req;
        char why[512];
        int r = s ? tree_scale_check(s, w->seq, w->n, w->since, why, sizeof why) : -ENOENT;

        if (r == 0)
                return;
        if (r < 0)
                control_reply_errorf(req, "cannot scale '%s' to %u: %s\n", w->path, w->n, s ? why : "it is gone");
        control_request_set_abandon(req, NULL, NULL);
        scale_waiter_free(w);
        control_reply_finish(req, r < 0 ? 1 : 0);
}

static void commands_observe(void *ud, Node *n, TreeEvent ev) {
        Commands *c = ud;
        Waiter *next;
        /* The loop exists from the tree's first event on (manager_run makes it). */
        if (c->metrics)
                metrics_start(c->metrics);
        for (Waiter *w = c->waiters; w; w = next) {
                next = w->waiters_next;
                (void) waiter_check(w);
        }
        ScaleWaiter *snext;
        for (ScaleWaiter *w = c->scales; w; w = snext) {
                snext = w->scales_next;
                scale_waiter_check(w);
        }
}

/* No timeout: wait as long as it takes. */
#define WAIT_FOREVER UINT64_MAX

/* want: the goal and its parameters (the fields before `timeout`; the rest is ignored). */
static void add_waiter(Commands *c, ControlRequest *req, const char *path, const Waiter *want, uint64_t timeout_ms) {
        Waiter *w = calloc(1, sizeof *w);
        if (!w || !(w->path = strdup(path))) {
                free(w);
                control_reply_errorf(req, "out of memory\n");
                control_reply_finish(req, 1);
                return;
        }
        w->commands = c;
        w->req = req;
        w->goal = want->goal;
        w->state = want->state;
        w->min_restarts = want->min_restarts;
        w->pid_not = want->pid_not;
        w->since = want->since;
        w->print_path = want->print_path;
        w->status = want->status;
        LIST_PREPEND(waiters, c->waiters, w);
        control_request_set_abandon(req, on_waiter_abandoned, w);
        if (waiter_check(w))
                return;
        if (timeout_ms == 0) {
                /* --timeout 0: a check, not a wait. */
                on_waiter_timeout(NULL, 0, w);
                return;
        }
        if (timeout_ms != WAIT_FOREVER &&
            sd_event_add_time_relative(manager_event(c->manager), &w->timeout, CLOCK_MONOTONIC,
                                       msec_to_usec(timeout_ms), USEC_PER_MSEC, on_waiter_timeout, w) < 0) {
                control_reply_errorf(req, "cannot arm the timeout\n");
                waiter_finish(w, 1);
        }
}

_Static_assert(NODE_EXIT_START_FAILED == EXIT_START_FAILED, "a failed start is one code");

static void reply_write(void *ud, const char *p, size_t n) {
        control_reply_append(ud, p, n);
}

static void json_string(ControlRequest *r, const char *s) {
        json_write_string(s, reply_write, r);
}

/* ---- commands --------------------------------------------------------------------------- */

/* Where a user who wrote `what` probably meant a node: the paths of the nodes named `name`, or
 * of the one whose process is `pid`, up to three. */
typedef struct Hint {
        const char *name;
        pid_t pid;
        char paths[3][256];
        unsigned n;
} Hint;

static void hint_row(Node *n, unsigned depth, void *ud) {
        Hint *h = ud;
        if (h->n >= ELEMENTSOF(h->paths))
                return;
        size_t pl = strlen(n->path), nl = h->name ? strlen(h->name) : 0;
        /* "w.8" or "fleet/w.8" for "app/fleet/w.8" */
        bool tail = h->name && pl > nl && n->path[pl - nl - 1] == '/' && strcmp(n->path + pl - nl, h->name) == 0;
        if (tail || (h->pid > 0 && n->pid == h->pid))
                snprintf(h->paths[h->n++], sizeof h->paths[0], "%s", n->path);
}

static Hint hint_for(Commands *c, const char *name, pid_t pid) {
        Hint h = { .name = name, .pid = pid };
        tree_walk(manager_tree(c->manager)->root, hint_row, &h);
        return h;
}

/* " (did you mean 'a/w.8' or 'b/w.8'?)", or "" without a candidate. */
static void hint_text(const Hint *h, char *buf, size_t size) {
        size_t len = 0;
        buf[0] = '\0';
        for (unsigned i = 0; i < h->n && len < size; i++)
                len += (size_t) snprintf(buf + len, size - len, "%s'%s'", i == 0 ? " (did you mean " : " or ",
                                         h->paths[i]);
        if (h->n > 0 && len < size)
                snprintf(buf + len, size - len, "?)");
}

/* A path that names no node: a bare name (paths start at the root) or a registered name is
 * the usual slip, and the message says which node was probably meant. */
static Node *find_or_fail(Commands *c, ControlRequest *req, const char *path) {
        Node *n = tree_find(manager_tree(c->manager), path);
        if (n)
                return n;
        char text[900];
        Hint h = hint_for(c, path, 0);
        RegistryEntry e;
        if (h.n == 0 && registry_lookup(manager_registry(c->manager), path + (path[0] == '+'), &e) > 0) {
                h = hint_for(c, NULL, e.pid);
                hint_text(&h, text, sizeof text);
                control_reply_errorf(req, "no such process: '%s' is a registered name, not a path%s\n", path, text);
        } else {
                hint_text(&h, text, sizeof text);
                control_reply_errorf(req, "no such process: '%s'%s\n", path, text);
        }
        control_reply_finish(req, 1);
        return NULL;
}

/* status PATH JSON */
static void cmd_status(Commands *c, ControlRequest *req, char **argv) {
        Node *n = argv[1][0] ? find_or_fail(c, req, argv[1]) : manager_tree(c->manager)->root;
        if (!n)
                return;
        /* With the sequence number of the last event: `events --since SEQ` then gets exactly what
         * happened after this answer. */
        inspect_status(req, n, strcmp(argv[2], "1") == 0, event_log_newest(events_log(manager_events(c->manager))),
                       manager_cluster(c->manager));
        control_reply_finish(req, 0);
}

/* tree [JSON] */
static void cmd_tree(Commands *c, ControlRequest *req, char **argv) {
        inspect_tree(req, manager_tree(c->manager)->root, argv[1] && strcmp(argv[1], "1") == 0);
        control_reply_finish(req, 0);
}

/* info PATH [JSON] */
static void cmd_info(Commands *c, ControlRequest *req, char **argv) {
        Node *n = find_or_fail(c, req, argv[1]);
        if (!n)
                return;
        inspect_info(req, c->manager, n, argv[2] && strcmp(argv[2], "1") == 0);
        control_reply_finish(req, 0);
}

static int operation_failed(ControlRequest *req, Node *n, const char *what, const char *error) {
        control_reply_errorf(req, "cannot %s '%s': %s\n", what, n->path, error);
        control_reply_finish(req, 1);
        return 1;
}

/* After stop (held), start or restart (not) of n: its hold on disk follows, so that it outlives
 * the daemon. The operation stands either way; when the disk says no, the client is told (exit
 * status 1, why on stderr) once it is done. Returns the waiter's status. */
static int keep_hold(Commands *c, ControlRequest *req, const Node *n, bool held) {
        int r = manager_keep_hold(c->manager, n, held);
        if (r >= 0)
                return 0;
        log_warning_errno(r, "Cannot %s the hold of '%s' in the state directory: %m", held ? "keep" : "remove", n->path);
        control_reply_errorf(req, "'%s': its hold could not be %s, a restart of the daemon %s: %s\n", n->path,
                             held ? "kept" : "removed", held ? "starts it again" : "leaves it stopped", strerror(-r));
        return 1;
}

static void cmd_start(Commands *c, ControlRequest *req, char **argv) {
        Node *n = find_or_fail(c, req, argv[1]);
        const char *error = NULL;
        if (!n)
                return;
        usec_t since = n->state == NODE_RUNNING || n->state == NODE_STARTING ? n->started_at : now_usec();
        if (tree_start_node(manager_tree(c->manager), n, &error) < 0) {
                operation_failed(req, n, "start", error);
                return;
        }
        int status = keep_hold(c, req, n, false);
        add_waiter(c, req, argv[1], &(Waiter) { .goal = GOAL_UP, .state = NODE_RUNNING, .since = since, .status = status },
                   WAIT_FOREVER);
}

static void cmd_stop(Commands *c, ControlRequest *req, char **argv) {
        Node *n = find_or_fail(c, req, argv[1]);
        const char *error = NULL;
        if (!n)
                return;
        if (tree_stop_node(manager_tree(c->manager), n, &error) < 0) {
                operation_failed(req, n, "stop", error);
                return;
        }
        /* Not for a child on its way out (terminate-child, a reload): that is no hold. */
        int status = n->intent == NODE_INTENT_HOLD ? keep_hold(c, req, n, true) : 0;
        add_waiter(c, req, argv[1], &(Waiter) { .goal = GOAL_DOWN, .status = status }, WAIT_FOREVER);
}

static void cmd_restart(Commands *c, ControlRequest *req, char **argv) {
        Node *n = find_or_fail(c, req, argv[1]);
        const char *error = NULL;
        if (!n)
                return;
        usec_t since = now_usec();
        if (tree_restart_node(manager_tree(c->manager), n, &error) < 0) {
                operation_failed(req, n, "restart", error);
                return;
        }
        int status = keep_hold(c, req, n, false);
        add_waiter(c, req, argv[1], &(Waiter) { .goal = GOAL_UP, .state = NODE_RUNNING, .since = since, .status = status },
                   WAIT_FOREVER);
}

static void cmd_start_child(Commands *c, ControlRequest *req, char **argv) {
        Node *s = find_or_fail(c, req, argv[1]), *child = NULL;
        const char *error = NULL;
        if (!s)
                return;
        usec_t since = now_usec();
        if (tree_start_child(manager_tree(c->manager), s, argv + 2, &child, &error) < 0) {
                operation_failed(req, s, "start a child under", error);
                return;
        }
        add_waiter(c, req, child->path,
                   &(Waiter) { .goal = GOAL_UP, .state = NODE_RUNNING, .since = since, .print_path = true },
                   WAIT_FOREVER);
}

static void cmd_terminate_child(Commands *c, ControlRequest *req, char **argv) {
        Node *n = find_or_fail(c, req, argv[1]);
        const char *error = NULL;
        if (!n)
                return;
        if (tree_terminate_child(manager_tree(c->manager), n, &error) < 0) {
                operation_failed(req, n, "terminate", error);
                return;
        }
        add_waiter(c, req, argv[1], &(Waiter) { .goal = GOAL_GONE }, WAIT_FOREVER);
}

/* "stopped, starting, running, ...": every state a node can be in, for a message. */
static void state_names(char *buf, size_t size) {
        size_t len = 0;
        buf[0] = '\0';
        for (NodeState st = 0; st < _NODE_STATE_MAX && len < size; st++)
                len += (size_t) snprintf(buf + len, size - len, "%s%s", st ? ", " : "", node_state_to_string(st));
}

/* A number in a request (the client has checked it; an old or foreign client may not have). */
static bool request_number(const char *s, unsigned long long max, unsigned long long *ret) {
        char *end;
        if (!s[0] || strspn(s, "0123456789") != strlen(s))
                return false;
        errno = 0;
        *ret = strtoull(s, &end, 10);
        return !errno && !*end && *ret <= max;
}

/* scale SUP N: answered once SUP runs N instances (tree_scale_check), or at once when refused
 * (2 for what no retry can change: not a number, not simple_one_for_one, above max_children). */
static void cmd_scale(Commands *c, ControlRequest *req, char **argv) {
        const char *error = NULL;
        unsigned long long n;
        unsigned seq;

        if (!request_number(argv[2], UINT_MAX, &n)) {
                control_reply_errorf(req, "scale: N is a number of instances, not '%s'\n", argv[2]);
                control_reply_finish(req, 2);
                return;
        }
        Node *s = find_or_fail(c, req, argv[1]);
        if (!s)
                return;
        ScaleWaiter *w = calloc(1, sizeof *w);
        if (!w || !(w->path = strdup(s->path))) {
                free(w);
                control_reply_errorf(req, "out of memory\n");
                control_reply_finish(req, 1);
                return;
        }
        w->since = now_usec();
        int r = tree_scale(manager_tree(c->manager), s, (unsigned) n, NODE_REASON_OPERATOR, &seq, &error);
        if (r < 0) {
                free(w->path);
                free(w);
                control_reply_errorf(req, "cannot scale '%s' to %llu: %s\n", s->path, n, error);
                control_reply_finish(req, r == -EINVAL || r == -ERANGE ? 2 : 1);
                return;
        }
        /* Once it is under way: the tree has logged the instances it started or stopped. */
        log_info("Scaling '%s' to %llu instances", s->path, n);
        w->commands = c;
        w->req = req;
        w->n = (unsigned) n;
        w->seq = seq;
        LIST_PREPEND(scales, c->scales, w);
        control_request_set_abandon(req, on_scale_abandoned, w);
        scale_waiter_check(w);
}

/* wait PATH STATE TIMEOUT_MS [RESTARTS PID_NOT] */
static void cmd_wait(Commands *c, ControlRequest *req, char **argv) {
        const char *path = argv[1][0] ? argv[1] : manager_tree(c->manager)->root->path;
        Waiter want = { .goal = GOAL_STATE, .state = node_state_from_string(argv[2]) };
        unsigned long long timeout = WAIT_FOREVER, restarts = 0, pid_not = 0;
        char names[160];

        if (want.state < 0) {
                state_names(names, sizeof names);
                control_reply_errorf(req, "wait: no state '%s': it is one of %s\n", argv[2], names);
                control_reply_finish(req, 2);
                return;
        }
        if ((argv[3][0] && !request_number(argv[3], UINT32_MAX, &timeout)) ||
            (argv[4] && argv[4][0] && !request_number(argv[4], UINT32_MAX, &restarts)) ||
            (argv[4] && argv[5] && argv[5][0] && !request_number(argv[5], INT32_MAX, &pid_not))) {
                control_reply_errorf(req, "wait: bad number\n");
                control_reply_finish(req, 2);
                return;
        }
        want.min_restarts = (unsigned) restarts;
        want.pid_not = (pid_t) pid_not;
        Node *n = find_or_fail(c, req, path);
        if (!n)
                return;
        if (want.pid_not > 0 && node_is_supervisor(n)) {
                /* It would never hold: a supervisor has no process. */
                control_reply_errorf(req, "wait: --pid-not is for a worker; '%s' is a supervisor\n", n->path);
                control_reply_finish(req, 2);
                return;
        }
        add_waiter(c, req, path, &want, timeout);
}

static void reload_waiter_free(ReloadWaiter *w) {
        Commands *c = w->commands;
        LIST_REMOVE(reloads, c->reloads, w);
        free(w);
}

static void on_reload_done(void *ud, int status, const char *message) {
        ReloadWaiter *w = ud;
        ControlRequest *req = w->req;
        control_request_set_abandon(req, NULL, NULL);
        reload_waiter_free(w);
        if (message)
                control_reply_errorf(req, "reload: %s\n", message);
        control_reply_finish(req, status);
}

static void on_reload_abandoned(ControlRequest *req, void *ud) {
        ReloadWaiter *w = ud;
        manager_reload_forget(w->commands->manager, w->job);
        reload_waiter_free(w);
}

/* reload: answered once the new configuration has been applied (after any reload before it);
 * an invalid configuration is answered at once with its problems, as `check` prints them. */
static void cmd_reload(Commands *c, ControlRequest *req, char **argv) {
        ReloadWaiter *w = calloc(1, sizeof *w);
        Diagnostics d = {};
        const char *error = NULL;

        if (!w) {
                control_reply_errorf(req, "out of memory\n");
                control_reply_finish(req, 1);
                return;
        }
        int r = manager_reload(c->manager, on_reload_done, w, &w->job, &d, &error);
        if (r < 0) {
                free(w);
                if (r == -EINVAL && d.n > 0) {
                        for (size_t i = 0; i < d.n; i++)
                                control_reply_diagnostic(req, "%s\n", d.lines[i]);
                } else
                        control_reply_errorf(req, "reload: %s\n", error);
                diagnostics_done(&d);
                control_reply_finish(req, r == -EINVAL ? 2 : 1);
                return;
        }
        diagnostics_done(&d);
        w->commands = c;
        w->req = req;
        LIST_PREPEND(reloads, c->reloads, w);
        control_request_set_abandon(req, on_reload_abandoned, w);
}

static void cmd_shutdown(Commands *c, ControlRequest *req, char **argv) {
        /* No answer: the client learns of the end when the daemon exits and the connection
         * closes. */
        control_request_hold_until_exit(req);
        manager_shutdown(c->manager);
}

typedef struct ListCtx {
        ControlRequest *req;
        bool json, first;
} ListCtx;

/* A global name held on another node is PID@NODE: no pid of this node (forkvisor-cluster(7)). */
static void print_pid(const RegistryEntry *e, void *ud) {
        const char *at = e->flags & REGISTRY_REMOTE ? strchr(e->name, '@') : NULL;
        control_reply_printf(ud, "%d%s\n", (int) e->pid, at ?: "");
}

/* whereis NAME ALL: from the registry, as a child would read it. "+key" or "key" for a
 * duplicate key. A path or a node's name given instead of a registered name gets a hint. */
static void cmd_whereis(Commands *c, ControlRequest *req, char **argv) {
        const RegistryView *v = manager_registry(c->manager);
        const char *name = argv[1] + (argv[1][0] == '+');
        bool all = strcmp(argv[2], "1") == 0;
        RegistryEntry e;
        int r = all ? registry_lookup_all(v, name, print_pid, req) : registry_lookup(v, name, &e);
        if (r > 0 && !all)
                print_pid(&e, req);
        if (r > 0) {
                control_reply_finish(req, 0);
                return;
        }
        /* The path of a node, or its end, given where a name was meant. */
        Node *n = tree_find(manager_tree(c->manager), argv[1]);
        Hint h = hint_for(c, argv[1], 0);
        if (!n && h.n > 0)
                n = tree_find(manager_tree(c->manager), h.paths[0]);
        if (n && n->pid > 0)
                control_reply_errorf(req, "'%s' is not registered: '%s' is the path of a process (`forkvisor status %s` "
                                     "shows its pid)\n", argv[1], n->path, n->path);
        else if (n && !node_is_supervisor(n))
                control_reply_errorf(req, "'%s' is not registered: '%s' is not running (%s)\n", argv[1], n->path,
                                     node_state_to_string(n->state));
        else
                control_reply_errorf(req, "'%s' is not registered\n", argv[1]);
        control_reply_finish(req, 1);
}

/* The workers signalled by one `signal` request. */
typedef struct SignalCtx {
        int sig;
        unsigned sent, failed;
        int error;
} SignalCtx;

static void signal_row(Node *n, unsigned depth, void *ud) {
        SignalCtx *x = ud;
        /* Only a process the node has not reaped: its pid cannot have been reused. */
        if (node_is_supervisor(n) || n->pid <= 0)
                return;
        if (kill(n->pid, x->sig) < 0) {
                x->failed++;
                x->error = errno;
                return;
        }
        x->sent++;
}

/* signal PATH SIG: to the worker's process, or to every worker process under a supervisor. */
static void cmd_signal(Commands *c, ControlRequest *req, char **argv) {
        int sig = parse_signal(argv[2]);
        if (sig < 0) {
                control_reply_errorf(req, "signal: no signal '%s' (a name such as HUP or SIGUSR1, or a number)\n",
                                     argv[2]);
                control_reply_finish(req, 2);
                return;
        }
        Node *n = find_or_fail(c, req, argv[1]);
        if (!n)
                return;
        SignalCtx x = { .sig = sig };
        tree_walk(n, signal_row, &x);
        if (x.failed > 0) {
                control_reply_errorf(req, "signal: %u of %u processes under '%s' could not be signalled: %s\n",
                                     x.failed, x.failed + x.sent, n->path, strerror(x.error));
                control_reply_finish(req, 1);
                return;
        }
        if (x.sent == 0) {
                control_reply_errorf(req, "signal: no process is running under '%s' (%s)\n", n->path,
                                     node_state_to_string(n->state));
                control_reply_finish(req, 1);
                return;
        }
        log_info("Sent signal %d (%s) to %u process%s under '%s' (operator)", sig, signal_name(sig) ?: "real-time", x.sent,
                 x.sent == 1 ? "" : "es", n->path);
        control_reply_finish(req, 0);
}

static void list_entry(const RegistryEntry *e, void *ud) {
        ListCtx *x = ud;
        const char *kind = e->flags & REGISTRY_DUPLICATE                    ? "duplicate"
                           : e->flags & (REGISTRY_GLOBAL | REGISTRY_REMOTE) ? "global"
                                                                           : "unique";
        if (!x->json) {
                control_reply_printf(x->req, "%s%-40s %8d %10u  %s\n", e->flags & REGISTRY_DUPLICATE ? "+" : "",
                                     e->name, (int) e->pid, e->generation, kind);
                return;
        }
        control_reply_printf(x->req, "%s\n  {\"name\": ", x->first ? "" : ",");
        x->first = false;
        json_string(x->req, e->name);
        control_reply_printf(x->req, ", \"pid\": %d, \"generation\": %u, \"kind\": \"%s\"}", (int) e->pid,
                             e->generation, kind);
}

/* registry JSON */
static void cmd_registry(Commands *c, ControlRequest *req, char **argv) {
        ListCtx x = { .req = req, .json = strcmp(argv[1], "1") == 0, .first = true };
        if (x.json)
                control_reply_printf(req, "[");
        else
                control_reply_printf(req, "%-40s %8s %10s  %s\n", "NAME", "PID", "GENERATION", "KIND");
        int r = registry_list(manager_registry(c->manager), list_entry, &x);
        if (x.json)
                control_reply_printf(req, "\n]\n");
        control_reply_finish(req, r < 0 ? 1 : 0);
}

/* metrics: the node's figures in Prometheus' text format (metrics.h). */
static void cmd_metrics(Commands *c, ControlRequest *req, char **argv) {
        if (!c->metrics) {
                control_reply_errorf(req, "metrics: not available (out of memory at start)\n");
                control_reply_finish(req, 1);
                return;
        }
        metrics_reply(c->metrics, req);
        control_reply_finish(req, 0);
}

/* cluster JSON: this node in its cluster (forkvisor-cluster(7)). */
static void cmd_cluster(Commands *c, ControlRequest *req, char **argv) {
        Cluster *cl = manager_cluster(c->manager);
        if (!cl) {
                control_reply_errorf(req, "this node is not in a cluster\n");
                control_reply_finish(req, 1);
                return;
        }
        if (strcmp(argv[1], "1") == 0) {
                cluster_view_json(req, cl);
                control_reply_printf(req, "\n");
        } else
                cluster_view_text(req, cl);
        control_reply_finish(req, 0);
}

typedef struct Command {
        const char *name;
        int min_args, max_args; /* not counting the name; -1 = no limit */
        bool mutates;           /* refused while shutting down */
        void (*run)(Commands *c, ControlRequest *req, char **argv);
        void (*bus)(Manager *m, ControlRequest *req, char **argv); /* commands-bus.c's, instead */
} Command;

static const Command command_table[] = {
        { "status", 2, 2, false, cmd_status },
        { "tree", 0, 1, false, cmd_tree },
        { "info", 1, 2, false, cmd_info },
        { "start", 1, 1, true, cmd_start },
        { "stop", 1, 1, true, cmd_stop },
        { "restart", 1, 1, true, cmd_restart },
        { "start-child", 1, -1, true, cmd_start_child },
        { "terminate-child", 1, 1, true, cmd_terminate_child },
        { "scale", 2, 2, true, cmd_scale },
        { "wait", 3, 5, false, cmd_wait },
        { "signal", 2, 2, true, cmd_signal },
        { "shutdown", 0, 0, false, cmd_shutdown },
        { "reload", 0, 0, true, cmd_reload },
        { "whereis", 2, 2, false, cmd_whereis },
        { "registry", 1, 1, false, cmd_registry },
        { "send", 2, 2, false, NULL, bus_send },
        { "call", 3, 3, false, NULL, bus_call },
        { "get-state", 2, 2, false, NULL, bus_get_state },
        { "publish", 2, 2, false, NULL, bus_publish },
        { "subscribe", 1, -1, false, NULL, bus_subscribe },
        { "events", 0, 1, false, NULL, bus_events },
        { "events-cluster", 0, 1, false, NULL, bus_events_cluster },
        { "cluster", 1, 1, false, cmd_cluster },
        { "metrics", 0, 0, false, cmd_metrics },
};

/* A request whose client has given up is not carried out: a `shutdown` that waited in the socket
 * of a stopped daemon must not fire when the daemon is continued. The deadline is the client's,
 * on CLOCK_MONOTONIC, which both share on one host. Returns true when req was answered. */
static bool request_dropped(Commands *c, ControlRequest *req, const char *name) {
        uint64_t deadline = control_request_deadline(req);
        usec_t now = now_usec();
        char ago[32];

        if (deadline > 0 && now >= deadline) {
                c->n_dropped++;
                format_duration(now - deadline, ago, sizeof ago);
                log_info("Dropped a '%.64s' request: its deadline passed %s ago (%lu dropped)", name, ago,
                         c->n_dropped);
                control_reply_errorf(req, "%.64s: not carried out, its deadline passed %s before the daemon read it\n",
                                     name, ago);
                control_reply_finish(req, 3);
                return true;
        }
        if (control_request_accept(req) < 0) {
                c->n_dropped++;
                log_info("Dropped a '%.64s' request: its client is gone (%lu dropped)", name, c->n_dropped);
                control_reply_finish(req, 3);
                return true;
        }
        return false;
}

void commands_handle(void *ud, ControlRequest *req, int argc, char **argv) {
        Commands *c = ud;
        if (request_dropped(c, req, argv[0]))
                return;
        for (size_t i = 0; i < ELEMENTSOF(command_table); i++) {
                const Command *cmd = &command_table[i];
                if (strcmp(cmd->name, argv[0]) != 0)
                        continue;
                if (argc - 1 < cmd->min_args || (cmd->max_args >= 0 && argc - 1 > cmd->max_args)) {
                        control_reply_errorf(req, "%s: wrong number of arguments\n", cmd->name);
                        control_reply_finish(req, 2);
                        return;
                }
                if (cmd->mutates && manager_shutting_down(c->manager)) {
                        control_reply_errorf(req, "%s: the daemon is shutting down\n", cmd->name);
                        control_reply_finish(req, 1);
                        return;
                }
                /* Whatever a command answers, it is about the processes as the kernel has them
                 * now: a child that has exited is reaped first, even when its SIGCHLD waits behind
                 * this request in the loop (no answer names a pid that has already exited). One
                 * waitid() when nothing is due. */
                manager_reap_pending(c->manager);
                if (cmd->bus)
                        cmd->bus(c->manager, req, argv);
                else
                        cmd->run(c, req, argv);
                return;
        }
        control_reply_errorf(req, "unknown command\n");
        control_reply_finish(req, 2);
}

int commands_new(Commands **ret) {
        Commands *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

void commands_attach(Commands *c, Manager *m) {
        c->manager = m;
        manager_set_observer(m, commands_observe, c);
        int r = metrics_new(m, &c->metrics);
        if (r < 0)
                log_warning_errno(r, "Cannot set up the metrics: %m (`forkvisor metrics` and metrics_file will not work)");
}

Commands *commands_free(Commands *c) {
        if (!c)
                return NULL;
        while (c->waiters) {
                Waiter *w = c->waiters;
                control_request_set_abandon(w->req, NULL, NULL);
                waiter_free(w);
        }
        while (c->reloads) {
                ReloadWaiter *w = c->reloads;
                control_request_set_abandon(w->req, NULL, NULL);
                manager_reload_forget(c->manager, w->job);
                reload_waiter_free(w);
        }
        while (c->scales) {
                control_request_set_abandon(c->scales->req, NULL, NULL);
                scale_waiter_free(c->scales);
        }
        metrics_free(c->metrics);
        free(c);
        return NULL;
}
