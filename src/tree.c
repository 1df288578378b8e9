/* SPDX-License-Identifier: MIT */
/* OTP supervision as state machines: the nodes, their one transition function and timer, the
 * workers, and the tree's entry points (operator requests, reload's primitives). A node reports
 * to its parent with one of four reports (up, start failed, down after a requested stop, exited
 * on its own); what a supervisor does with them is supervisor.c. No system calls here:
 * everything goes through TreeOps. */
#include "tree-internal.h"

/* Every switch over a state, an event or a policy names every value: a new one is handled
 * everywhere or the build fails. */
#pragma GCC diagnostic error "-Wswitch-enum"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "array.h"
#include "exitdesc.h"
#include "macro.h"
#include "strv.h"


static const char *const node_state_table[_NODE_STATE_MAX] = {
        [NODE_STOPPED] = "stopped",     [NODE_STARTING] = "starting",
        [NODE_RUNNING] = "running",     [NODE_STOPPING] = "stopping",
        [NODE_RESTARTING] = "restarting", [NODE_FAILED] = "failed",
        [NODE_EXITED] = "exited",
};

const char *node_state_to_string(NodeState s) {
        return s >= 0 && s < _NODE_STATE_MAX ? node_state_table[s] : NULL;
}

NodeState node_state_from_string(const char *s) {
        for (int i = 0; i < _NODE_STATE_MAX; i++)
                if (strcmp(node_state_table[i], s) == 0)
                        return (NodeState) i;
        return _NODE_STATE_INVALID;
}

static const char *const node_reason_table[_NODE_REASON_MAX] = {
        [NODE_REASON_NONE] = NULL,              [NODE_REASON_CRASH] = "crash",
        [NODE_REASON_NORMAL] = "normal",        [NODE_REASON_OOM] = "oom",
        [NODE_REASON_OPERATOR] = "operator",    [NODE_REASON_RELOAD] = "reload",
        [NODE_REASON_SHUTDOWN] = "shutdown",    [NODE_REASON_SIBLING] = "sibling",
        [NODE_REASON_TIMEOUT] = "timeout",      [NODE_REASON_START_FAILED] = "start_failed",
        [NODE_REASON_GAVE_UP] = "gave_up",      [NODE_REASON_MAILBOX] = "mailbox",
        [NODE_REASON_WATCHDOG] = "watchdog",
        [NODE_REASON_UNHEALTHY] = "unhealthy",
};

const char *node_reason_to_string(NodeReason r) {
        return r >= 0 && r < _NODE_REASON_MAX ? node_reason_table[r] : NULL;
}

/* The tree is about to stop n (or signal it) for why: recorded before the signal goes, so its
 * exit is read as ours. The first reason stands until the node starts again (a shutdown that
 * finds it already on its way down for the operator does not rewrite why it went). */
void node_note_stop(Node *n, NodeReason why) {
        if (n->stop_reason == NODE_REASON_NONE)
                n->stop_reason = why;
}

bool node_is_supervisor(const Node *n) {
        return n->spec->kind == SPEC_SUPERVISOR;
}

bool node_is_held(const Node *n) {
        return n->intent == NODE_INTENT_HOLD || n->intent == NODE_INTENT_REMOVE;
}

bool node_is_down(const Node *n) {
        return n->state == NODE_STOPPED || n->state == NODE_FAILED || n->state == NODE_RESTARTING ||
               n->state == NODE_EXITED;
}

bool node_is_up(const Node *n) {
        return n->state == NODE_RUNNING || n->state == NODE_EXITED;
}

usec_t tree_now(Tree *t) {
        return t->ops->now(t->ud);
}

void node_emit(Node *n, TreeEvent ev) {
        n->tree->ops->event(n->tree->ud, n, ev);
}

/* Arms the node's one timer for one purpose (at: CLOCK_MONOTONIC usec). */
static void set_timer(Node *n, NodeTimer kind, usec_t at) {
        assert(kind != NODE_TIMER_NONE);
        n->timer = kind;
        n->timer_at = at;
        n->tree->ops->set_timer(n->tree->ud, n, at);
}

static void timer_off(Node *n) {
        if (n->timer == NODE_TIMER_NONE)
                return;
        n->timer = NODE_TIMER_NONE;
        n->tree->ops->set_timer(n->tree->ud, n, 0);
}

/* The transitions a node may take; anything else is a bug in this file. */
static bool transition_allowed(NodeState from, NodeState to) {
        switch (from) {
        case NODE_STOPPED:
                return to == NODE_STARTING || to == NODE_FAILED || to == NODE_RESTARTING;
        case NODE_STARTING:
                return to == NODE_RUNNING || to == NODE_STOPPING || to == NODE_FAILED || to == NODE_EXITED;
        case NODE_RUNNING:
                return to == NODE_STOPPED || to == NODE_STOPPING;
        case NODE_STOPPING:
                return to == NODE_STOPPED || to == NODE_FAILED || to == NODE_EXITED; /* post_stop done */
        case NODE_RESTARTING:
                return to == NODE_STOPPED;
        case NODE_FAILED:
                return to == NODE_STARTING || to == NODE_RESTARTING || to == NODE_STOPPED;
        case NODE_EXITED:
                return to == NODE_STARTING;
        case _NODE_STATE_MAX:
        case _NODE_STATE_INVALID:
        default:
                return false;
        }
}

/* The one way a node changes state: what the old state had armed is disarmed (its timer), the
 * change is checked and announced once. What the new state needs (a timer) is armed after. */
void node_enter(Node *n, NodeState s) {
        if (n->state == s)
                return;
        assert(transition_allowed(n->state, s));
        timer_off(n);
        n->state = s;
        if (s == NODE_RUNNING)
                n->new_instance = false; /* up once: from now on an ordinary child */
        node_emit(n, TREE_EVENT_STATE);
}

void node_set_reason(Node *n, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(n->reason, sizeof n->reason, fmt, ap);
        va_end(ap);
}

/* A start to try again from the node's timer, after `delay` (restart_delay, or 0 after a
 * failed start): a start that keeps failing costs one loop pass each time and ends when
 * intensity is reached, never in a deep recursion. */
