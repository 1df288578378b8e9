/* SPDX-License-Identifier: MIT */
#include "inspect.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cluster-view.h"
#include "exitdesc.h"
#include "json.h"
#include "macro.h"
#include "registry.h"
#include "strv.h"
#include "time-util.h"

static void reply_write(void *ud, const char *p, size_t n) {
        control_reply_append(ud, p, n);
}

static void json_string(ControlRequest *r, const char *s) {
        json_write_string(s, reply_write, r);
}

static void json_pid(ControlRequest *r, pid_t pid) {
        if (pid > 0)
                control_reply_printf(r, "%d", (int) pid);
        else
                control_reply_printf(r, "null");
}

static void json_string_or_null(ControlRequest *r, const char *s) {
        if (s)
                json_string(r, s);
        else
                control_reply_printf(r, "null");
}

static const char *node_kind(const Node *n) {
        return node_is_supervisor(n) ? "supervisor" : "worker";
}

bool inspect_has_uptime(const Node *n) {
        return n->state == NODE_RUNNING || n->state == NODE_STARTING || n->state == NODE_STOPPING;
}

/* ---- status ----------------------------------------------------------------------------- */

/* ", "mailbox": {...}" of a status --json row: the current incarnation's counters (they start
 * again from 0 when the process is restarted), or null when the node has no mailbox now
 * (a supervisor, a worker without a process). `forkvisor top` computes its rates from these. */
static void mailbox_json(ControlRequest *r, Node *n, Peer *peer) {
        MailboxStats st;

        if (!peer) {
                control_reply_printf(r, "null");
                return;
        }
        peer_get_stats(peer, &st);
        control_reply_printf(r, "{\"depth\": %u, \"limit\": %u, \"in\": %" PRIu64 ", \"out\": %" PRIu64
                             ", \"dropped\": %" PRIu64 "}", st.depth, n->spec->mailbox_limit, st.in, st.out, st.dropped);
}

/* ", "cpu_user_usec": N, "cpu_system_usec": N" of a worker: the CPU time of its running process
 * (with its cgroup, of everything in it) since its start; null without one. */
static void cpu_json(ControlRequest *r, bool known, uint64_t user, uint64_t system) {
        if (!known)
                control_reply_printf(r, ", \"cpu_user_usec\": null, \"cpu_system_usec\": null");
        else
                control_reply_printf(r, ", \"cpu_user_usec\": %" PRIu64 ", \"cpu_system_usec\": %" PRIu64, user,
                                     system);
}

/* ", "listen": ..." of a worker: null without sockets, else its addresses and whether it waits
 * for its first connection (listen_accept = lazy). */
static void listen_json(ControlRequest *r, const Node *n) {
        unsigned k = 0;
        if (!n->spec->listen) {
                control_reply_printf(r, ", \"listen\": null");
                return;
        }
        control_reply_printf(r, ", \"listen\": {\"addresses\": [");
        STRV_FOREACH(a, n->spec->listen) {
                control_reply_printf(r, "%s", k++ ? ", " : "");
                json_string(r, *a);
        }
        control_reply_printf(r, "], \"accept\": \"%s\", \"waiting\": %s}", n->spec->listen_lazy ? "lazy" : "eager",
                             node_is_waiting(n) ? "true" : "false");
}

/* "path", "kind", "state", "pid" and "restarts": what every JSON view says of a node first. */
static void identity_json(ControlRequest *r, Node *n) {
        control_reply_printf(r, "\"path\": ");
        json_string(r, n->path);
        control_reply_printf(r, ", \"kind\": \"%s\", \"state\": \"%s\", \"pid\": ", node_kind(n),
                             node_state_to_string(n->state));
        json_pid(r, n->pid);
        control_reply_printf(r, ", \"restarts\": %u", n->restarts);
}

