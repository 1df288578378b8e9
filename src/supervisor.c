/* SPDX-License-Identifier: MIT */
/* What a supervisor does, as OTP's: it runs at most one job at a time (start its children in
 * order, or stop them in reverse) and keeps the exits of other children until the job ends, as
 * an OTP supervisor's mailbox would; on a child's exit it decides by restart type, strategy and
 * intensity, and escalates by terminating itself. Dynamic children (simple_one_for_one) are
 * made and scaled here too. */
#include "tree-internal.h"

/* Every switch over a state, an event or a policy names every value. */
#pragma GCC diagnostic error "-Wswitch-enum"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitdesc.h"
#include "strv.h"

/* ---- supervisors: jobs ------------------------------------------------------------------ */

static void sup_finish_job(Node *s);

/* The one way a supervisor's job changes: a job begins when none runs, except that a failed
 * start's rollback (a STOP) replaces the START it ends; a job ends into none. */
static void sup_job_enter(Node *s, SupOp op) {
        assert(op == SUP_OP_NONE || s->op == SUP_OP_NONE || (s->op == SUP_OP_START && op == SUP_OP_STOP));
        s->op = op;
}

/* Down, and started by a START job that reaches it: a one-shot that is done (NODE_EXITED) runs
 * again when its supervisor starts its children again (its own restart, one_for_all,
 * rest_for_one), as OTP restarts a transient child that had ended normally. */
static bool startable(const Node *c) {
        return c->state == NODE_STOPPED || c->state == NODE_FAILED || c->state == NODE_EXITED;
}

static bool skip_on_start(const Node *s, const Node *c) {
        if (node_is_held(c))
                return true;
        /* Temporary children stopped by a group restart are not started again (OTP). */
        return s->op_is_restart && c->spec->restart == RESTART_TEMPORARY;
}

/* A simple_one_for_one supervisor's children are alike and independent of each other: a START
 * job starts them all at once, as `scale` does, and ends when all are up, so that a fleet whose
 * workers must live min_uptime boots in one min_uptime, not one per instance. Other supervisors
 * start their children in order, each once the one before it is up (OTP). */
static bool starts_all_at_once(const Node *s) {
        return s->spec->strategy == STRATEGY_SIMPLE_ONE_FOR_ONE;
}

/* Starts child c of a START job that starts all at once; false when that failed (and the failure
 * was handled: the job is over). */
static bool start_one_of_all(Node *s, Node *c) {
        if (skip_on_start(s, c) || !startable(c))
                return true; /* one still stopping is started by its report */
        if (node_start(c) >= 0)
                return true;
        parent_on_child(s, c, REPORT_START_FAILED);
        return false;
}

static void sup_continue_start_all(Node *s) {
        if (!s->start_all_sent) {
                s->start_all_sent = true;
                for (size_t i = s->cursor; i < s->n_children; i++)
                        if (!start_one_of_all(s, s->children[i]))
                                return;
        }
        /* The cursor only moves past children that are up: a thousand reports, a thousand steps. */
        while (s->cursor < s->n_children &&
               (node_is_up(s->children[s->cursor]) || skip_on_start(s, s->children[s->cursor]) ||
                s->children[s->cursor]->pending_exit != NODE_PENDING_EXIT_NONE))
                s->cursor++;
        if (s->cursor < s->n_children)
                return;
        sup_finish_job(s);
}

void sup_begin_start(Node *s, size_t from, bool is_restart) {
        sup_job_enter(s, SUP_OP_START);
        s->cursor = from;
        s->op_is_restart = is_restart;
        s->start_all_sent = false;
        sup_continue_start(s);
}