void node_schedule_retry(Node *n, usec_t delay) {
        assert(n->state == NODE_RESTARTING || n->state == NODE_FAILED);
        set_timer(n, NODE_TIMER_RETRY, tree_now(n->tree) + delay);
}

/* Drops a scheduled restart: the node is simply stopped. */
static void node_cancel_retry(Node *n) {
        node_enter(n, NODE_STOPPED);
}

/* How a node tells its parent (or, at the root, the tree) what happened. Inside node_start() or
 * node_stop() of that same node the answer is its return value instead, so a job never
 * re-enters itself. */
void node_report(Node *n, Report rep) {
        if (n->sync != REPORT_NONE) {
                n->sync = rep;
                return;
        }
        if (n->parent) {
                parent_on_child(n->parent, n, rep);
                return;
        }

        Tree *t = n->tree;
        if (rep == REPORT_UP || t->finished)
                return;
        t->finished = true;
        t->ops->finished(t->ud, rep == REPORT_DOWN || rep == REPORT_EXIT_NORMAL ? 0 : 1);
}

ssize_t sup_child_index(const Node *s, const Node *c) {
        for (size_t i = 0; i < s->n_children; i++)
                if (s->children[i] == c)
                        return (ssize_t) i;
        return -1;
}


/* ---- nodes ------------------------------------------------------------------------------ */


/* The registry name of a node made from spec: dynamic children get "NAME.N"; a duplicate key
 * ("+key") is shared as it is. NULL for a supervisor or `register = none`. */
static int make_reg_name(const Spec *spec, int instance, char **ret) {
        *ret = NULL;
        if (spec->kind != SPEC_WORKER || !spec->register_name)
                return 0;
        bool own = instance >= 0 && spec->register_name[0] != '+';
        int r = own ? asprintf(ret, "%s.%d", spec->register_name, instance) : asprintf(ret, "%s", spec->register_name);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

int node_new(Tree *t, const Spec *spec, Node *parent, const char *name, int instance, Node **ret) {
        Node *n = calloc(1, sizeof *n);
        if (!n)
                return -ENOMEM;
        n->tree = t;
        n->spec = spec;
        n->parent = parent;
        n->instance = instance;
        n->state = NODE_STOPPED;
        n->name = strdup(name);
        if (parent) {
                if (asprintf(&n->path, "%s/%s", parent->path, name) < 0)
                        n->path = NULL;
        } else
                n->path = strdup(name);
        if (!n->name || !n->path) {
                node_free(n);
                return -ENOMEM;
        }
        if (make_reg_name(spec, instance, &n->reg_name) < 0) {
                node_free(n);
                return -ENOMEM;
        }
        if (t->ops->attach) {
                int r = t->ops->attach(t->ud, n);
                if (r < 0) {
                        node_free(n);
                        return r;
                }
        }
        *ret = n;
        return 0;
}

Node *node_free(Node *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n_children; i++)
                node_free(n->children[i]);
        if (n->tree && n->tree->ops->release)
                n->tree->ops->release(n->tree->ud, n);
        free(n->children);
        free(n->restarts_at);
        strv_free(n->extra_args);
        free(n->reg_name);
        free(n->path);
        free(n->name);
        return mfree(n);
}

int sup_append_child(Node *s, Node *c) {
        if (ARRAY_GROW(s->children, s->cap_children, s->n_children + 1) < 0)
                return -ENOMEM;
        s->children[s->n_children++] = c;
        return 0;
}

void sup_remove_child(Node *s, Node *c) {
        ssize_t i = sup_child_index(s, c);
        assert(i >= 0);
        memmove(s->children + i, s->children + i + 1, (s->n_children - (size_t) i - 1) * sizeof(Node *));
        s->n_children--;
        if (s->cursor > (size_t) i)
                s->cursor--;
        node_free(c);
        /* The children changed: observers (terminate-child's waiter) look again. */
        node_emit(s, TREE_EVENT_STATE);
}

static int build(Tree *t, const Spec *spec, Node *parent, Node **ret) {
        Node *n;
        int r = node_new(t, spec, parent, spec->name, -1, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < spec->n_children && spec->kind == SPEC_SUPERVISOR; i++) {
                Node *c;
                r = build(t, spec->children[i], n, &c);
                if (r >= 0 && (r = sup_append_child(n, c)) < 0)
                        node_free(c);
                if (r < 0) {
                        node_free(n);
                        return r;
                }
        }
        n->next_instance = 1;
        n->instances = spec->instances;
        *ret = n;
        return 0;
}