/* The members a status --json row and info --json share, from "path" to "last_exit". */
static void common_json(ControlRequest *r, Node *n, usec_t now) {
        char last[96];
        control_reply_printf(r, "{");
        identity_json(r, n);
        control_reply_printf(r, ", \"uptime_ms\": ");
        if (inspect_has_uptime(n))
                control_reply_printf(r, "%" PRIu64, (now - n->started_at) / USEC_PER_MSEC);
        else
                control_reply_printf(r, "null");
        exit_describe(&(ExitHow) { n->exit_code, n->exit_status, n->exit_oom }, EXIT_STYLE_STATUS_JSON, last,
                      sizeof last);
        control_reply_printf(r, ", \"last_exit\": %s", last);
}

/* A worker's health: status' last column ("health: healthy", "unhealthy (3 failures)") and
 * info's line; nothing without `health`. */
static void health_text(ControlRequest *r, Node *n, const char *before, const char *after) {
        unsigned failures;
        const char *last;
        const char *state = manager_node_health(n, &failures, &last);
        if (!state)
                return;
        control_reply_printf(r, "%shealth: %s", before, state);
        if (failures > 0)
                control_reply_printf(r, " (%u failure%s)", failures, failures == 1 ? "" : "s");
        control_reply_printf(r, "%s", after);
}

/* "health": {"state": ..., "failures": N, "last": ...} or null without `health`. */
static void health_json(ControlRequest *r, Node *n) {
        unsigned failures;
        const char *last;
        const char *state = manager_node_health(n, &failures, &last);
        control_reply_printf(r, ", \"health\": ");
        if (!state) {
                control_reply_printf(r, "null");
                return;
        }
        control_reply_printf(r, "{\"state\": \"%s\", \"failures\": %u, \"last\": ", state, failures);
        json_string_or_null(r, last[0] ? last : NULL);
        control_reply_printf(r, "}");
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

        if (!x->json) {
                char pid[16] = "-";
                if (n->pid > 0)
                        snprintf(pid, sizeof pid, "%d", (int) n->pid);
                else if (node_is_waiting(n))
                        snprintf(pid, sizeof pid, "listen"); /* up, waiting for its first connection */
                if (inspect_has_uptime(n))
                        format_duration(x->now - n->started_at, up, sizeof up);
                exit_describe(&(ExitHow) { n->exit_code, n->exit_status, n->exit_oom }, EXIT_STYLE_STATUS, last,
                              sizeof last);
                control_reply_printf(x->req, "%-32s %-10s %-10s %-8s %8u %10s  %s", n->path, node_kind(n),
                                     node_state_to_string(n->state), pid, n->restarts, up, last);
                health_text(x->req, n, " ", "");
                control_reply_printf(x->req, "\n");
                return;
        }
        control_reply_printf(x->req, "%s\n  ", x->first ? "" : ",");
        x->first = false;
        common_json(x->req, n, x->now);
        control_reply_printf(x->req, ", \"mailbox\": ");
        mailbox_json(x->req, n, manager_node_peer(n));
        if (!node_is_supervisor(n)) {
                uint64_t user = 0, system = 0;
                bool known = manager_node_cpu_usec(n, &user, &system) >= 0;
                cpu_json(x->req, known, user, system);
                health_json(x->req, n);
                listen_json(x->req, n);
        }
        control_reply_printf(x->req, "}");
}

void inspect_status(ControlRequest *req, Node *n, bool json, uint64_t seq, const Cluster *cluster) {
        StatusCtx x = { .req = req, .json = json, .first = true, .now = now_usec() };
        if (x.json)
                control_reply_printf(req, "{\"seq\": %" PRIu64 ", \"processes\": [", seq);
        else
                control_reply_printf(req, "%-32s %-10s %-10s %-8s %8s %10s  %s\n", "PATH", "KIND", "STATE", "PID",
                                     "RESTARTS", "UPTIME", "LAST-EXIT");
        tree_walk(n, status_row, &x);
        if (!x.json)
                return;
        /* The node's cluster (forkvisor-cluster(7)), null without [cluster]. */
        control_reply_printf(req, "\n], \"cluster\": ");
        cluster_view_json(req, cluster);
        control_reply_printf(req, "}\n");
}

