/* SPDX-License-Identifier: MIT */
/* OTP supervision as state machines. A node reports to its parent with one of four reports (up,
 * start failed, down after a requested stop, exited on its own); a supervisor runs at most one
 * job at a time (start children in order, or stop them in reverse) and queues the exits of
 * other children until the job ends, as an OTP supervisor's mailbox would. No system calls
 * here: everything goes through TreeOps. */
#include "tree.h"

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

typedef enum Report {
        REPORT_PENDING,
        REPORT_UP,
        REPORT_START_FAILED,
        REPORT_DOWN,
        REPORT_EXIT_NORMAL,
        REPORT_EXIT_ABNORMAL,
} Report;

static void parent_on_child(Node *p, Node *c, Report rep);
static void sup_continue_start(Node *s);
static void sup_continue_stop(Node *s);
static void sup_handle_exit(Node *s, Node *c, bool abnormal);
static int node_start(Node *n);
static int node_stop(Node *n);

static const char *const node_state_table[_NODE_STATE_MAX] = {
        [NODE_STOPPED] = "stopped",     [NODE_STARTING] = "starting",
        [NODE_RUNNING] = "running",     [NODE_STOPPING] = "stopping",
        [NODE_RESTARTING] = "restarting", [NODE_FAILED] = "failed",
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

bool node_is_supervisor(const Node *n) {
        return n->spec->kind == SPEC_SUPERVISOR;
}

bool node_is_down(const Node *n) {
        return n->state == NODE_STOPPED || n->state == NODE_FAILED || n->state == NODE_RESTARTING;
}

static usec_t tree_now(Tree *t) {
        return t->ops->now(t->ud);
}

static void emit(Node *n, TreeEvent ev) {
        n->tree->ops->event(n->tree->ud, n, ev);
}

/* Arms the node's one timer for one purpose (at: CLOCK_MONOTONIC usec). */
static void set_timer(Node *n, NodeTimer kind, usec_t at) {
        assert(kind != NODE_TIMER_NONE);
        n->timer = kind;
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
                return to == NODE_RUNNING || to == NODE_STOPPING || to == NODE_FAILED;
        case NODE_RUNNING:
                return to == NODE_STOPPED || to == NODE_STOPPING;
        case NODE_STOPPING:
                return to == NODE_STOPPED || to == NODE_FAILED;
        case NODE_RESTARTING:
                return to == NODE_STOPPED;
        case NODE_FAILED:
                return to == NODE_STARTING || to == NODE_RESTARTING || to == NODE_STOPPED;
        case _NODE_STATE_MAX:
        case _NODE_STATE_INVALID:
        default:
                return false;
        }
}

/* The one way a node changes state: what the old state had armed is disarmed (its timer), the
 * change is checked and announced once. What the new state needs (a timer) is armed after. */
static void node_enter(Node *n, NodeState s) {
        if (n->state == s)
                return;
        assert(transition_allowed(n->state, s));
        timer_off(n);
        n->state = s;
        emit(n, TREE_EVENT_STATE);
}

static void set_reason(Node *n, const char *fmt, ...) _printf_(2, 3);
static void set_reason(Node *n, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(n->reason, sizeof n->reason, fmt, ap);
        va_end(ap);
}

/* A start to try again from the node's timer, after `delay` (restart_delay, or 0 after a
 * failed start): a start that keeps failing costs one loop pass each time and ends when
 * intensity is reached, never in a deep recursion. */