int tree_new(const Config *config, const TreeOps *ops, void *ud, Tree **ret) {
        Tree *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->ops = ops;
        t->ud = ud;
        int r = build(t, config->root, NULL, &t->root);
        if (r < 0) {
                tree_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

Tree *tree_free(Tree *t) {
        if (!t)
                return NULL;
        node_free(t->root);
        return mfree(t);
}

/* ---- workers ---------------------------------------------------------------------------- */

bool node_exited_normally(const Node *n) {
        if (n->exit_code != CLD_EXITED)
                return false;
        for (size_t i = 0; i < n->spec->n_normal_exit; i++)
                if (n->spec->normal_exit[i] == n->exit_status)
                        return true;
        return false;
}

/* A STARTING worker is up: ready, and alive for min_uptime. The caller reports it. */
static void worker_up(Node *n) {
        node_enter(n, NODE_RUNNING);
        node_emit(n, TREE_EVENT_READY);
}

/* The last attempt to run n failed before anything ran (r: why); the caller enters FAILED. */
static void worker_not_run(Node *n, int r) {
        if (!n->reason[0])
                node_set_reason(n, "failed to spawn: %s", strerror(-r));
        n->exit_code = NODE_EXIT_START_FAILED;
        n->exit_status = -r;
        n->exit_oom = false;
        n->exit_reason = NODE_REASON_START_FAILED;
}

/* Spawns the worker's own process: 1 up now, 0 starting, -errno not run (n->reason says why;
 * the caller enters FAILED). */
static int worker_spawn(Node *n) {
        Tree *t = n->tree;
        pid_t pid = 0;
        bool ready = false;

        int r = t->ops->spawn(t->ud, n, &pid, &ready);
        if (r < 0) {
                worker_not_run(n, r);
                return r;
        }
        if (pid == 0) {
                /* Waits for its first connection (listen_accept = lazy): up for its supervisor,
                 * as systemd counts a socket-activated service's socket as started. */
                n->pid = 0;
                n->started_at = tree_now(t);
                node_enter(n, NODE_STARTING);
                worker_up(n);
                return 1;
        }
        n->pid = pid;
        n->started_at = tree_now(t);
        n->ready_seen = ready || n->spec->ready == READY_NONE;
        /* Observers of STARTED see a process that is starting, not the state it came from. */
        node_enter(n, NODE_STARTING);
        node_emit(n, TREE_EVENT_STARTED);
        if (n->spec->min_uptime_ms > 0) {
                /* It has started only once it has lived min_uptime, ready or not (supervisord's
                 * startsecs): an exit before is a failed start. The ready_timeout, longer
                 * (validate.c), is armed when this timer fires if it is not ready by then. */
                set_timer(n, NODE_TIMER_MIN_UPTIME, n->started_at + msec_to_usec(n->spec->min_uptime_ms));
                return 0;
        }
        if (n->ready_seen) {
                worker_up(n);
                return 1;
        }
        if (n->spec->ready_timeout_ms > 0)
                set_timer(n, NODE_TIMER_READY, n->started_at + msec_to_usec(n->spec->ready_timeout_ms));
        return 0;
}

/* ---- pre_start and post_stop ------------------------------------------------------------- */

static const char *const node_hook_table[_NODE_HOOK_MAX] = {
        [NODE_HOOK_NONE] = NULL,
        [NODE_HOOK_PRE_START] = "pre_start",
        [NODE_HOOK_POST_STOP] = "post_stop",
        [NODE_HOOK_HEALTH] = "health",
};

const char *node_hook_to_string(NodeHook h) {
        return h >= 0 && h < _NODE_HOOK_MAX ? node_hook_table[h] : NULL;
}

/* A hook may run for the worker's shutdown time, then it is killed (systemd bounds
 * ExecStartPre= and ExecStopPost= by TimeoutStartSec= and TimeoutStopSec=). brutal_kill would
 * leave it no time at all: it has the default shutdown time then. 0: no limit. */
uint64_t node_hook_limit_ms(const Node *n) {
        uint64_t ms = n->spec->shutdown_ms;
        if (ms == SHUTDOWN_INFINITY)
                return 0;
        return ms == SHUTDOWN_BRUTAL_KILL ? 5000 : ms;
}

static usec_t hook_limit(const Node *n) {
        return msec_to_usec(node_hook_limit_ms(n));
}

/* Starts hook h of n, which is in the state the hook runs in (STARTING, STOPPING): 0 (its exit
 * comes through tree_handle_exit) or -errno. */
static int hook_run(Node *n, NodeHook h) {
        Tree *t = n->tree;
        pid_t pid = 0;

        if (!t->ops->spawn_hook)
                return -EOPNOTSUPP;
        int r = t->ops->spawn_hook(t->ud, n, h, &pid);
        if (r < 0)
                return r;
        n->pid = pid;
        n->hook = h;
        n->hook_timed_out = false;
        node_emit(n, TREE_EVENT_HOOK_STARTED);
        usec_t limit = hook_limit(n);
        if (limit > 0)
                set_timer(n, NODE_TIMER_HOOK, tree_now(t) + limit);
        return 0;
}

/* What a worker that is down tells its parent, once nothing of it runs any more. */
static void worker_apply(Node *n, Report rep) {
        switch (rep) {
        case REPORT_UP:
                /* A one-shot is done. Told to stop while its post_stop ran: down for that stop. */
                node_enter(n, NODE_EXITED);
                node_emit(n, TREE_EVENT_READY);
                if (n->stop_reason != NODE_REASON_NONE)
                        rep = REPORT_DOWN;
                break;
        case REPORT_START_FAILED:
                node_enter(n, NODE_FAILED);
                node_emit(n, TREE_EVENT_START_FAILED);
                break;
        case REPORT_DOWN:
                node_enter(n, NODE_STOPPED);
                node_emit(n, TREE_EVENT_STOPPED);
                break;
        case REPORT_EXIT_NORMAL:
        case REPORT_EXIT_ABNORMAL:
                node_enter(n, NODE_STOPPED);
                break;
        case REPORT_NONE:
        case REPORT_PENDING:
        default:
                assert_not_reached();
        }
        node_report(n, rep);
}

/* The worker's process (or its pre_start) has ended, and rep is what that means for its parent:
 * its post_stop runs first (the worker STOPPING meanwhile), whatever ended and however. One that
 * cannot be run is logged (a hook exit with NODE_EXIT_START_FAILED) and changes nothing else. */
static void worker_finish(Node *n, Report rep) {
        if (n->spec->post_stop) {
                char reason[sizeof n->reason];
                if (n->state != NODE_STOPPING)
                        node_enter(n, NODE_STOPPING);
                n->after_hook = rep;
                memcpy(reason, n->reason, sizeof reason);
                int r = hook_run(n, NODE_HOOK_POST_STOP);
                if (r >= 0)
                        return;
                /* The worker's end is still why it went down, not what stopped its post_stop. */
                memcpy(n->reason, reason, sizeof reason);
                n->after_hook = REPORT_NONE;
                n->hook = NODE_HOOK_POST_STOP;
                n->hook_code = NODE_EXIT_START_FAILED;
                n->hook_status = -r;
                node_emit(n, TREE_EVENT_HOOK_EXITED);
                n->hook = NODE_HOOK_NONE;
        }
        worker_apply(n, rep);
}

/* "cmd arg ..." of a hook, for the log and the reason (cut to size). */
static void command_text(char *const *words, char *buf, size_t size) {
        size_t len = 0;
        buf[0] = '\0';
        for (size_t i = 0; words && words[i] && len < size; i++)
                len += (size_t) snprintf(buf + len, size - len, "%s%s", i ? " " : "", words[i]);
}

/* A hook's process ended (the reaper found n->pid with n->hook set). */
static void hook_exited(Node *n, int code, int status) {
        NodeHook h = n->hook;
        char how[64], cmd[128];

        timer_off(n);
        n->hook_code = code;
        n->hook_status = status;
        node_emit(n, TREE_EVENT_HOOK_EXITED); /* observers still see its pid */
        n->hook = NODE_HOOK_NONE;
        n->pid = 0;

        if (h == NODE_HOOK_POST_STOP) {
                Report rep = n->after_hook;
                n->after_hook = REPORT_NONE;
                worker_apply(n, rep);
                return;
        }

        assert(h == NODE_HOOK_PRE_START);
        if (n->state == NODE_STOPPING) {
                /* Stopped while its pre_start ran: down, its own process never started. */
                n->exit_reason = n->stop_reason;
                worker_finish(n, REPORT_DOWN);
                return;
        }
        assert(n->state == NODE_STARTING);
        if (code != CLD_EXITED || status != 0) {
                command_text(n->spec->pre_start, cmd, sizeof cmd);
                if (n->hook_timed_out)
                        snprintf(how, sizeof how, "did not end within %llu ms",
                                 (unsigned long long) node_hook_limit_ms(n));
                else {
                        char what[48];
                        exit_describe(&(ExitHow) { code, status, false }, EXIT_STYLE_REASON, what, sizeof what);
                        snprintf(how, sizeof how, "failed (%s)", what);
                }
                node_set_reason(n, "pre_start '%s' %s", cmd, how);
                n->exit_code = code;
                n->exit_status = status;
                n->exit_oom = false;
                n->exit_reason = NODE_REASON_START_FAILED;
                worker_finish(n, REPORT_START_FAILED);
                return;
        }
        int r = worker_spawn(n);
        if (r < 0)
                worker_finish(n, REPORT_START_FAILED);
        else if (r > 0)
                node_report(n, REPORT_UP);
}

static int worker_start(Node *n) {
        n->reason[0] = '\0';
        n->signalled = NODE_SIGNALLED_NO;
        n->stop_reason = NODE_REASON_NONE;
        if (!n->spec->pre_start) {
                int r = worker_spawn(n);
                if (r < 0) {
                        node_enter(n, NODE_FAILED);
                        node_emit(n, TREE_EVENT_START_FAILED);
                }
                return r;
        }
        /* Starting from its pre_start on: a stop meanwhile stops the pre_start, and `start`
         * answers once the worker is up or has failed. */
        n->started_at = tree_now(n->tree);
        node_enter(n, NODE_STARTING);
        int r = hook_run(n, NODE_HOOK_PRE_START);
        if (r < 0) {
                if (!n->reason[0]) { /* else what child.c said (an env_file's line) */
                        char cmd[128];
                        command_text(n->spec->pre_start, cmd, sizeof cmd);
                        node_set_reason(n, "failed to run pre_start '%s': %s", cmd, strerror(-r));
                }
                worker_not_run(n, r);
                node_enter(n, NODE_FAILED);
                node_emit(n, TREE_EVENT_START_FAILED);
                return r;
        }
        return 0;
}

static void worker_send_stop(Node *n) {
        Tree *t = n->tree;
        bool group = n->spec->kill_group;

        n->signalled = NODE_SIGNALLED_STOP;
        if (n->spec->shutdown_ms == SHUTDOWN_BRUTAL_KILL) {
                t->ops->kill(t->ud, n, SIGKILL, group);
                return;
        }
        t->ops->kill(t->ud, n, n->spec->stop_signal, group);
        if (n->spec->stop_signal != SIGKILL)
                t->ops->kill(t->ud, n, SIGCONT, group);
        if (n->spec->shutdown_ms != SHUTDOWN_INFINITY)
                set_timer(n, NODE_TIMER_SHUTDOWN, tree_now(t) + msec_to_usec(n->spec->shutdown_ms));
}

static int worker_stop(Node *n, NodeReason why) {
        switch (n->state) {
        case NODE_STOPPED:
        case NODE_FAILED:
        case NODE_EXITED:
                return 1;
        case NODE_RESTARTING:
                node_cancel_retry(n);
                return 1;
        case NODE_STARTING:
        case NODE_RUNNING:
                node_note_stop(n, why);
                if (node_is_waiting(n)) {
                        /* Nothing runs: down at once, and nothing ran for a post_stop to follow. */
                        n->exit_reason = why;
                        node_enter(n, NODE_STOPPED);
                        node_emit(n, TREE_EVENT_STOPPED);
                        return 1;
                }
                node_enter(n, NODE_STOPPING);
                worker_send_stop(n);
                return 0;
        case NODE_STOPPING:
                /* Already on its way down: a start that timed out (from now on an ordinary
                 * stop, but it went for the timeout), or a second request. */
                node_note_stop(n, why);
                n->signalled = NODE_SIGNALLED_STOP;
                return 0;
        case _NODE_STATE_MAX:
        case _NODE_STATE_INVALID:
        default:
                assert_not_reached();
                return 1;
        }
}

/* A one-shot (ready = exit) whose process just ended while starting: its normal exit is its
 * readiness (systemd's Type=oneshot; SuccessExitStatus= is our normal_exit). */
static bool oneshot_done(const Node *n) {
        return n->spec->ready == READY_EXIT && n->state == NODE_STARTING && node_exited_normally(n);
}

/* Why the process that just ended did: what the tree asked of it, else how it ended. The OOM
 * killer is named whatever else was under way (as the log and status name it). */
static NodeReason worker_exit_reason(const Node *n) {
        if (n->exit_oom)
                return NODE_REASON_OOM;
        if (n->stop_reason != NODE_REASON_NONE)
                return n->stop_reason;
        if (n->signalled != NODE_SIGNALLED_NO)
                return NODE_REASON_SHUTDOWN; /* every stop names its reason; not reached */
        if (n->state == NODE_STARTING && !oneshot_done(n))
                return NODE_REASON_START_FAILED;
        return node_exited_normally(n) ? NODE_REASON_NORMAL : NODE_REASON_CRASH;
}

void tree_handle_exit(Tree *t, Node *n, int code, int status) {
        char how[64];

        assert(n->spec->kind == SPEC_WORKER);
        if (n->hook != NODE_HOOK_NONE) {
                hook_exited(n, code, status);
                return;
        }
        bool young = n->timer == NODE_TIMER_MIN_UPTIME; /* still within min_uptime */
        n->exit_code = code;
        n->exit_status = status;
        n->exit_reason = worker_exit_reason(n);
        n->exits[n->exit_reason]++;
        timer_off(n);
        node_emit(n, TREE_EVENT_EXITED); /* observers still see the pid that exited */
        n->pid = 0;
        if (n->next_spec)
                (void) tree_set_spec(n, n->next_spec); /* a replacement (reload): down now */
        exit_describe(&(ExitHow) { code, status, false }, EXIT_STYLE_REASON, how, sizeof how);

        switch (n->state) {
        case NODE_STARTING:
                if (oneshot_done(n)) {
                        /* Done: up for its supervisor's start order, and never restarted for
                         * this exit, whatever `restart` says (a restart type is about a process
                         * that ended; this one did what it was for). */
                        node_set_reason(n, "%s", how);
                        n->failures = 0;
                        worker_finish(n, REPORT_UP);
                        return;
                }
                if (n->spec->ready == READY_EXIT)
                        node_set_reason(n, "the one-shot failed (%s)", how);
                else if (young && n->ready_seen)
                        node_set_reason(n, "exited within min_uptime %llu ms (%s)",
                                        (unsigned long long) n->spec->min_uptime_ms, how);
                else
                        node_set_reason(n, "exited before it was ready (%s)", how);
                worker_finish(n, REPORT_START_FAILED);
                return;
        case NODE_STOPPING:
                if (n->signalled == NODE_SIGNALLED_WATCHDOG) {
                        /* Killed for its silence while running: a crash for its policy. */
                        n->failures++;
                        worker_finish(n, REPORT_EXIT_ABNORMAL);
                        return;
                }
                worker_finish(n, n->signalled == NODE_SIGNALLED_NOT_READY ? REPORT_START_FAILED : REPORT_DOWN);
                return;
        case NODE_RUNNING: {
                /* A signal we did not send is abnormal; so is an exit code not in normal_exit, and
                 * any end of a worker stopped for its health. */
                bool abnormal = !node_exited_normally(n) || n->exit_reason == NODE_REASON_UNHEALTHY;
                /* A run that lasted a whole period ends the backoff's doubling. */
                if (tree_now(t) - n->started_at >= msec_to_usec(n->parent ? n->parent->spec->period_ms : 0))
                        n->failures = 0;
                if (abnormal)
                        n->failures++;
                node_set_reason(n, "%s", how);
                worker_finish(n, abnormal ? REPORT_EXIT_ABNORMAL : REPORT_EXIT_NORMAL);
                return;
        }
        case NODE_STOPPED:
        case NODE_RESTARTING:
        case NODE_FAILED:
        case NODE_EXITED:
        case _NODE_STATE_MAX:
        case _NODE_STATE_INVALID:
        default:
                /* No process in these states: the pid index would not have found us. */
                assert_not_reached();
        }
}

bool node_is_waiting(const Node *n) {
        return n->spec->kind == SPEC_WORKER && n->state == NODE_RUNNING && n->pid == 0 &&
               n->hook == NODE_HOOK_NONE;
}

void tree_handle_activate(Tree *t, Node *n) {
        pid_t pid = 0;
        bool ready = false;

        if (!node_is_waiting(n))
                return;
        n->reason[0] = '\0';
        int r = t->ops->spawn(t->ud, n, &pid, &ready);
        if (r >= 0 && pid == 0)
                return; /* the connection went away before it was spawned: it waits on */
        if (r < 0) {
                /* As if it had crashed at once: its policy restarts it, to wait again. */
                worker_not_run(n, r);
                n->exits[n->exit_reason]++;
                n->failures++;
                worker_finish(n, REPORT_EXIT_ABNORMAL);
                return;
        }
        n->pid = pid;
        n->started_at = tree_now(t);
        node_emit(n, TREE_EVENT_STARTED);
}

void tree_handle_ready(Tree *t, Node *n) {
        if (n->state != NODE_STARTING || n->hook != NODE_HOOK_NONE)
                return; /* not the worker's own process (pre_start has the worker's NOTIFY_SOCKET) */
        if (n->timer == NODE_TIMER_MIN_UPTIME) {
                n->ready_seen = true; /* up when min_uptime is over */
                return;
        }
        worker_up(n);
        node_report(n, REPORT_UP);
}

/* why: for the workers not told to stop yet. */
static void kill_subtree(Node *n, NodeReason why) {
        if (!node_is_supervisor(n)) {
                if (n->pid > 0) {
                        node_note_stop(n, why);
                        if (n->signalled == NODE_SIGNALLED_NO)
                                n->signalled = NODE_SIGNALLED_STOP;
                        n->tree->ops->kill(n->tree->ud, n, SIGKILL, n->spec->kill_group);
                }
                return;
        }
        for (size_t i = 0; i < n->n_children; i++)
                kill_subtree(n->children[i], why);
}

void tree_kill_all(Tree *t) {
        kill_subtree(t->root, NODE_REASON_SHUTDOWN);
}

void tree_kill_worker(Tree *t, Node *n, NodeReason why) {
        if (node_is_supervisor(n) || n->pid <= 0)
                return;
        node_note_stop(n, why); /* not signalled: its supervisor restarts it as after a crash */
        t->ops->kill(t->ud, n, SIGKILL, n->spec->kill_group);
}

void tree_watchdog_worker(Tree *t, Node *n, const char *why) {
        if (node_is_supervisor(n) || n->pid <= 0 || n->hook != NODE_HOOK_NONE ||
            (n->state != NODE_STARTING && n->state != NODE_RUNNING))
                return; /* already on its way down, or not its own process */
        node_set_reason(n, "%s", why);
        node_note_stop(n, NODE_REASON_WATCHDOG);
        /* Not ready yet: its end is a failed start, as after a ready_timeout. */
        n->signalled = n->state == NODE_STARTING ? NODE_SIGNALLED_NOT_READY : NODE_SIGNALLED_WATCHDOG;
        node_enter(n, NODE_STOPPING);
        t->ops->kill(t->ud, n, n->spec->watchdog_signal, n->spec->kill_group);
        if (n->spec->watchdog_signal != SIGKILL)
                t->ops->kill(t->ud, n, SIGCONT, n->spec->kill_group);
        /* Its shutdown time, then SIGKILL (systemd's TimeoutAbortSec= defaults to TimeoutStopSec=). */
        if (n->spec->watchdog_signal != SIGKILL && n->spec->shutdown_ms != SHUTDOWN_INFINITY)
                set_timer(n, NODE_TIMER_SHUTDOWN, tree_now(t) + msec_to_usec(n->spec->shutdown_ms));
}

void tree_extend_ready(Tree *t, Node *n, usec_t at) {
        (void) t;
        /* Only the ready_timeout itself: min_uptime's timer arms it when it is over, from the
         * spawn, so an extension asked for before that is not kept (systemd's is not either
         * past the next state change). */
        if (n->state != NODE_STARTING || n->timer != NODE_TIMER_READY || n->hook != NODE_HOOK_NONE)
                return;
        if (at > n->timer_at)
                set_timer(n, NODE_TIMER_READY, at);
}

void tree_stop_unhealthy(Tree *t, Node *n) {
        if (node_is_supervisor(n) || n->pid <= 0 || n->hook != NODE_HOOK_NONE || n->state != NODE_RUNNING ||
            n->stop_reason != NODE_REASON_NONE)
                return;
        /* Not signalled and still RUNNING: its exit is read as its own, abnormal whatever its
         * status (tree_handle_exit), so its supervisor restarts it as after a crash. */
        node_note_stop(n, NODE_REASON_UNHEALTHY);
        if (n->spec->shutdown_ms == SHUTDOWN_BRUTAL_KILL) {
                t->ops->kill(t->ud, n, SIGKILL, n->spec->kill_group);
                return;
        }
        t->ops->kill(t->ud, n, n->spec->stop_signal, n->spec->kill_group);
        if (n->spec->stop_signal != SIGKILL)
                t->ops->kill(t->ud, n, SIGCONT, n->spec->kill_group);
        if (n->spec->shutdown_ms != SHUTDOWN_INFINITY)
                set_timer(n, NODE_TIMER_SHUTDOWN, tree_now(t) + msec_to_usec(n->spec->shutdown_ms));
}

void tree_handle_timer(Tree *t, Node *n) {
        NodeTimer kind = n->timer;
        n->timer = NODE_TIMER_NONE; /* it fired: one shot */
        switch (kind) {
        case NODE_TIMER_NONE:
                return;
        case NODE_TIMER_RETRY:
                assert(n->parent && (n->state == NODE_RESTARTING || n->state == NODE_FAILED));
                if (n->state == NODE_FAILED) {
                        /* A restart that failed: one more abnormal termination of this child,
                         * and one more consecutive failure for restart_delay's doubling (a
                         * program that cannot be executed backs off like one that crashes). */
                        n->failures++;
                        parent_on_child(n->parent, n, REPORT_EXIT_ABNORMAL);
                        return;
                }
                /* restart_delay is over. */
                node_enter(n, NODE_STOPPED);
                if (node_start(n) < 0)
                        node_schedule_retry(n, 0);
                return;
        case NODE_TIMER_READY:
                assert(n->state == NODE_STARTING && !node_is_supervisor(n));
                node_set_reason(n, "not ready within %llu ms", (unsigned long long) n->spec->ready_timeout_ms);
                node_note_stop(n, NODE_REASON_TIMEOUT);
                n->signalled = NODE_SIGNALLED_NOT_READY;
                t->ops->kill(t->ud, n, SIGKILL, n->spec->kill_group);
                node_enter(n, NODE_STOPPING);
                return;
        case NODE_TIMER_MIN_UPTIME:
                assert(n->state == NODE_STARTING && !node_is_supervisor(n));
                if (n->ready_seen) {
                        worker_up(n);
                        node_report(n, REPORT_UP);
                        return;
                }
                /* Alive long enough but not ready yet: the ready_timeout counts from the spawn. */
                if (n->spec->ready_timeout_ms > 0)
                        set_timer(n, NODE_TIMER_READY, n->started_at + msec_to_usec(n->spec->ready_timeout_ms));
                return;
        case NODE_TIMER_HOOK:
                /* Its pre_start or post_stop outlived the shutdown time: its exit says the rest. */
                assert(n->hook != NODE_HOOK_NONE);
                n->hook_timed_out = true;
                node_emit(n, TREE_EVENT_KILLING);
                t->ops->kill(t->ud, n, SIGKILL, n->spec->kill_group);
                return;
        case NODE_TIMER_SHUTDOWN:
                /* Its shutdown time since the stop ran out: SIGKILL it (a supervisor's whole
                 * subtree). A worker stopped for its health is still RUNNING. */
                assert(n->state == NODE_STOPPING || n->stop_reason == NODE_REASON_UNHEALTHY);
                node_emit(n, TREE_EVENT_KILLING);
                if (node_is_supervisor(n))
                        kill_subtree(n, sup_stop_reason(n));
                else
                        t->ops->kill(t->ud, n, SIGKILL, n->spec->kill_group);
                return;
        case _NODE_TIMER_MAX:
        default:
                assert_not_reached();
        }
}

/* ---- node start / stop with synchronous answers ----------------------------------------- */

/* 1: up now; 0: in progress (the report follows); < 0: failed now (n->reason says why). */
int node_start(Node *n) {
        if (!node_is_supervisor(n))
                return worker_start(n);

        n->n_restarts_at = n->first_restart_at = 0; /* a restarted supervisor counts afresh */
        if (n->spec->strategy == STRATEGY_SIMPLE_ONE_FOR_ONE) {
                /* Like a new OTP supervisor process: no dynamic child of the previous
                 * incarnation survives; the configured instances are made anew. */
                while (n->n_children > 0)
                        sup_remove_child(n, n->children[n->n_children - 1]);
                n->next_instance = 1;
                if (make_instances(n->tree, n) < 0) {
                        node_set_reason(n, "out of memory");
                        n->exit_reason = NODE_REASON_START_FAILED;
                        node_enter(n, NODE_FAILED);
                        return -ENOMEM;
                }
        }
        n->reason[0] = '\0';
        n->stop_reason = NODE_REASON_NONE;
        n->sync = REPORT_PENDING;
        node_enter(n, NODE_STARTING);
        n->started_at = tree_now(n->tree);
        node_emit(n, TREE_EVENT_STARTED);
        sup_begin_start(n, 0, false);
        Report got = n->sync;
        n->sync = REPORT_NONE;

        switch (got) {
        case REPORT_UP:
                return 1;
        case REPORT_PENDING:
                return 0;
        case REPORT_START_FAILED:
                return -EIO;
        case REPORT_DOWN:
        case REPORT_EXIT_NORMAL:
        case REPORT_EXIT_ABNORMAL:
                /* It started and then terminated within the same call: tell the parent
                 * afterwards, the way any later exit would arrive. */
                return 1;
        case REPORT_NONE:
        default:
                assert_not_reached();
                return 1;
        }
}

/* 1: down now; 0: stopping (a REPORT_DOWN follows). why: what its exit (its workers') will
 * be reported as. */
int node_stop(Node *n, NodeReason why) {
        if (!node_is_supervisor(n))
                return worker_stop(n, why);

        switch (n->state) {
        case NODE_RESTARTING:
                node_cancel_retry(n);
                return 1;
        case NODE_STOPPED:
        case NODE_FAILED:
        case NODE_EXITED: /* a supervisor never is */
                return 1;
        case NODE_STOPPING:
                /* Terminating on its own: from now on it is our stop, reported as down. */
                node_note_stop(n, why);
                n->after = AFTER_STOPPED;
                return 0;
        case NODE_STARTING:
        case NODE_RUNNING:
                break;
        case _NODE_STATE_MAX:
        case _NODE_STATE_INVALID:
        default:
                assert_not_reached();
        }

        node_note_stop(n, why);
        n->sync = REPORT_PENDING;
        node_enter(n, NODE_STOPPING);
        if (n->spec->shutdown_ms != SHUTDOWN_INFINITY) {
                if (n->spec->shutdown_ms == SHUTDOWN_BRUTAL_KILL)
                        kill_subtree(n, n->stop_reason);
                else
                        set_timer(n, NODE_TIMER_SHUTDOWN, tree_now(n->tree) + msec_to_usec(n->spec->shutdown_ms));
        }
        sup_begin_stop(n, 0, n->n_children, AFTER_STOPPED);
        Report got = n->sync;
        n->sync = REPORT_NONE;
        return got == REPORT_PENDING ? 0 : 1;
}

/* ---- the tree's entry points ------------------------------------------------------------ */

void tree_start(Tree *t) {
        int r = node_start(t->root);
        if (r > 0)
                return;
        if (r < 0 && !t->finished) {
                t->finished = true;
                t->ops->finished(t->ud, 1);
        }
}

void tree_shutdown(Tree *t) {
        if (t->shutting_down)
                return;
        t->shutting_down = true;
        if (node_stop(t->root, NODE_REASON_SHUTDOWN) > 0 && !t->finished) {
                t->finished = true;
                t->ops->finished(t->ud, 0);
        }
}

static int check_operable(Tree *t, Node *n, const char **ret_error) {
        if (t->shutting_down) {
                *ret_error = "the tree is shutting down";
                return -EBUSY;
        }
        if (!n->parent) {
                *ret_error = "the root supervisor cannot be operated on; use shutdown";
                return -EINVAL;
        }
        if (n->parent->state != NODE_RUNNING) {
                *ret_error = "its supervisor is not running";
                return -EBUSY;
        }
        if (n->parent->op != SUP_OP_NONE) {
                *ret_error = "its supervisor is busy restarting or starting children, try again";
                return -EBUSY;
        }
        return 0;
}

int tree_start_node(Tree *t, Node *n, const char **ret_error) {
        int r = check_operable(t, n, ret_error);
        if (r < 0)
                return r;
        if (n->intent == NODE_INTENT_REMOVE)
                return 0; /* going away: a start does not bring it back */
        n->intent = NODE_INTENT_POLICY;
        if (n->state == NODE_RUNNING || n->state == NODE_STARTING)
                return 0;
        if (n->state == NODE_STOPPING) {
                n->intent = NODE_INTENT_START;
                return 0;
        }
        if (n->state == NODE_RESTARTING)
                node_cancel_retry(n);
        r = node_start(n);
        if (r < 0) {
                *ret_error = n->reason;
                return r;
        }
        return 0;
}

int tree_stop_node(Tree *t, Node *n, const char **ret_error) {
        int r = check_operable(t, n, ret_error);
        if (r < 0)
                return r;
        if (n->intent != NODE_INTENT_REMOVE)
                n->intent = NODE_INTENT_HOLD;
        (void) node_stop(n, NODE_REASON_OPERATOR);
        return 0;
}

/* why: the operator's restart, or a reload's. */
static int restart_node(Tree *t, Node *n, NodeReason why, const char **ret_error) {
        int r = check_operable(t, n, ret_error);
        if (r < 0)
                return r;
        if (n->intent == NODE_INTENT_REMOVE)
                return 0; /* going away: a restart does not bring it back */
        n->intent = NODE_INTENT_POLICY;
        if (node_stop(n, why) > 0) {
                if (n->next_spec)
                        (void) tree_set_spec(n, n->next_spec);
                r = node_start(n);
                if (r < 0) {
                        *ret_error = n->reason;
                        return r;
                }
                return 0;
        }
        n->intent = NODE_INTENT_START;
        return 0;
}

int tree_restart_node(Tree *t, Node *n, const char **ret_error) {
        return restart_node(t, n, NODE_REASON_OPERATOR, ret_error);
}

int tree_start_child(Tree *t, Node *s, char **args, Node **ret, const char **ret_error) {
        if (!node_is_supervisor(s) || s->spec->strategy != STRATEGY_SIMPLE_ONE_FOR_ONE) {
                *ret_error = "not a simple_one_for_one supervisor";
                return -EINVAL;
        }
        if (t->shutting_down || s->state != NODE_RUNNING || s->op != SUP_OP_NONE) {
                *ret_error = t->shutting_down ? "the tree is shutting down" : "the supervisor is not running";
                return -EBUSY;
        }
        if (s->spec->max_children > 0 && s->n_children >= s->spec->max_children) {
                *ret_error = "max_children reached";
                return -EUSERS;
        }
        int r = sup_start_new_instance(t, s, s->next_instance, s->n_children, args, ret);
        if (r < 0) /* only making the node fails otherwise */
                *ret_error = r == -ENOMEM ? "out of memory" : s->reason;
        return r;
}

int tree_terminate_child(Tree *t, Node *n, const char **ret_error) {
        if (n->instance < 0) {
                *ret_error = "not a dynamic child (only children of simple_one_for_one can be terminated)";
                return -EINVAL;
        }
        int r = check_operable(t, n, ret_error);
        if (r < 0)
                return r;
        n->intent = NODE_INTENT_REMOVE;
        if (node_stop(n, NODE_REASON_OPERATOR) > 0)
                sup_remove_child(n->parent, n);
        return 0;
}

/* ---- reload's primitives ---------------------------------------------------------------- */

int tree_set_spec(Node *n, const Spec *spec) {
        char *reg = NULL;
        int r = make_reg_name(spec, n->instance, &reg);
        if (r < 0)
                return r;
        if (reg && n->reg_name && strcmp(reg, n->reg_name) == 0)
                free(reg); /* the usual case: keep the string the router may still show */
        else {
                free(n->reg_name);
                n->reg_name = reg;
        }
        /* A changed `instances` is the count from now on (a count scaled since, kept otherwise). */
        if (node_is_supervisor(n) && spec->kind == SPEC_SUPERVISOR && spec->instances != n->spec->instances)
                n->instances = spec->instances;
        n->spec = spec;
        n->next_spec = NULL;
        return 0;
}

int tree_replace_node(Tree *t, Node *n, const Spec *spec, const char **ret_error) {
        assert(!node_is_supervisor(n) && spec->kind == SPEC_WORKER);
        if (t->shutting_down) {
                *ret_error = "the tree is shutting down";
                return -EBUSY;
        }
        if (n->parent && n->parent->op != SUP_OP_NONE) {
                *ret_error = "its supervisor is busy restarting or starting children, try again";
                return -EBUSY;
        }
        if (n->pid <= 0 && n->state != NODE_STARTING && n->state != NODE_STOPPING && n->state != NODE_EXITED) {
                /* No process: the next start (restart_delay's timer, a retry, the operator)
                 * simply uses the new section. */
                int r = tree_set_spec(n, spec);
                if (r < 0) {
                        *ret_error = "out of memory";
                        return r;
                }
                return 1;
        }
        if (node_is_held(n)) {
                /* Being stopped by the operator: it stays stopped, and starts from spec. */
                n->next_spec = spec;
                return 0;
        }
        /* An operator restart: the old process is stopped as the old section says (stop_signal,
         * shutdown), the new one started from the new section (tree_handle_exit swaps them);
         * neither counts as a restart against the supervisor's intensity. */
        n->next_spec = spec;
        int r = restart_node(t, n, NODE_REASON_RELOAD, ret_error);
        if (r < 0)
                n->next_spec = NULL; /* refused (a failed start has taken spec already) */
        return r;
}

int tree_remove_node(Tree *t, Node *n, const char **ret_error) {
        if (!n->parent) {
                *ret_error = "the root supervisor cannot be removed";
                return -EINVAL;
        }
        if (t->shutting_down) {
                *ret_error = "the tree is shutting down";
                return -EBUSY;
        }
        if (n->parent->op != SUP_OP_NONE) {
                *ret_error = "its supervisor is busy restarting or starting children, try again";
                return -EBUSY;
        }
        n->intent = NODE_INTENT_REMOVE;
        n->next_spec = NULL;
        if (node_stop(n, NODE_REASON_RELOAD) > 0)
                sup_remove_child(n->parent, n);
        return 0;
}

int tree_insert_child(Tree *t, Node *s, size_t index, const Spec *spec, Node **ret) {
        assert(node_is_supervisor(s));
        if (s->op != SUP_OP_NONE)
                return -EBUSY;
        Node *c;
        int r = build(t, spec, s, &c);
        if (r < 0)
                return r;
        r = sup_append_child(s, c);
        if (r < 0) {
                node_free(c);
                return r;
        }
        tree_move_child(s, c, index);
        node_emit(s, TREE_EVENT_STATE);
        if (ret)
                *ret = c;
        return 0;
}

void tree_move_child(Node *s, Node *c, size_t index) {
        ssize_t i = sup_child_index(s, c);
        assert(i >= 0 && s->op == SUP_OP_NONE);
        if (index >= s->n_children)
                index = s->n_children - 1;
        if ((size_t) i == index)
                return;
        if ((size_t) i < index)
                memmove(s->children + i, s->children + i + 1, (index - (size_t) i) * sizeof(Node *));
        else
                memmove(s->children + index + 1, s->children + index, ((size_t) i - index) * sizeof(Node *));
        s->children[index] = c;
}

int tree_significant_exit(const Tree *t) {
        const Node *root = t->root;
        /* AFTER_SHUTDOWN stays only when nothing else stopped it (an operator's shutdown during
         * the auto_shutdown makes it AFTER_STOPPED). */
        if (!t->finished || root->state != NODE_STOPPED || root->after != AFTER_SHUTDOWN)
                return -1;
        return root->shutdown_status;
}

static void walk(Node *n, unsigned depth, void (*fn)(Node *n, unsigned depth, void *ud), void *ud) {
        fn(n, depth, ud);
        for (size_t i = 0; i < n->n_children; i++)
                walk(n->children[i], depth + 1, fn, ud);
}

void tree_walk(Node *n, void (*fn)(Node *n, unsigned depth, void *ud), void *ud) {
        walk(n, 0, fn, ud);
}