/* ---- tree ------------------------------------------------------------------------------- */

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

/* {"name", "path", "kind", "state", "pid", "restarts"} and, for a supervisor, "strategy" and
 * "children" (nested the same way). Indented two spaces a level, one member list per line. */
static void tree_json(ControlRequest *req, Node *n, unsigned depth) {
        control_reply_printf(req, "%*s{\"name\": ", (int) depth * 2, "");
        json_string(req, n->name);
        control_reply_printf(req, ", ");
        identity_json(req, n);
        if (!node_is_supervisor(n)) {
                control_reply_printf(req, "}");
                return;
        }
        control_reply_printf(req, ", \"strategy\": \"%s\", \"children\": [", strategy_to_string(n->spec->strategy));
        for (size_t i = 0; i < n->n_children; i++) {
                control_reply_printf(req, "%s\n", i ? "," : "");
                tree_json(req, n->children[i], depth + 1);
        }
        if (n->n_children > 0)
                control_reply_printf(req, "\n%*s", (int) depth * 2, "");
        control_reply_printf(req, "]}");
}

void inspect_tree(ControlRequest *req, Node *root, bool json) {
        if (json) {
                tree_json(req, root, 0);
                control_reply_printf(req, "\n");
                return;
        }
        TreeCtx x = { .req = req };
        tree_draw(&x, root, 0, true, true);
}

/* ---- info ------------------------------------------------------------------------------- */

/* The facts of `info`, gathered once and written as text or JSON. */
typedef struct Info {
        Node *n;
        char uptime[32];          /* "-" without one */
        char last[64];            /* the LAST-EXIT column of status */
        long rss_kb;              /* -1: unknown */
        bool cpu;                 /* cpu_user_usec and cpu_system_usec are known */
        uint64_t cpu_user_usec, cpu_system_usec;
        const char *command, *status;
        Peer *peer;
        MailboxStats mailbox;
} Info;

long inspect_rss_kb(pid_t pid) {
        char p[64], line[256];
        long kb = -1;
        snprintf(p, sizeof p, "/proc/%d/status", (int) pid);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        while (f && fgets(line, sizeof line, f))
                if (strncmp(line, "VmRSS:", 6) == 0 && sscanf(line + 6, "%ld", &kb) != 1)
                        kb = -1;
        return kb;
}

static void info_gather(Info *i, Manager *m, Node *n) {
        ExitHow how = { n->exit_code, n->exit_status, n->exit_oom };
        usec_t now = now_usec();

        *i = (Info) { .n = n, .uptime = "-", .rss_kb = -1 };
        if (inspect_has_uptime(n)) {
                format_duration(now - n->started_at, i->uptime, sizeof i->uptime);
        }
        exit_describe(&how, EXIT_STYLE_STATUS, i->last, sizeof i->last);
        if (node_is_supervisor(n))
                return;
        if (n->pid > 0)
                i->rss_kb = inspect_rss_kb(n->pid);
        i->cpu = manager_node_cpu_usec(n, &i->cpu_user_usec, &i->cpu_system_usec) >= 0;
        i->command = manager_node_argv0(n);
        i->status = manager_node_status(n);
        i->peer = manager_node_peer(n);
        if (i->peer)
                peer_get_stats(i->peer, &i->mailbox);
}

typedef struct NamesCtx {
        ControlRequest *req;
        pid_t pid;
        bool json;
        unsigned n;
} NamesCtx;

/* One registry entry of the process: "a, +group" as text, ["a", "+group"] as JSON ("+" before
 * a duplicate key). */
