/* SPDX-License-Identifier: MIT */
/* The daemon's side of the operator subcommands: a fixed table of commands (never a lookup of
 * arbitrary names), each checking its argument count, and the waiters that answer `wait`,
 * `start`, `stop`, `restart` and `start-child` once the tree has reached what was asked. */
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "exitdesc.h"
#include "json.h"
#include "list.h"
#include "log.h"
#include "manager.h"
#include "proto.h"
#include "registry.h"
#include "strv.h"
#include "time-util.h"
#include "topic.h"

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
        usec_t since;
        bool print_path;
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

struct Commands {
        Manager *manager;          /* borrowed */
        Waiter *waiters;           /* owned */
        ReloadWaiter *reloads;     /* owned */
        unsigned long n_dropped;   /* requests not carried out: expired, or their client gone */
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
                if (n)
                        return false;
                waiter_finish(w, 0);
                return true;
        case GOAL_STATE:
                if (!n || n->state != w->state)
                        return false;
                waiter_finish(w, 0);
                return true;
        case GOAL_DOWN:
                if (!n) {
                        waiter_finish(w, 0);
                        return true;
                }
                if (n->state != NODE_STOPPED && n->state != NODE_FAILED)
                        return false;
                waiter_finish(w, 0);
                return true;
        case GOAL_UP:
                if (!n) {
                        control_reply_errorf(w->req, "'%s' is gone\n", w->path);
                        waiter_finish(w, 1);
                        return true;
                }
                if (n->state == NODE_RUNNING && n->started_at >= w->since) {
                        if (w->print_path)
                                control_reply_printf(w->req, "%s\n", n->path);
                        waiter_finish(w, 0);
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

static void commands_observe(void *ud, Node *n, TreeEvent ev) {
        Commands *c = ud;
        Waiter *next;
        for (Waiter *w = c->waiters; w; w = next) {
                next = w->waiters_next;
                (void) waiter_check(w);
        }
}

/* No timeout: wait as long as it takes. */
#define WAIT_FOREVER UINT64_MAX

static void add_waiter(Commands *c, ControlRequest *req, const char *path, WaitGoal goal, NodeState state,
                       usec_t since, uint64_t timeout_ms, bool print_path) {
        Waiter *w = calloc(1, sizeof *w);
        if (!w || !(w->path = strdup(path))) {
                free(w);
                control_reply_errorf(req, "out of memory\n");
                control_reply_finish(req, 1);
                return;
        }
        w->commands = c;
        w->req = req;
        w->goal = goal;
        w->state = state;
        w->since = since;
        w->print_path = print_path;
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

/* ---- formatting ------------------------------------------------------------------------- */

_Static_assert(NODE_EXIT_START_FAILED == EXIT_START_FAILED, "a failed start is one code");

/* The node's last exit in a style of exitdesc.h. */
static void format_last_exit(const Node *n, ExitStyle style, char *buf, size_t size) {
        exit_describe(&(ExitHow) { n->exit_code, n->exit_status, n->exit_oom }, style, buf, size);
}

static const char *node_kind(const Node *n) {
        return node_is_supervisor(n) ? "supervisor" : "worker";
}

static bool node_has_uptime(const Node *n) {
        return n->state == NODE_RUNNING || n->state == NODE_STARTING || n->state == NODE_STOPPING;
}

static void reply_write(void *ud, const char *p, size_t n) {
        control_reply_append(ud, p, n);
}

static void json_string(ControlRequest *r, const char *s) {
        json_write_string(s, reply_write, r);
}

/* ", "mailbox": {...}" of a status --json row: the current incarnation's counters (they start
 * again from 0 when the process is restarted), or null when the node has no mailbox now
 * (a supervisor, a worker without a process). `forkvisor top` computes its rates from these. */
static void status_mailbox_json(ControlRequest *r, Node *n) {
        Peer *peer = manager_node_peer(n);
        MailboxStats st;

        if (!peer) {
                control_reply_printf(r, ", \"mailbox\": null");
                return;
        }
        peer_get_stats(peer, &st);
        control_reply_printf(r, ", \"mailbox\": {\"depth\": %u, \"limit\": %u, \"in\": %" PRIu64 ", \"out\": %" PRIu64
                             ", \"dropped\": %" PRIu64 "}", st.depth, n->spec->mailbox_limit, st.in, st.out, st.dropped);
}

typedef struct StatusCtx {
        ControlRequest *req;
        bool json;
        bool first;
        usec_t now;
} StatusCtx;

static void status_row(Node *n, unsigned depth, void *ud) {
        StatusCtx *x = ud;
        char up[32] = "-", last[64];

        if (node_has_uptime(n))
                format_duration(x->now - n->started_at, up, sizeof up);
        format_last_exit(n, EXIT_STYLE_STATUS, last, sizeof last);
        if (!x->json) {
                char pid[16] = "-";
                if (n->pid > 0)
                        snprintf(pid, sizeof pid, "%d", (int) n->pid);
                control_reply_printf(x->req, "%-32s %-10s %-10s %-8s %8u %10s  %s\n", n->path, node_kind(n),
                                     node_state_to_string(n->state), pid, n->restarts, up, last);
                return;
        }
        control_reply_printf(x->req, "%s\n  {\"path\": ", x->first ? "" : ",");
        x->first = false;
        json_string(x->req, n->path);
        control_reply_printf(x->req, ", \"kind\": \"%s\", \"state\": \"%s\", \"pid\": ", node_kind(n),
                             node_state_to_string(n->state));
        if (n->pid > 0)
                control_reply_printf(x->req, "%d", (int) n->pid);
        else
                control_reply_printf(x->req, "null");
        control_reply_printf(x->req, ", \"restarts\": %u, \"uptime_ms\": ", n->restarts);
        if (node_has_uptime(n))
                control_reply_printf(x->req, "%" PRIu64, (x->now - n->started_at) / USEC_PER_MSEC);
        else
                control_reply_printf(x->req, "null");
        format_last_exit(n, EXIT_STYLE_STATUS_JSON, last, sizeof last);
        control_reply_printf(x->req, ", \"last_exit\": %s", last);
        status_mailbox_json(x->req, n);
        control_reply_printf(x->req, "}");
}

/* ---- commands --------------------------------------------------------------------------- */

static Node *find_or_fail(Commands *c, ControlRequest *req, const char *path) {
        Node *n = tree_find(manager_tree(c->manager), path);
        if (!n) {
                control_reply_errorf(req, "no such process: '%s'\n", path);
                control_reply_finish(req, 1);
        }
        return n;
}

/* status PATH JSON */
static void cmd_status(Commands *c, ControlRequest *req, char **argv) {
        Node *n = argv[1][0] ? find_or_fail(c, req, argv[1]) : manager_tree(c->manager)->root;
        if (!n)
                return;
        StatusCtx x = { .req = req, .json = strcmp(argv[2], "1") == 0, .first = true, .now = now_usec() };
        /* With the sequence number of the last event: `events --since SEQ` then gets exactly what
         * happened after this answer. */
        if (x.json)
                control_reply_printf(req, "{\"seq\": %" PRIu64 ", \"processes\": [",
                                     event_log_newest(events_log(manager_events(c->manager))));
        else
                control_reply_printf(req, "%-32s %-10s %-10s %-8s %8s %10s  %s\n", "PATH", "KIND", "STATE", "PID",
                                     "RESTARTS", "UPTIME", "LAST-EXIT");
        tree_walk(n, status_row, &x);
        if (x.json)
                control_reply_printf(req, "\n]}\n");
        control_reply_finish(req, 0);
}

typedef struct TreeCtx {
        ControlRequest *req;
        char prefix[512];
} TreeCtx;

static void tree_draw(TreeCtx *x, Node *n, size_t plen, bool last, bool is_root) {
        char detail[160] = "";
        ControlRequest *req = x->req;

        if (node_is_supervisor(n))
                snprintf(detail, sizeof detail, "  %s", strategy_to_string(n->spec->strategy));
        else if (n->pid > 0)
                snprintf(detail, sizeof detail, "  pid %d", (int) n->pid);
        if (n->restarts > 0) {
                size_t l = strlen(detail);
                snprintf(detail + l, sizeof detail - l, "  restarts %u", n->restarts);
        }
        if (is_root)
                control_reply_printf(req, "%s  %s%s\n", n->name, node_state_to_string(n->state), detail);
        else
                control_reply_printf(req, "%.*s%s %s  %s%s\n", (int) plen, x->prefix, last ? "└─" : "├─",
                                     n->name, node_state_to_string(n->state), detail);

        size_t nl = plen;
        if (!is_root) {
                const char *add = last ? "   " : "│  ";
                size_t al = strlen(add);
                if (plen + al < sizeof x->prefix) {
                        memcpy(x->prefix + plen, add, al);
                        nl = plen + al;
                }
        }
        for (size_t i = 0; i < n->n_children; i++)
                tree_draw(x, n->children[i], nl, i + 1 == n->n_children, false);
}

static void cmd_tree(Commands *c, ControlRequest *req, char **argv) {
        TreeCtx x = { .req = req };
        tree_draw(&x, manager_tree(c->manager)->root, 0, true, true);
        control_reply_finish(req, 0);
}

typedef struct NamesCtx {
        ControlRequest *req;
        pid_t pid;
        unsigned n;
} NamesCtx;

/* "names: a, +group, b": the registry entries of one process, "+" before a duplicate key. */
static void print_name_of_pid(const RegistryEntry *e, void *ud) {
        NamesCtx *x = ud;
        if (e->pid != x->pid)
                return;
        control_reply_printf(x->req, "%s%s%s", x->n++ ? ", " : "names: ", e->flags & REGISTRY_DUPLICATE ? "+" : "",
                             e->name);
}

static void cmd_info(Commands *c, ControlRequest *req, char **argv) {
        Node *n = find_or_fail(c, req, argv[1]);
        if (!n)
                return;
        char up[32] = "-", last[64];
        if (node_has_uptime(n))
                format_duration(now_usec() - n->started_at, up, sizeof up);
        format_last_exit(n, EXIT_STYLE_STATUS, last, sizeof last);

        control_reply_printf(req, "path: %s\nkind: %s\nstate: %s\n", n->path, node_kind(n),
                             node_state_to_string(n->state));
        if (n->pid > 0)
                control_reply_printf(req, "pid: %d\n", (int) n->pid);
        control_reply_printf(req, "restarts: %u\nuptime: %s\nlast exit: %s\n", n->restarts, up, last);
        if (node_is_supervisor(n)) {
                control_reply_printf(req, "strategy: %s\nintensity: %u in %" PRIu64 " ms\nchildren: %zu\n",
                                     strategy_to_string(n->spec->strategy), n->spec->intensity, n->spec->period_ms,
                                     n->n_children);
        } else {
                if (n->pid > 0) {
                        char p[64], line[256];
                        snprintf(p, sizeof p, "/proc/%d/status", (int) n->pid);
                        FILE *f = fopen(p, "re");
                        while (f && fgets(line, sizeof line, f))
                                if (strncmp(line, "VmRSS:", 6) == 0)
                                        control_reply_printf(req, "memory: %s", line + 6 + strspn(line + 6, " \t"));
                        if (f)
                                fclose(f);
                }
                control_reply_printf(req, "restart: %s\nready: %s\n", restart_type_to_string(n->spec->restart),
                                     ready_mode_to_string(n->spec->ready));
                if (manager_node_argv0(n))
                        control_reply_printf(req, "command: %s\n", manager_node_argv0(n));
                /* What it holds now, configured and registered at run time; else what it
                 * will hold when it starts. */
                NamesCtx x = { .req = req, .pid = n->pid };
                if (n->pid > 0)
                        (void) registry_list(manager_registry(c->manager), print_name_of_pid, &x);
                if (x.n > 0)
                        control_reply_printf(req, "\n");
                else if (n->reg_name && n->pid <= 0)
                        control_reply_printf(req, "names: %s\n", n->reg_name);
                Peer *peer = manager_node_peer(n);
                if (peer) {
                        MailboxStats st;
                        peer_get_stats(peer, &st);
                        control_reply_printf(req, "mailbox depth: %u of %u\nmessages in: %" PRIu64 "\n"
                                             "messages out: %" PRIu64 "\nmessages dropped: %" PRIu64 "\n",
                                             st.depth, n->spec->mailbox_limit, st.in, st.out, st.dropped);
                        char *const *topics = peer_subscriptions(peer);
                        if (topics && *topics) {
                                control_reply_printf(req, "subscriptions:");
                                STRV_FOREACH(t, topics)
                                        control_reply_printf(req, " %s", *t);
                                control_reply_printf(req, "\npublications dropped: %" PRIu64 "\n",
                                                     peer_publications_dropped(peer));
                        }
                }
                if (manager_node_status(n))
                        control_reply_printf(req, "status: %s\n", manager_node_status(n));
        }
        if (n->reason[0])
                control_reply_printf(req, "reason: %s\n", n->reason);
        control_reply_finish(req, 0);
}

static int operation_failed(ControlRequest *req, Node *n, const char *what, const char *error) {
        control_reply_errorf(req, "cannot %s '%s': %s\n", what, n->path, error);
        control_reply_finish(req, 1);
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
        add_waiter(c, req, argv[1], GOAL_UP, NODE_RUNNING, since, WAIT_FOREVER, false);
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
        add_waiter(c, req, argv[1], GOAL_DOWN, NODE_STOPPED, 0, WAIT_FOREVER, false);
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
        add_waiter(c, req, argv[1], GOAL_UP, NODE_RUNNING, since, WAIT_FOREVER, false);
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
        add_waiter(c, req, child->path, GOAL_UP, NODE_RUNNING, since, WAIT_FOREVER, true);
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
        add_waiter(c, req, argv[1], GOAL_GONE, NODE_STOPPED, 0, WAIT_FOREVER, false);
}

/* wait PATH STATE TIMEOUT_MS */
static void cmd_wait(Commands *c, ControlRequest *req, char **argv) {
        const char *path = argv[1][0] ? argv[1] : manager_tree(c->manager)->root->path;
        NodeState st = node_state_from_string(argv[2]);
        char *end;
        unsigned long long timeout = argv[3][0] ? strtoull(argv[3], &end, 10) : WAIT_FOREVER;

        if (st < 0 || (argv[3][0] && *end)) {
                control_reply_errorf(req, "bad state or timeout\n");
                control_reply_finish(req, 2);
                return;
        }
        if (!tree_find(manager_tree(c->manager), path)) {
                control_reply_errorf(req, "no such process: '%s'\n", path);
                control_reply_finish(req, 1);
                return;
        }
        add_waiter(c, req, path, GOAL_STATE, st, 0, timeout, false);
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

static void print_pid(const RegistryEntry *e, void *ud) {
        control_reply_printf(ud, "%d\n", (int) e->pid);
}

/* whereis NAME ALL: from the registry, as a child would read it. "+key" or "key" for a
 * duplicate key. */
static void cmd_whereis(Commands *c, ControlRequest *req, char **argv) {
        const RegistryView *v = manager_registry(c->manager);
        const char *name = argv[1] + (argv[1][0] == '+');
        RegistryEntry e;
        int r = strcmp(argv[2], "1") == 0 ? registry_lookup_all(v, name, print_pid, req) : registry_lookup(v, name, &e);
        if (r > 0 && strcmp(argv[2], "1") != 0)
                print_pid(&e, req);
        if (r <= 0) {
                control_reply_errorf(req, "'%s' is not registered\n", argv[1]);
                control_reply_finish(req, 1);
                return;
        }
        control_reply_finish(req, 0);
}

static void list_entry(const RegistryEntry *e, void *ud) {
        ListCtx *x = ud;
        const char *kind = e->flags & REGISTRY_DUPLICATE ? "duplicate" : "unique";
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

/* send NAME DATA: a cast from outside the tree. Unlike a cast between workers, the operator is
 * told when nobody holds the name. */
static void cmd_send(Commands *c, ControlRequest *req, char **argv) {
        int r = router_cast(manager_router(c->manager), argv[1], argv[2], strlen(argv[2]));
        if (r < 0) {
                control_reply_errorf(req, "%s\n", r == -ESRCH ? "noproc: no process is registered under that name"
                                                   : r == -EAGAIN ? "mailbox full"
                                                   : r == -EMSGSIZE ? "message too long (more than 65536 bytes)"
                                                   : strerror(-r));
                control_reply_finish(req, 1);
                return;
        }
        control_reply_finish(req, 0);
}

/* publish TOPIC DATA */
static void cmd_publish(Commands *c, ControlRequest *req, char **argv) {
        int r = router_publish(manager_router(c->manager), argv[1], argv[2], strlen(argv[2]));
        if (r < 0) {
                control_reply_errorf(req, "%s\n", r == -EINVAL ? "bad topic: 1-255 printable characters, no whitespace, no '*'"
                                                   : r == -EMSGSIZE ? "message too long (more than 65536 bytes)"
                                                   : strerror(-r));
                control_reply_finish(req, r == -EINVAL ? 2 : 1);
                return;
        }
        control_reply_finish(req, 0);
}

/* What an outside subscriber may have queued before it loses messages: the default
 * mailbox_limit of a worker. */
#define OUTSIDE_SUBSCRIBER_LIMIT 1024

/* The connection becomes a subscriber of patterns: see router_stream_new(). Its queue holds
 * extra messages more than a subscriber's, for what the caller sends at once. Returns the
 * stream, or NULL when the request was answered or the stream could not be opened. The client
 * says `ready` (subscribe --ready) when it reads CTL_STREAM: sent here, in the loop pass that
 * subscribes, so no request it makes after that can be served before the subscription is live. */
static Peer *stream_topics(Commands *c, ControlRequest *req, char **patterns, unsigned extra) {
        STRV_FOREACH(t, patterns)
                if (!topic_pattern_is_valid(*t, strlen(*t))) {
                        control_reply_errorf(req, "bad topic '%s': 1-255 printable characters, no whitespace, '*' only at the end\n",
                                             *t);
                        control_reply_finish(req, 2);
                        return NULL;
                }
        int fd = control_request_take_stream(req);
        if (fd < 0) {
                control_reply_finish(req, 1);
                return NULL;
        }
        Peer *p;
        int r = router_stream_new(manager_router(c->manager), fd, patterns, OUTSIDE_SUBSCRIBER_LIMIT + extra, &p);
        if (r < 0) {
                log_warning("Cannot open a subscription for a client: %s", strerror(-r));
                return NULL;
        }
        return p;
}

/* subscribe PATTERN... */
static void cmd_subscribe(Commands *c, ControlRequest *req, char **argv) {
        (void) stream_topics(c, req, argv + 1, 0);
}

static int replay_one(void *ud, uint64_t seq, const char *topic, const char *data, size_t len) {
        return router_stream_send(ud, topic, data, len);
}

/* events [SINCE]: with SINCE, the events kept after it first, then the live ones. Both in this
 * loop pass, which no event can interrupt: none is missed or seen twice. */
static void cmd_events(Commands *c, ControlRequest *req, char **argv) {
        char *patterns[] = { (char *) "forkvisor:*", NULL };
        if (!argv[1]) {
                (void) stream_topics(c, req, patterns, 0);
                return;
        }
        const EventLog *log = events_log(manager_events(c->manager));
        uint64_t since, newest = event_log_newest(log);
        char *end;
        errno = 0;
        since = strtoull(argv[1], &end, 10);
        if (!argv[1][0] || *end || errno || strspn(argv[1], "0123456789") != strlen(argv[1])) {
                control_reply_errorf(req, "--since takes a sequence number, not '%s'\n", argv[1]);
                control_reply_finish(req, 2);
                return;
        }
        if (since > newest) {
                control_reply_errorf(req, "no event %" PRIu64 " yet: the last is %" PRIu64
                                     " (a sequence number from an earlier daemon?)\n", since, newest);
                control_reply_finish(req, 1);
                return;
        }
        int n = event_log_count_since(log, since);
        if (n < 0) {
                control_reply_errorf(req, "events after %" PRIu64 " are no longer kept: the oldest kept is %" PRIu64 "\n",
                                     since, event_log_oldest(log));
                control_reply_finish(req, 1);
                return;
        }
        Peer *p = stream_topics(c, req, patterns, (unsigned) n);
        if (p && event_log_replay(log, since, replay_one, p) < 0)
                log_warning("Cannot replay the events after %" PRIu64 " to a client", since);
}

/* A call from outside the tree in flight: answered by the router, or abandoned by its client. */
typedef struct OutsideCall {
        Commands *commands;
        ControlRequest *req;
        uint64_t ref;
} OutsideCall;

static void on_call_answer(void *ud, int status, const void *data, size_t len) {
        OutsideCall *oc = ud;
        control_request_set_abandon(oc->req, NULL, NULL);
        if (status == 0) {
                control_reply_append(oc->req, data, len);
                control_reply_append(oc->req, "\n", 1);
        } else
                control_reply_errorf(oc->req, "%.*s\n", (int) len, (const char *) data);
        control_reply_finish(oc->req, status == 0 ? 0 : 1);
        free(oc);
}

static void on_call_abandoned(ControlRequest *req, void *ud) {
        OutsideCall *oc = ud;
        router_cancel(manager_router(oc->commands->manager), oc->ref);
        free(oc);
}

static void outside_call(Commands *c, ControlRequest *req, uint8_t kind, const char *name, const char *data,
                         const char *timeout) {
        char *end;
        unsigned long long ms = timeout[0] ? strtoull(timeout, &end, 10) : 0;
        if ((timeout[0] && *end) || ms > UINT32_MAX) {
                control_reply_errorf(req, "bad timeout '%s'\n", timeout);
                control_reply_finish(req, 2);
                return;
        }
        OutsideCall *oc = calloc(1, sizeof *oc);
        if (!oc) {
                control_reply_errorf(req, "out of memory\n");
                control_reply_finish(req, 1);
                return;
        }
        oc->commands = c;
        oc->req = req;
        control_request_set_abandon(req, on_call_abandoned, oc);
        int r = router_call(manager_router(c->manager), kind, name, data, strlen(data), (uint32_t) ms,
                            on_call_answer, oc, &oc->ref);
        if (r < 0) {
                control_request_set_abandon(req, NULL, NULL);
                free(oc);
                control_reply_errorf(req, "%s\n", r == -ESRCH ? "noproc: no process is registered under that name"
                                                   : r == -EAGAIN ? "mailbox full"
                                                   : r == -EMSGSIZE ? "message too long (more than 65536 bytes)"
                                                   : strerror(-r));
                control_reply_finish(req, 1);
        }
}

/* call NAME DATA TIMEOUT_MS */
static void cmd_call(Commands *c, ControlRequest *req, char **argv) {
        outside_call(c, req, PROTO_CALL, argv[1], argv[2], argv[3]);
}

/* get-state NAME TIMEOUT_MS */
static void cmd_get_state(Commands *c, ControlRequest *req, char **argv) {
        outside_call(c, req, PROTO_GET_STATE, argv[1], "", argv[2]);
}

typedef struct Command {
        const char *name;
        int min_args, max_args; /* not counting the name; -1 = no limit */
        bool mutates;           /* refused while shutting down */
        void (*run)(Commands *c, ControlRequest *req, char **argv);
} Command;

static const Command command_table[] = {
        { "status", 2, 2, false, cmd_status },
        { "tree", 0, 0, false, cmd_tree },
        { "info", 1, 1, false, cmd_info },
        { "start", 1, 1, true, cmd_start },
        { "stop", 1, 1, true, cmd_stop },
        { "restart", 1, 1, true, cmd_restart },
        { "start-child", 1, -1, true, cmd_start_child },
        { "terminate-child", 1, 1, true, cmd_terminate_child },
        { "wait", 3, 3, false, cmd_wait },
        { "shutdown", 0, 0, false, cmd_shutdown },
        { "reload", 0, 0, true, cmd_reload },
        { "whereis", 2, 2, false, cmd_whereis },
        { "registry", 1, 1, false, cmd_registry },
        { "send", 2, 2, false, cmd_send },
        { "call", 3, 3, false, cmd_call },
        { "get-state", 2, 2, false, cmd_get_state },
        { "publish", 2, 2, false, cmd_publish },
        { "subscribe", 1, -1, false, cmd_subscribe },
        { "events", 0, 1, false, cmd_events },
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
        free(c);
        return NULL;
}