void sup_continue_start(Node *s) {
        if (starts_all_at_once(s)) {
                sup_continue_start_all(s);
                return;
        }
        while (s->cursor < s->n_children) {
                Node *c = s->children[s->cursor];
                if (c->state == NODE_RUNNING || skip_on_start(s, c)) {
                        s->cursor++;
                        continue;
                }
                if (!startable(c))
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
void sup_begin_stop(Node *s, size_t lo, size_t hi_excl, SupAfter after) {
        sup_job_enter(s, SUP_OP_STOP);
        s->lo = lo;
        s->cursor = hi_excl;
        s->stop_all_sent = false;
        s->after = after;
        sup_continue_stop(s);
}

/* Why a supervisor's STOP job stops its children: a restart of theirs, its own stop, or its
 * own end (giving up, a failed start, auto_shutdown). */
NodeReason sup_stop_reason(const Node *s) {
        switch (s->after) {
        case AFTER_RESTART:
                return NODE_REASON_SIBLING;
        case AFTER_STOPPED:
                return s->stop_reason != NODE_REASON_NONE ? s->stop_reason : NODE_REASON_SHUTDOWN;
        case AFTER_GIVE_UP:
        case AFTER_ROLLBACK:
        case AFTER_SHUTDOWN:
        case AFTER_NOTHING:
        default:
                return NODE_REASON_SHUTDOWN;
        }
}

static bool stopped_for_job(const Node *c) {
        return node_is_down(c) && c->state != NODE_RESTARTING;
}

void sup_continue_stop(Node *s) {
        if (s->spec->strategy == STRATEGY_SIMPLE_ONE_FOR_ONE) {
                /* Dynamic children are all told at once; the job ends when all are down. The
                 * cursor only moves down past children that are down, so the reports of a
                 * thousand children cost a thousand steps, not a million. */
                if (!s->stop_all_sent) {
                        s->stop_all_sent = true;
                        for (size_t i = s->lo; i < s->cursor && i < s->n_children; i++)
                                (void) node_stop(s->children[i], sup_stop_reason(s));
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
                if (node_stop(c, sup_stop_reason(s)) == 0)
                        return;
                s->cursor--;
        }
        sup_finish_job(s);
}

static void sup_process_pending_exits(Node *s) {
        for (size_t i = 0; i < s->n_children && s->op == SUP_OP_NONE && s->state == NODE_RUNNING; i++) {
                Node *c = s->children[i];
                NodePendingExit pending = c->pending_exit;
                if (pending == NODE_PENDING_EXIT_NONE)
                        continue;
                c->pending_exit = NODE_PENDING_EXIT_NONE;
                /* A group restart may have brought it back already. */
                if (node_is_down(c))
                        sup_handle_exit(s, c, pending == NODE_PENDING_EXIT_ABNORMAL);
        }
}

static void sup_finish_job(Node *s) {
        SupOp op = s->op;
        sup_job_enter(s, SUP_OP_NONE);

        if (op == SUP_OP_START) {
                if (s->state == NODE_STARTING) {
                        node_enter(s, NODE_RUNNING);
                        node_emit(s, TREE_EVENT_READY);
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
                s->exit_reason = NODE_REASON_GAVE_UP;
                node_enter(s, NODE_FAILED);
                node_report(s, REPORT_EXIT_ABNORMAL);
                return;
        case AFTER_ROLLBACK:
                s->exit_reason = NODE_REASON_START_FAILED;
                node_enter(s, NODE_FAILED);
                node_emit(s, TREE_EVENT_START_FAILED);
                node_report(s, REPORT_START_FAILED);
                return;
        case AFTER_STOPPED:
                s->exit_reason = sup_stop_reason(s);
                node_enter(s, NODE_STOPPED);
                node_emit(s, TREE_EVENT_STOPPED);
                node_report(s, REPORT_DOWN);
                return;
        case AFTER_SHUTDOWN:
                s->exit_reason = NODE_REASON_NORMAL; /* auto_shutdown: a normal exit for its parent */
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

/* child: the path of the child that terminated (it may be freed already); status: how it ended,
 * as a shell's $?. */
static void sup_check_auto_shutdown(Node *s, bool was_significant, const char *child, int status) {
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
        node_set_reason(s, "significant child '%s' terminated", child);
        s->shutdown_status = status;
        node_emit(s, TREE_EVENT_AUTO_SHUTDOWN);
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
void sup_handle_exit(Node *s, Node *c, bool abnormal) {
        Tree *t = s->tree;
        const Spec *cs = c->spec;
        bool restart = !t->shutting_down && !node_is_held(c) &&
                       (cs->restart == RESTART_PERMANENT || (cs->restart == RESTART_TRANSIENT && abnormal));

        if (!restart) {
                bool significant = cs->significant;
                char child[256];
                snprintf(child, sizeof child, "%s", c->path);
                /* A supervisor ends normally only by its own auto_shutdown: it passes that on. */
                int status = !node_is_supervisor(c) ?
                        exit_shell_status(&(ExitHow) { c->exit_code, c->exit_status, c->exit_oom }) :
                        abnormal ? 1 : c->shutdown_status;
                if (c->instance >= 0 && !node_is_held(c))
                        sup_remove_child(s, c); /* OTP forgets dynamic children that are done */
                if (!t->shutting_down)
                        sup_check_auto_shutdown(s, significant, child, status);
                return;
        }

        if (sup_intensity_exceeded(s)) {
                node_set_reason(s, "reached restart intensity (%u in %llu ms) after '%s' terminated",
                           s->spec->intensity, (unsigned long long) s->spec->period_ms, c->path);
                node_emit(s, TREE_EVENT_GAVE_UP);
                sup_terminate(s, AFTER_GIVE_UP);
                return;
        }

        c->restarts++;
        /* Known before the announcement, so the log says how long the restart waits; a group
         * restart (one_for_all, rest_for_one) starts its children at once. */
        bool alone = s->spec->strategy == STRATEGY_ONE_FOR_ONE ||
                     s->spec->strategy == STRATEGY_SIMPLE_ONE_FOR_ONE;
        c->restart_delay = alone ? restart_delay(c) : 0;
        node_emit(c, TREE_EVENT_RESTARTING);
        ssize_t i = sup_child_index(s, c);
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

void parent_on_child(Node *s, Node *c, Report rep) {
        ssize_t idx = sup_child_index(s, c);
        assert(idx >= 0);

        switch (rep) {
        case REPORT_UP:
                if (s->op == SUP_OP_START && starts_all_at_once(s))
                        sup_continue_start(s);
                else if (s->op == SUP_OP_START && s->cursor == (size_t) idx) {
                        s->cursor++;
                        sup_continue_start(s);
                }
                return;

        case REPORT_START_FAILED:
                if (c->new_instance) {
                        /* Made by start-child or scale and never up: as OTP's start_child when
                         * the child's init fails, the error goes to the caller (its waiter) and
                         * no child is kept; nothing counts against our intensity. */
                        snprintf(s->reason, sizeof s->reason, "'%s' failed to start: %.200s", c->path, c->reason);
                        s->start_failed_at = tree_now(s->tree);
                        sup_remove_child(s, c);
                        if (s->op == SUP_OP_STOP)
                                sup_continue_stop(s);
                        return;
                }
                if (s->op == SUP_OP_START &&
                    (s->cursor == (size_t) idx || (starts_all_at_once(s) && (size_t) idx > s->cursor))) {
                        if (s->state == NODE_STARTING) {
                                /* Our own start fails: roll back what we started, in reverse
                                 * (all of them, when they were started at once). */
                                node_set_reason(s, "child '%s' failed to start: %s", c->path, c->reason);
                                node_enter(s, NODE_STOPPING);
                                sup_begin_stop(s, 0, starts_all_at_once(s) ? s->n_children : (size_t) idx,
                                               AFTER_ROLLBACK);
                                return;
                        }
                        /* A failed restart counts as one more failure of that child. */
                        sup_job_enter(s, SUP_OP_NONE);
                        node_schedule_retry(c, 0);
                        return;
                }
                if (s->op == SUP_OP_NONE && s->state == NODE_RUNNING && !node_is_held(c) &&
                    !s->tree->shutting_down) {
                        /* A restart of ours that did not come up. */
                        node_schedule_retry(c, 0);
                        return;
                }
                if (c->intent == NODE_INTENT_REMOVE)
                        sup_remove_child(s, c);
                if (s->op == SUP_OP_STOP)
                        sup_continue_stop(s);
                return;

        case REPORT_DOWN:
                if (c->intent == NODE_INTENT_REMOVE)
                        sup_remove_child(s, c);
                else if (c->intent == NODE_INTENT_START) {
                        c->intent = NODE_INTENT_POLICY;
                        if (s->state == NODE_RUNNING && s->op == SUP_OP_NONE && node_start(c) < 0)
                                node_schedule_retry(c, 0);
                }
                if (s->op == SUP_OP_STOP)
                        sup_continue_stop(s);
                else if (s->op == SUP_OP_START && starts_all_at_once(s) && (size_t) idx >= s->cursor &&
                         !start_one_of_all(s, c))
                        return;
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
                        c->pending_exit = abnormal ? NODE_PENDING_EXIT_ABNORMAL : NODE_PENDING_EXIT_NORMAL;
                        if (s->op == SUP_OP_START && starts_all_at_once(s))
                                sup_continue_start(s); /* it was up: it no longer holds the job */
                        return;
                }
                if (s->state != NODE_RUNNING)
                        return;
                sup_handle_exit(s, c, abnormal);
                return;
        }
        case REPORT_NONE:
        case REPORT_PENDING:
        default:
                assert_not_reached();
        }
}

/* A child of a simple_one_for_one supervisor made from its template: "job.N" for instance N,
 * placed at index among its children (kept in instance order); args (may be NULL) are appended
 * to its exec. Not started. */
static int sup_new_instance(Tree *t, Node *s, unsigned instance, size_t index, char **args, Node **ret) {
        char name[SPEC_NAME_MAX + 16];
        snprintf(name, sizeof name, "%s.%u", s->spec->template_->name, instance);
        Node *c;
        int r = node_new(t, s->spec->template_, s, name, (int) instance, &c);
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
        tree_move_child(s, c, index);
        /* start-child's numbers stay above every number in use. */
        if (instance >= s->next_instance)
                s->next_instance = instance + 1;
        *ret = c;
        return 0;
}

/* One more child of a simple_one_for_one supervisor (start-child): the next instance number,
 * never one used before since the supervisor started. */
int sup_new_dynamic_child(Tree *t, Node *s, char **args, Node **ret) {
        return sup_new_instance(t, s, s->next_instance, s->n_children, args, ret);
}

/* A new instance of a running simple_one_for_one supervisor, started at once (start-child,
 * scale). As OTP's start_child, one that fails to start is an error for its caller and is not
 * kept, whether it fails here or later (min_uptime, ready: parent_on_child), and nothing counts
 * against the supervisor's intensity: a bad template cannot take the fleet down. On failure,
 * s->reason says which and why. */
int sup_start_new_instance(Tree *t, Node *s, unsigned instance, size_t index, char **args, Node **ret) {
        Node *c;
        int r = sup_new_instance(t, s, instance, index, args, &c);
        if (r < 0)
                return r;
        c->new_instance = true;
        r = node_start(c);
        if (r < 0) {
                snprintf(s->reason, sizeof s->reason, "'%s' failed to start: %.200s", c->path, c->reason);
                s->start_failed_at = tree_now(t);
                sup_remove_child(s, c);
                return r;
        }
        *ret = c;
        return 0;
}

/* A simple_one_for_one supervisor's instances (its section's, or as scaled), made each time it
 * starts. */
int make_instances(Tree *t, Node *s) {
        for (unsigned i = 0; i < s->instances; i++) {
                Node *c;
                int r = sup_new_dynamic_child(t, s, NULL, &c);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* tree_scale's work, on a running simple_one_for_one supervisor with no job: its children are
 * in instance order, so the highest numbers are at the end and the free ones are the gaps. */
static int sup_scale(Tree *t, Node *s, unsigned n, NodeReason why) {
        size_t live = 0;
        for (size_t i = 0; i < s->n_children; i++)
                live += s->children[i]->intent != NODE_INTENT_REMOVE;

        /* Down: the highest numbers first, told all at once (as a shutdown tells them). */
        for (size_t i = s->n_children; i > 0 && live > n; i--) {
                Node *c = s->children[i - 1];
                if (c->intent == NODE_INTENT_REMOVE)
                        continue;
                live--;
                c->intent = NODE_INTENT_REMOVE;
                if (node_stop(c, why) > 0)
                        sup_remove_child(s, c);
        }

        /* Up: the lowest free numbers, started all at once. */
        size_t i = 0;
        for (unsigned k = 1; live < n; k++) {
                while (i < s->n_children && s->children[i]->instance < (int) k)
                        i++;
                if (i < s->n_children && s->children[i]->instance == (int) k) {
                        Node *c = s->children[i];
                        if (c->intent == NODE_INTENT_REMOVE) {
                                /* Still on its way out (a child being removed is forgotten once
                                 * down): started again then, under its number. */
                                assert(!node_is_down(c));
                                c->intent = NODE_INTENT_START;
                                live++;
                        }
                        continue;
                }
                Node *c;
                int r = sup_start_new_instance(t, s, k, i, NULL, &c);
                if (r < 0)
                        return r;
                live++;
        }
        return 0;
}

int tree_scale(Tree *t, Node *s, unsigned n, NodeReason why, unsigned *ret_seq, const char **ret_error) {
        if (!node_is_supervisor(s) || s->spec->strategy != STRATEGY_SIMPLE_ONE_FOR_ONE) {
                *ret_error = "not a simple_one_for_one supervisor";
                return -EINVAL;
        }
        if (n > TREE_INSTANCES_MAX || (s->spec->max_children > 0 && n > s->spec->max_children)) {
                *ret_error = s->spec->max_children > 0 ? "more instances than max_children"
                                                       : "more instances than 1000000";
                return -ERANGE;
        }
        if (t->shutting_down || s->state != NODE_RUNNING || s->op != SUP_OP_NONE) {
                *ret_error = t->shutting_down              ? "the tree is shutting down"
                             : s->state != NODE_RUNNING ? "the supervisor is not running"
                                                        : "the supervisor is busy starting or stopping children, try again";
                return -EBUSY;
        }
        s->instances = n;
        *ret_seq = ++s->scale_seq;
        int r = sup_scale(t, s, n, why);
        /* A new count, even with no process touched: observers (a scale it supersedes) look again. */
        node_emit(s, TREE_EVENT_STATE);
        if (r < 0)
                *ret_error = r == -ENOMEM ? "out of memory" : s->reason;
        return r;
}

int tree_scale_check(const Node *s, unsigned seq, unsigned n, usec_t since, char *error, size_t size) {
        if (s->scale_seq != seq) {
                snprintf(error, size, "superseded by a later scale to %u", s->instances);
                return -ESTALE;
        }
        if (s->state != NODE_RUNNING) {
                snprintf(error, size, "'%s' is %s%s%s", s->path, node_state_to_string(s->state),
                         s->reason[0] ? ": " : "", s->reason);
                return -ENOTCONN;
        }
        unsigned live = 0;
        bool done = true;
        for (size_t i = 0; i < s->n_children; i++) {
                const Node *c = s->children[i];
                if (c->intent == NODE_INTENT_REMOVE) {
                        done = false; /* until it is gone */
                        continue;
                }
                live++;
                if (!node_is_up(c) && !(c->intent == NODE_INTENT_HOLD && node_is_down(c)))
                        done = false;
        }
        /* An instance it started failed and was forgotten (a failed restart of an instance that
         * was up is its supervisor's business, not this scale's). */
        if (live < n && s->start_failed_at >= since && s->start_failed_at > 0) {
                snprintf(error, size, "%s", s->reason);
                return -EIO;
        }
        if (live != n) {
                snprintf(error, size, "it has %u instances now (changed by start-child, terminate-child, or an "
                         "instance that ended for good)", live);
                return -ECHILD;
        }
        return done;
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