static void name_of_pid(const RegistryEntry *e, void *ud) {
        NamesCtx *x = ud;
        if (e->pid != x->pid || (e->flags & REGISTRY_REMOTE))
                return; /* another node's process of the same pid */
        const char *sep = x->n++ ? ", " : "";
        const char *plus = e->flags & REGISTRY_DUPLICATE ? "+" : "";
        if (!x->json) {
                control_reply_printf(x->req, "%s%s%s", x->n == 1 ? "names: " : sep, plus, e->name);
                return;
        }
        char name[sizeof e->name + 1];
        snprintf(name, sizeof name, "%s%s", plus, e->name);
        control_reply_printf(x->req, "%s", sep);
        json_string(x->req, name);
}

/* What it holds now, configured and registered at run time; else what it will hold when it
 * starts. Returns how many were written. */
static unsigned info_names(ControlRequest *req, Manager *m, Node *n, bool json) {
        NamesCtx x = { .req = req, .pid = n->pid, .json = json };
        if (n->pid > 0)
                (void) registry_list(manager_registry(m), name_of_pid, &x);
        if (x.n == 0 && n->reg_name && n->pid <= 0) {
                if (json)
                        json_string(req, n->reg_name);
                else
                        control_reply_printf(req, "names: %s", n->reg_name);
                x.n = 1;
        }
        return x.n;
}

static void info_text(ControlRequest *req, Manager *m, const Info *i) {
        Node *n = i->n;
        control_reply_printf(req, "path: %s\nkind: %s\nstate: %s\n", n->path, node_kind(n),
                             node_state_to_string(n->state));
        if (n->pid > 0)
                control_reply_printf(req, "pid: %d\n", (int) n->pid);
        if (node_hook_to_string(n->hook)) /* the pid is its pre_start's or post_stop's */
                control_reply_printf(req, "running: %s\n", node_hook_to_string(n->hook));
        control_reply_printf(req, "restarts: %u\nuptime: %s\nlast exit: %s\n", n->restarts, i->uptime, i->last);
        if (node_reason_to_string(n->exit_reason))
                control_reply_printf(req, "exit reason: %s\n", node_reason_to_string(n->exit_reason));
        if (node_is_supervisor(n)) {
                control_reply_printf(req, "strategy: %s\nintensity: %u in %" PRIu64 " ms\nchildren: %zu\n",
                                     strategy_to_string(n->spec->strategy), n->spec->intensity, n->spec->period_ms,
                                     n->n_children);
        } else {
                if (i->rss_kb >= 0)
                        control_reply_printf(req, "memory: %ld kB\n", i->rss_kb);
                if (i->cpu)
                        control_reply_printf(req, "cpu: %" PRIu64 ".%03" PRIu64 " s user, %" PRIu64 ".%03" PRIu64
                                             " s system\n", i->cpu_user_usec / USEC_PER_SEC,
                                             i->cpu_user_usec % USEC_PER_SEC / USEC_PER_MSEC,
                                             i->cpu_system_usec / USEC_PER_SEC,
                                             i->cpu_system_usec % USEC_PER_SEC / USEC_PER_MSEC);
                control_reply_printf(req, "restart: %s\nready: %s\n", restart_type_to_string(n->spec->restart),
                                     ready_mode_to_string(n->spec->ready));
                if (n->spec->watchdog_ms > 0)
                        control_reply_printf(req, "watchdog: %" PRIu64 " ms\n", n->spec->watchdog_ms);
                if (n->spec->listen) {
                        control_reply_printf(req, "listen:");
                        STRV_FOREACH(a, n->spec->listen)
                                control_reply_printf(req, " %s", *a);
                        control_reply_printf(req, "%s\n", node_is_waiting(n) ? " (listening: started at the first connection)" : "");
                }
                if (i->command)
                        control_reply_printf(req, "command: %s\n", i->command);
                if (info_names(req, m, n, false) > 0)
                        control_reply_printf(req, "\n");
                if (i->peer) {
                        control_reply_printf(req, "mailbox depth: %u of %u\nmessages in: %" PRIu64 "\n"
                                             "messages out: %" PRIu64 "\nmessages dropped: %" PRIu64 "\n",
                                             i->mailbox.depth, n->spec->mailbox_limit, i->mailbox.in,
                                             i->mailbox.out, i->mailbox.dropped);
                        char *const *topics = peer_subscriptions(i->peer);
                        if (topics && *topics) {
                                control_reply_printf(req, "subscriptions:");
                                STRV_FOREACH(t, topics)
                                        control_reply_printf(req, " %s", *t);
                                control_reply_printf(req, "\npublications dropped: %" PRIu64 "\n",
                                                     peer_publications_dropped(i->peer));
                        }
                }
                if (i->status)
                        control_reply_printf(req, "status: %s\n", i->status);
                health_text(req, n, "", "\n");
                unsigned failures;
                const char *last;
                if (manager_node_health(n, &failures, &last) && last[0])
                        control_reply_printf(req, "last health check: %s\n", last);
        }
        if (n->reason[0])
                control_reply_printf(req, "reason: %s\n", n->reason);
}