static void node_schedule_retry(Node *n, usec_t delay) {
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
static void node_report(Node *n, Report rep) {
        if (n->sync) {
                n->sync_result = rep;
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

static ssize_t child_index(const Node *s, const Node *c) {
        for (size_t i = 0; i < s->n_children; i++)
                if (s->children[i] == c)
                        return (ssize_t) i;
        return -1;
}

static int make_instances(Tree *t, Node *s);
static int sup_new_dynamic_child(Tree *t, Node *s, char **args, Node **ret);

/* ---- nodes ------------------------------------------------------------------------------ */

static Node *node_free(Node *n);

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

static int node_new(Tree *t, const Spec *spec, Node *parent, const char *name, int instance, Node **ret) {
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

static Node *node_free(Node *n) {
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

static int sup_append_child(Node *s, Node *c) {
        if (ARRAY_GROW(s->children, s->cap_children, s->n_children + 1) < 0)
                return -ENOMEM;
        s->children[s->n_children++] = c;
        return 0;
}

static void sup_remove_child(Node *s, Node *c) {
        ssize_t i = child_index(s, c);
        assert(i >= 0);
        memmove(s->children + i, s->children + i + 1, (s->n_children - (size_t) i - 1) * sizeof(Node *));
        s->n_children--;
        if (s->cursor > (size_t) i)
                s->cursor--;
        node_free(c);
        /* The children changed: observers (terminate-child's waiter) look again. */
        emit(s, TREE_EVENT_STATE);
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
        *ret = n;
        return 0;
}

int tree_new(const Config *config, const TreeOps *ops, void *ud, Tree **ret) {
        Tree *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->config = config;
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

static int worker_start(Node *n) {
        Tree *t = n->tree;
        pid_t pid = 0;
        bool ready = false;

        n->reason[0] = '\0';
        n->stop_sent = n->start_failed = false;
        int r = t->ops->spawn(t->ud, n, &pid, &ready);
        if (r < 0) {
                if (!n->reason[0])
                        set_reason(n, "failed to spawn: %s", strerror(-r));
                n->exit_code = NODE_EXIT_START_FAILED;
                n->exit_status = -r;
                n->exit_oom = false;
                node_enter(n, NODE_FAILED);
                emit(n, TREE_EVENT_START_FAILED);
                return r;
        }
        n->pid = pid;
        n->started_at = tree_now(t);
        /* Observers of STARTED see a process that is starting, not the state it came from. */
        node_enter(n, NODE_STARTING);
        emit(n, TREE_EVENT_STARTED);
        if (ready || n->spec->ready == READY_NONE) {
                node_enter(n, NODE_RUNNING);
                emit(n, TREE_EVENT_READY);
                return 1;
        }
        if (n->spec->ready_timeout_ms > 0)
                set_timer(n, NODE_TIMER_READY, n->started_at + msec_to_usec(n->spec->ready_timeout_ms));
        return 0;
}

static void worker_send_stop(Node *n) {
        Tree *t = n->tree;
        bool group = n->spec->kill_group;

        n->stop_sent = true;
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

static int worker_stop(Node *n) {
        switch (n->state) {
        case NODE_STOPPED:
        case NODE_FAILED:
                return 1;
        case NODE_RESTARTING:
                node_cancel_retry(n);
                return 1;
        case NODE_STARTING:
        case NODE_RUNNING:
                node_enter(n, NODE_STOPPING);
                worker_send_stop(n);
                return 0;
        case NODE_STOPPING:
                /* Already on its way down: a start that timed out, or a second request. */
                n->start_failed = false;
                return 0;
        case _NODE_STATE_MAX:
        case _NODE_STATE_INVALID:
        default:
                assert_not_reached();
                return 1;
        }
}

void tree_handle_exit(Tree *t, Node *n, int code, int status) {
        char how[64];

        assert(n->spec->kind == SPEC_WORKER);
        n->exit_code = code;
        n->exit_status = status;
        timer_off(n);
        emit(n, TREE_EVENT_EXITED); /* observers still see the pid that exited */
        n->pid = 0;
        if (n->next_spec)
                (void) tree_set_spec(n, n->next_spec); /* a replacement (reload): down now */
        exit_describe(&(ExitHow) { code, status, false }, EXIT_STYLE_REASON, how, sizeof how);

        switch (n->state) {
        case NODE_STARTING:
                set_reason(n, "exited before it was ready (%s)", how);
                node_enter(n, NODE_FAILED);
                emit(n, TREE_EVENT_START_FAILED);
                node_report(n, REPORT_START_FAILED);
                return;
        case NODE_STOPPING:
                if (n->start_failed) {
                        node_enter(n, NODE_FAILED);
                        emit(n, TREE_EVENT_START_FAILED);
                        node_report(n, REPORT_START_FAILED);
                        return;
                }
                node_enter(n, NODE_STOPPED);
                emit(n, TREE_EVENT_STOPPED);
                node_report(n, REPORT_DOWN);
                return;
        case NODE_RUNNING: {
                /* A signal we did not send is abnormal; so is an exit code not in normal_exit. */
                bool abnormal = !node_exited_normally(n);
                /* A run that lasted a whole period ends the backoff's doubling. */
                if (tree_now(t) - n->started_at >= msec_to_usec(n->parent ? n->parent->spec->period_ms : 0))
                        n->failures = 0;
                if (abnormal)
                        n->failures++;
                set_reason(n, "%s", how);
                node_enter(n, NODE_STOPPED);
                node_report(n, abnormal ? REPORT_EXIT_ABNORMAL : REPORT_EXIT_NORMAL);
                return;
        }
        case NODE_STOPPED:
        case NODE_RESTARTING:
        case NODE_FAILED:
        case _NODE_STATE_MAX:
        case _NODE_STATE_INVALID:
        default:
                /* No process in these states: the pid index would not have found us. */
                assert_not_reached();
        }
}

void tree_handle_ready(Tree *t, Node *n) {
        if (n->state != NODE_STARTING)
                return;
        node_enter(n, NODE_RUNNING);
        emit(n, TREE_EVENT_READY);
        node_report(n, REPORT_UP);
}

static void kill_subtree(Node *n) {
        if (!node_is_supervisor(n)) {
                if (n->pid > 0) {
                        n->stop_sent = true;
                        n->tree->ops->kill(n->tree->ud, n, SIGKILL, n->spec->kill_group);
                }
                return;
        }
        for (size_t i = 0; i < n->n_children; i++)
                kill_subtree(n->children[i]);
}

void tree_kill_all(Tree *t) {
        kill_subtree(t->root);
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
                set_reason(n, "not ready within %llu ms", (unsigned long long) n->spec->ready_timeout_ms);
                n->start_failed = true;
                n->stop_sent = true;
                t->ops->kill(t->ud, n, SIGKILL, n->spec->kill_group);
                node_enter(n, NODE_STOPPING);
                return;
        case NODE_TIMER_SHUTDOWN:
                /* Its shutdown time since the stop ran out: SIGKILL it (a supervisor's whole
                 * subtree). */
                assert(n->state == NODE_STOPPING);
                emit(n, TREE_EVENT_KILLING);
                if (node_is_supervisor(n))
                        kill_subtree(n);
                else
                        t->ops->kill(t->ud, n, SIGKILL, n->spec->kill_group);
                return;
        case _NODE_TIMER_MAX:
        default:
                assert_not_reached();
        }
}

/* ---- supervisors: jobs ------------------------------------------------------------------ */

static void sup_finish_job(Node *s);

static bool skip_on_start(const Node *s, const Node *c) {
        if (c->held)
                return true;
        /* Temporary children stopped by a group restart are not started again (OTP). */
        return s->op_is_restart && c->spec->restart == RESTART_TEMPORARY;
}

static void sup_begin_start(Node *s, size_t from, bool is_restart) {
        s->op = SUP_OP_START;
        s->cursor = from;
        s->op_is_restart = is_restart;
        sup_continue_start(s);
}

static void sup_continue_start(Node *s) {
        while (s->cursor < s->n_children) {
                Node *c = s->children[s->cursor];
                if (c->state == NODE_RUNNING || skip_on_start(s, c)) {
                        s->cursor++;
                        continue;
                }
                if (c->state != NODE_STOPPED && c->state != NODE_FAILED)
                        return; /* still starting (or stopping): its report continues us */
                int r = node_start(c);
                if (r > 0) {
                        s->cursor++;
                        continue;
                }
                if (r == 0)
                        return;
                parent_on_child(s, c, REPORT_START_FAILED);
                return;
        }
        sup_finish_job(s);
}

/* Stops children [lo, cursor) from the top down; dynamic children all at once. */
static void sup_begin_stop(Node *s, size_t lo, size_t hi_excl, SupAfter after) {
        s->op = SUP_OP_STOP;
        s->lo = lo;
        s->cursor = hi_excl;
        s->stop_all_sent = false;
        s->after = after;
        sup_continue_stop(s);
}

static bool stopped_for_job(const Node *c) {
        return node_is_down(c) && c->state != NODE_RESTARTING;
}

static void sup_continue_stop(Node *s) {
        if (s->spec->strategy == STRATEGY_SIMPLE_ONE_FOR_ONE) {
                /* Dynamic children are all told at once; the job ends when all are down. The
                 * cursor only moves down past children that are down, so the reports of a
                 * thousand children cost a thousand steps, not a million. */
                if (!s->stop_all_sent) {
                        s->stop_all_sent = true;
                        for (size_t i = s->lo; i < s->cursor && i < s->n_children; i++)
                                (void) node_stop(s->children[i]);
                }
                while (s->cursor > s->lo && stopped_for_job(s->children[s->cursor - 1]))
                        s->cursor--;
                if (s->cursor > s->lo)
                        return;
                sup_finish_job(s);
                return;
        }
        while (s->cursor > s->lo) {
                Node *c = s->children[s->cursor - 1];
                if (stopped_for_job(c)) {
                        s->cursor--;
                        continue;
                }
                if (node_stop(c) == 0)
                        return;
                s->cursor--;
        }
        sup_finish_job(s);
}

static void sup_process_pending_exits(Node *s) {
        for (size_t i = 0; i < s->n_children && s->op == SUP_OP_NONE && s->state == NODE_RUNNING; i++) {
                Node *c = s->children[i];
                if (!c->exit_pending)
                        continue;
                c->exit_pending = false;
                /* A group restart may have brought it back already. */
                if (node_is_down(c))
                        sup_handle_exit(s, c, c->exit_pending_abnormal);
        }
}

static void sup_finish_job(Node *s) {
        SupOp op = s->op;
        s->op = SUP_OP_NONE;

        if (op == SUP_OP_START) {
                if (s->state == NODE_STARTING) {
                        node_enter(s, NODE_RUNNING);
                        emit(s, TREE_EVENT_READY);
                        sup_process_pending_exits(s);
                        node_report(s, REPORT_UP);
                        return;
                }
                sup_process_pending_exits(s);
                return;
        }

        assert(op == SUP_OP_STOP);
        switch (s->after) {
        case AFTER_RESTART:
                sup_begin_start(s, s->restart_from, true);
                return;
        case AFTER_GIVE_UP:
                node_enter(s, NODE_FAILED);
                node_report(s, REPORT_EXIT_ABNORMAL);
                return;
        case AFTER_ROLLBACK:
                node_enter(s, NODE_FAILED);
                emit(s, TREE_EVENT_START_FAILED);
                node_report(s, REPORT_START_FAILED);
                return;
        case AFTER_STOPPED:
                node_enter(s, NODE_STOPPED);
                emit(s, TREE_EVENT_STOPPED);
                node_report(s, REPORT_DOWN);
                return;
        case AFTER_SHUTDOWN:
                node_enter(s, NODE_STOPPED);
                node_report(s, REPORT_EXIT_NORMAL);
                return;
        case AFTER_NOTHING:
        default:
                return;
        }
}

/* Terminating on our own (gave up, auto_shutdown): stop everything in reverse order. */
static void sup_terminate(Node *s, SupAfter after) {
        node_enter(s, NODE_STOPPING);
        sup_begin_stop(s, 0, s->n_children, after);
}

/* ---- supervisors: policy ---------------------------------------------------------------- */

/* Records one restart; true when that is more than intensity within period (OTP). Times only
 * grow, so expired entries leave from the front: amortised O(1) even in a fast crash loop. */
static bool sup_intensity_exceeded(Node *s) {
        usec_t now = tree_now(s->tree), period = msec_to_usec(s->spec->period_ms);

        while (s->first_restart_at < s->n_restarts_at && now - s->restarts_at[s->first_restart_at] >= period)
                s->first_restart_at++;
        if (s->first_restart_at == s->n_restarts_at)
                s->first_restart_at = s->n_restarts_at = 0;
        if (s->n_restarts_at - s->first_restart_at >= s->spec->intensity)
                return true;
        if (s->n_restarts_at == s->cap_restarts_at) {
                size_t live = s->n_restarts_at - s->first_restart_at;
                if (s->first_restart_at > 0 && live <= s->cap_restarts_at / 2) {
                        memmove(s->restarts_at, s->restarts_at + s->first_restart_at, live * sizeof(usec_t));
                        s->first_restart_at = 0;
                        s->n_restarts_at = live;
                } else {
                        size_t cap = s->cap_restarts_at ? s->cap_restarts_at * 2 : 4;
                        usec_t *a = realloc(s->restarts_at, cap * sizeof *a);
                        if (!a && live == 0)
                                return false; /* nothing to count with yet: this one goes uncounted */
                        if (!a) {
                                /* No room to count one more: the oldest restart is forgotten,
                                 * not the whole tree given up for want of a few bytes (fewer
                                 * than `intensity` are remembered here, so it still counts). */
                                memmove(s->restarts_at, s->restarts_at + s->first_restart_at + 1,
                                        (live - 1) * sizeof(usec_t));
                                s->first_restart_at = 0;
                                s->n_restarts_at = live - 1;
                                s->restarts_at[s->n_restarts_at++] = now;
                                return false;
                        }
                        s->restarts_at = a;
                        s->cap_restarts_at = cap;
                }
        }
        s->restarts_at[s->n_restarts_at++] = now;
        return false;
}

static usec_t restart_delay(const Node *c) {
        const Spec *sp = c->spec;
        if (sp->kind != SPEC_WORKER || sp->restart_delay_ms == 0)
                return 0;
        uint64_t d = sp->restart_delay_ms;
        for (unsigned i = 1; i < c->failures && d < sp->restart_delay_max_ms; i++)
                d *= 2;
        if (d > sp->restart_delay_max_ms)
                d = sp->restart_delay_max_ms;
        return msec_to_usec(d);
}

/* child: the path of the child that terminated (it may be freed already). */
static void sup_check_auto_shutdown(Node *s, bool was_significant, const char *child) {
        if (!was_significant || s->state != NODE_RUNNING)
                return;
        switch (s->spec->auto_shutdown) {
        case AUTO_SHUTDOWN_NEVER:
                return;
        case AUTO_SHUTDOWN_ANY_SIGNIFICANT:
                break;
        case AUTO_SHUTDOWN_ALL_SIGNIFICANT:
                for (size_t i = 0; i < s->n_children; i++)
                        if (s->children[i]->spec->significant && !node_is_down(s->children[i]))
                                return;
                break;
        case _AUTO_SHUTDOWN_MAX:
        case _AUTO_SHUTDOWN_INVALID:
        default:
                assert_not_reached();
        }
        set_reason(s, "significant child '%s' terminated", child);
        emit(s, TREE_EVENT_AUTO_SHUTDOWN);
        sup_terminate(s, AFTER_SHUTDOWN);
}

static void sup_restart_one(Node *s, Node *c) {
        usec_t delay = c->restart_delay;
        if (delay > 0) {
                node_enter(c, NODE_RESTARTING);
                node_schedule_retry(c, delay);
                return;
        }
        if (node_start(c) < 0)
                node_schedule_retry(c, 0);
}

/* A child terminated on its own while we were idle: OTP's restart decision. */
static void sup_handle_exit(Node *s, Node *c, bool abnormal) {
        Tree *t = s->tree;
        const Spec *cs = c->spec;
        bool restart = !t->shutting_down && !c->held &&
                       (cs->restart == RESTART_PERMANENT || (cs->restart == RESTART_TRANSIENT && abnormal));

        if (!restart) {
                bool significant = cs->significant;
                char child[256];
                snprintf(child, sizeof child, "%s", c->path);
                if (c->instance >= 0 && !c->held)
                        sup_remove_child(s, c); /* OTP forgets dynamic children that are done */
                if (!t->shutting_down)
                        sup_check_auto_shutdown(s, significant, child);
                return;
        }

        if (sup_intensity_exceeded(s)) {
                set_reason(s, "reached restart intensity (%u in %llu ms) after '%s' terminated",
                           s->spec->intensity, (unsigned long long) s->spec->period_ms, c->path);
                emit(s, TREE_EVENT_GAVE_UP);
                sup_terminate(s, AFTER_GIVE_UP);
                return;
        }

        c->restarts++;
        /* Known before the announcement, so the log says how long the restart waits; a group
         * restart (one_for_all, rest_for_one) starts its children at once. */
        bool alone = s->spec->strategy == STRATEGY_ONE_FOR_ONE ||
                     s->spec->strategy == STRATEGY_SIMPLE_ONE_FOR_ONE;
        c->restart_delay = alone ? restart_delay(c) : 0;
        emit(c, TREE_EVENT_RESTARTING);
        ssize_t i = child_index(s, c);
        assert(i >= 0);
        switch (s->spec->strategy) {
        case STRATEGY_ONE_FOR_ONE:
        case STRATEGY_SIMPLE_ONE_FOR_ONE:
                sup_restart_one(s, c);
                return;
        case STRATEGY_ONE_FOR_ALL:
                s->restart_from = 0;
                sup_begin_stop(s, 0, s->n_children, AFTER_RESTART);
                return;
        case STRATEGY_REST_FOR_ONE:
                s->restart_from = (size_t) i;
                sup_begin_stop(s, (size_t) i + 1, s->n_children, AFTER_RESTART);
                return;
        case _STRATEGY_MAX:
        case _STRATEGY_INVALID:
        default:
                assert_not_reached();
        }
}

static void parent_on_child(Node *s, Node *c, Report rep) {
        ssize_t idx = child_index(s, c);
        assert(idx >= 0);

        switch (rep) {
        case REPORT_UP:
                if (s->op == SUP_OP_START && s->cursor == (size_t) idx) {
                        s->cursor++;
                        sup_continue_start(s);
                }
                return;

        case REPORT_START_FAILED:
                if (s->op == SUP_OP_START && s->cursor == (size_t) idx) {
                        if (s->state == NODE_STARTING) {
                                /* Our own start fails: roll back what we started, in reverse. */
                                set_reason(s, "child '%s' failed to start: %s", c->path, c->reason);
                                node_enter(s, NODE_STOPPING);
                                sup_begin_stop(s, 0, (size_t) idx, AFTER_ROLLBACK);
                                return;
                        }
                        /* A failed restart counts as one more failure of that child. */
                        s->op = SUP_OP_NONE;
                        node_schedule_retry(c, 0);
                        return;
                }
                if (s->op == SUP_OP_NONE && s->state == NODE_RUNNING && !c->held && !s->tree->shutting_down &&
                    !c->remove_when_down) {
                        /* A restart of ours that did not come up. */
                        node_schedule_retry(c, 0);
                        return;
                }
                if (c->remove_when_down)
                        sup_remove_child(s, c);
                if (s->op == SUP_OP_STOP)
                        sup_continue_stop(s);
                return;

        case REPORT_DOWN:
                if (c->remove_when_down)
                        sup_remove_child(s, c);
                else if (c->restart_requested) {
                        c->restart_requested = false;
                        c->held = false;
                        if (s->state == NODE_RUNNING && s->op == SUP_OP_NONE && node_start(c) < 0)
                                node_schedule_retry(c, 0);
                }
                if (s->op == SUP_OP_STOP)
                        sup_continue_stop(s);
                else if (s->op == SUP_OP_START)
                        sup_continue_start(s);
                return;

        case REPORT_EXIT_NORMAL:
        case REPORT_EXIT_ABNORMAL: {
                bool abnormal = rep == REPORT_EXIT_ABNORMAL;
                if (s->op == SUP_OP_STOP && s->state == NODE_STOPPING) {
                        sup_continue_stop(s); /* everything goes down anyway */
                        return;
                }
                if (s->op != SUP_OP_NONE) {
                        /* Busy with a job: handle it when the job is done. */
                        if (s->op == SUP_OP_STOP && (size_t) idx >= s->lo && (size_t) idx < s->cursor) {
                                sup_continue_stop(s);
                                return;
                        }
                        c->exit_pending = true;
                        c->exit_pending_abnormal = abnormal;
                        return;
                }
                if (s->state != NODE_RUNNING)
                        return;
                sup_handle_exit(s, c, abnormal);
                return;
        }
        case REPORT_PENDING:
        default:
                assert_not_reached();
        }
}

/* ---- node start / stop with synchronous answers ----------------------------------------- */

/* 1: up now; 0: in progress (the report follows); < 0: failed now (n->reason says why). */
static int node_start(Node *n) {
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
                        set_reason(n, "out of memory");
                        node_enter(n, NODE_FAILED);
                        return -ENOMEM;
                }
        }
        n->reason[0] = '\0';
        n->sync = true;
        n->sync_result = REPORT_PENDING;
        node_enter(n, NODE_STARTING);
        n->started_at = tree_now(n->tree);
        emit(n, TREE_EVENT_STARTED);
        sup_begin_start(n, 0, false);
        n->sync = false;

        switch (n->sync_result) {
        case REPORT_UP:
                return 1;
        case REPORT_PENDING:
                return 0;
        case REPORT_START_FAILED:
                return -EIO;
        default:
                /* It started and then terminated within the same call: tell the parent
                 * afterwards, the way any later exit would arrive. */
                return 1;
        }
}

/* 1: down now; 0: stopping (a REPORT_DOWN follows). */
static int node_stop(Node *n) {
        if (!node_is_supervisor(n))
                return worker_stop(n);

        switch (n->state) {
        case NODE_RESTARTING:
                node_cancel_retry(n);
                return 1;
        case NODE_STOPPED:
        case NODE_FAILED:
                return 1;
        case NODE_STOPPING:
                /* Terminating on its own: from now on it is our stop, reported as down. */
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

        n->sync = true;
        n->sync_result = REPORT_PENDING;
        node_enter(n, NODE_STOPPING);
        if (n->spec->shutdown_ms != SHUTDOWN_INFINITY) {
                if (n->spec->shutdown_ms == SHUTDOWN_BRUTAL_KILL)
                        kill_subtree(n);
                else
                        set_timer(n, NODE_TIMER_SHUTDOWN, tree_now(n->tree) + msec_to_usec(n->spec->shutdown_ms));
        }
        sup_begin_stop(n, 0, n->n_children, AFTER_STOPPED);
        n->sync = false;
        return n->sync_result == REPORT_PENDING ? 0 : 1;
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
        if (node_stop(t->root) > 0 && !t->finished) {
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
        n->held = false;
        if (n->state == NODE_RUNNING || n->state == NODE_STARTING)
                return 0;
        if (n->state == NODE_STOPPING) {
                n->restart_requested = true;
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
        n->held = true;
        n->restart_requested = false;
        (void) node_stop(n);
        return 0;
}

int tree_restart_node(Tree *t, Node *n, const char **ret_error) {
        int r = check_operable(t, n, ret_error);
        if (r < 0)
                return r;
        n->held = false;
        if (node_stop(n) > 0) {
                if (n->next_spec)
                        (void) tree_set_spec(n, n->next_spec);
                r = node_start(n);
                if (r < 0) {
                        *ret_error = n->reason;
                        return r;
                }
                return 0;
        }
        n->restart_requested = true;
        return 0;
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
        Node *c;
        int r = sup_new_dynamic_child(t, s, args, &c);
        if (r < 0)
                return r;
        r = node_start(c);
        if (r < 0) {
                /* OTP: start_child returns the error and keeps nothing. */
                snprintf(s->reason, sizeof s->reason, "%s", c->reason);
                *ret_error = s->reason;
                sup_remove_child(s, c);
                return r;
        }
        *ret = c;
        return 0;
}

int tree_terminate_child(Tree *t, Node *n, const char **ret_error) {
        if (n->instance < 0) {
                *ret_error = "not a dynamic child (only children of simple_one_for_one can be terminated)";
                return -EINVAL;
        }
        int r = check_operable(t, n, ret_error);
        if (r < 0)
                return r;
        n->remove_when_down = true;
        n->held = true;
        if (node_stop(n) > 0)
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
        if (n->pid <= 0 && n->state != NODE_STARTING && n->state != NODE_STOPPING) {
                /* No process: the next start (restart_delay's timer, a retry, the operator)
                 * simply uses the new section. */
                int r = tree_set_spec(n, spec);
                if (r < 0) {
                        *ret_error = "out of memory";
                        return r;
                }
                return 1;
        }
        if (n->held) {
                /* Being stopped by the operator: it stays stopped, and starts from spec. */
                n->next_spec = spec;
                return 0;
        }
        /* An operator restart: the old process is stopped as the old section says (stop_signal,
         * shutdown), the new one started from the new section (tree_handle_exit swaps them);
         * neither counts as a restart against the supervisor's intensity. */
        n->next_spec = spec;
        int r = tree_restart_node(t, n, ret_error);
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
        n->remove_when_down = true;
        n->held = true;
        n->restart_requested = false;
        n->next_spec = NULL;
        if (node_stop(n) > 0)
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
        emit(s, TREE_EVENT_STATE);
        if (ret)
                *ret = c;
        return 0;
}

void tree_move_child(Node *s, Node *c, size_t index) {
        ssize_t i = child_index(s, c);
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

/* One more child of a simple_one_for_one supervisor, made from its template: "job.N", N the next
 * instance number; args (may be NULL) are appended to its exec. Not started. */
static int sup_new_dynamic_child(Tree *t, Node *s, char **args, Node **ret) {
        char name[SPEC_NAME_MAX + 16];
        snprintf(name, sizeof name, "%s.%u", s->spec->template_->name, s->next_instance);
        Node *c;
        int r = node_new(t, s->spec->template_, s, name, (int) s->next_instance, &c);
        if (r < 0)
                return r;
        if (args && args[0] && !(c->extra_args = strv_copy(args))) {
                node_free(c);
                return -ENOMEM;
        }
        r = sup_append_child(s, c);
        if (r < 0) {
                node_free(c);
                return r;
        }
        s->next_instance++;
        *ret = c;
        return 0;
}

/* A simple_one_for_one supervisor's `instances` children, made each time it starts. */
static int make_instances(Tree *t, Node *s) {
        for (unsigned i = 0; i < s->spec->instances; i++) {
                Node *c;
                int r = sup_new_dynamic_child(t, s, NULL, &c);
                if (r < 0)
                        return r;
        }
        return 0;
}

Node *tree_find(Tree *t, const char *path) {
        Node *n = t->root;
        const char *p = path;

        while (*p == '/')
                p++;
        size_t len = strcspn(p, "/");
        if (strlen(n->name) != len || strncmp(n->name, p, len) != 0)
                return NULL;
        p += len;
        while (*p) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                len = strcspn(p, "/");
                Node *next = NULL;
                for (size_t i = 0; i < n->n_children; i++)
                        if (strlen(n->children[i]->name) == len && strncmp(n->children[i]->name, p, len) == 0) {
                                next = n->children[i];
                                break;
                        }
                if (!next)
                        return NULL;
                n = next;
                p += len;
        }
        return n;
}

static void walk(Node *n, unsigned depth, void (*fn)(Node *n, unsigned depth, void *ud), void *ud) {
        fn(n, depth, ud);
        for (size_t i = 0; i < n->n_children; i++)
                walk(n->children[i], depth + 1, fn, ud);
}

void tree_walk(Node *n, void (*fn)(Node *n, unsigned depth, void *ud), void *ud) {
        walk(n, 0, fn, ud);
}