/* The members of status --json's row first, with the same names; then what only info has.
 * A member whose value is not known is null; one that does not apply to the kind is absent. */
/* The members of status --json's row first, with the same names; then what only info has.
 * A member whose value is not known is null; one that does not apply to the kind is absent. */
static void info_json(ControlRequest *req, Manager *m, const Info *i) {
        Node *n = i->n;
        common_json(req, n, now_usec());
        control_reply_printf(req, ", \"exit_reason\": ");
        json_string_or_null(req, node_reason_to_string(n->exit_reason));
        if (node_is_supervisor(n)) {
                control_reply_printf(req, ", \"strategy\": \"%s\", \"intensity\": %u, \"period_ms\": %" PRIu64
                                     ", \"children\": %zu", strategy_to_string(n->spec->strategy),
                                     n->spec->intensity, n->spec->period_ms, n->n_children);
        } else {
                control_reply_printf(req, ", \"mailbox\": ");
                mailbox_json(req, n, i->peer);
                control_reply_printf(req, ", \"memory_kb\": ");
                if (i->rss_kb >= 0)
                        control_reply_printf(req, "%ld", i->rss_kb);
                else
                        control_reply_printf(req, "null");
                cpu_json(req, i->cpu, i->cpu_user_usec, i->cpu_system_usec);
                health_json(req, n);
                listen_json(req, n);
                control_reply_printf(req, ", \"restart\": \"%s\", \"ready\": \"%s\", \"watchdog_ms\": %" PRIu64
                                     ", \"command\": ", restart_type_to_string(n->spec->restart),
                                     ready_mode_to_string(n->spec->ready), n->spec->watchdog_ms);
                json_string_or_null(req, i->command);
                control_reply_printf(req, ", \"names\": [");
                (void) info_names(req, m, n, true);
                control_reply_printf(req, "], \"subscriptions\": [");
                char *const *topics = i->peer ? peer_subscriptions(i->peer) : NULL;
                unsigned k = 0;
                STRV_FOREACH(t, topics) {
                        control_reply_printf(req, "%s", k++ ? ", " : "");
                        json_string(req, *t);
                }
                control_reply_printf(req, "], \"publications_dropped\": %" PRIu64 ", \"status\": ",
                                     i->peer ? peer_publications_dropped(i->peer) : 0);
                json_string_or_null(req, i->status);
        }
        control_reply_printf(req, ", \"detail\": ");
        json_string_or_null(req, n->reason[0] ? n->reason : NULL);
        control_reply_printf(req, "}\n");
}

void inspect_info(ControlRequest *req, Manager *m, Node *n, bool json) {
        Info i;
        info_gather(&i, m, n);
        if (json)
                info_json(req, m, &i);
        else
                info_text(req, m, &i);
}
