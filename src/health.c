/* SPDX-License-Identifier: MIT */
/* A worker's health check (health.h): scheduled on the loop, spawned by child.c as the worker's
 * pre_start is, reaped by the one reaper, judged here. */
#include "manager-internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "exitdesc.h"
#include "log.h"
#include "macro.h"
#include "priority.h"

static const char *const health_state_table[_HEALTH_STATE_MAX] = {
        [HEALTH_NONE] = NULL,
        [HEALTH_STARTING] = "starting",
        [HEALTH_HEALTHY] = "healthy",
        [HEALTH_UNHEALTHY] = "unhealthy",
};

const char *health_state_to_string(HealthState s) {
        return s >= 0 && s < _HEALTH_STATE_MAX ? health_state_table[s] : NULL;
}

static void schedule(Manager *m, Child *rt);
static void judge(Manager *m, Child *rt, bool pass);

/* The check and whatever it started (spawn.c made it a session leader; without cgroups its
 * process group is its own, and in the worker's cgroup only its group is its own). */
static void kill_check(Proc *p) {
        if (kill(-p->pid, SIGKILL) < 0)
                (void) kill(p->pid, SIGKILL);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        Child *rt = userdata;
        Health *h = &rt->health;
        if (!h->proc)
                return 0;
        h->timed_out = true; /* its exit, which the reaper brings, is the failure */
        kill_check(h->proc);
        return 0;
}

static int arm(Manager *m, sd_event_source **s, usec_t at, sd_event_time_handler_t cb, Child *rt) {
        if (!*s) {
                int r = sd_event_add_time(m->event, s, CLOCK_MONOTONIC, at, USEC_PER_MSEC, cb, rt);
                if (r < 0)
                        return r;
                sd_event_source_set_priority(*s, PRIORITY_SUPERVISE);
                return 0;
        }
        sd_event_source_set_time(*s, at);
        return sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
}

static int on_next(sd_event_source *s, uint64_t usec, void *userdata) {
        Child *rt = userdata;
        Manager *m = rt->manager;
        Node *n = rt->node;
        Health *h = &rt->health;
        char reason[sizeof n->reason];
        pid_t pid;

        if (!h->watching || !n->spec->health)
                return 0;
        if (h->proc) {
                /* The last incarnation's check is not reaped yet: never two at once. */
                schedule(m, rt);
                return 0;
        }
        /* A check that cannot be run fails as one that ran and failed; what child.c writes of
         * it is not the worker's reason. */
        memcpy(reason, n->reason, sizeof reason);
        int r = child_spawn_hook(m, n, NODE_HOOK_HEALTH, &pid);
        memcpy(n->reason, reason, sizeof reason);
        if (r < 0) {
                snprintf(h->last, sizeof h->last, "could not be run: %s", strerror(-r));
                judge(m, rt, false);
                return 0;
        }
        h->timed_out = false;
        h->stale = false;
        r = arm(m, &h->deadline, now_usec() + msec_to_usec(n->spec->health_timeout_ms), on_deadline, rt);
        if (r < 0) {
                /* Unbounded checks are not allowed: this one goes, and counts as failed. */
                log_child(LOG_WARNING, n->path, n->pid, 0, 0, n->restarts,
                          "Failed to arm the health check's timeout of '%s': %s", n->path, strerror(-r));
                h->timed_out = true;
                kill_check(h->proc);
        }
        return 0;
}

/* The next check, health_interval after now (Docker: after the last one ended). */
static void schedule(Manager *m, Child *rt) {
        int r = arm(m, &rt->health.next, now_usec() + msec_to_usec(rt->node->spec->health_interval_ms), on_next, rt);
        if (r < 0)
                log_child(LOG_ERR, rt->node->path, rt->node->pid, 0, 0, rt->node->restarts,
                          "Failed to schedule the health check of '%s': %s", rt->node->path, strerror(-r));
}

void health_worker_started(Manager *m, Node *n) {
        Child *rt = n->userdata;
        if (!rt || !n->spec->health)
                return;
        Health *h = &rt->health;
        h->watching = true;
        h->state = HEALTH_STARTING;
        h->failures = 0;
        h->last[0] = '\0';
        h->spawned_at = now_usec();
        h->grace = n->spec->health_start_period_ms > 0;
        schedule(m, rt);
}

void health_worker_exited(Manager *m, Node *n) {
        Child *rt = n->userdata;
        if (!rt)
                return;
        Health *h = &rt->health;
        h->watching = false;
        if (h->next)
                sd_event_source_set_enabled(h->next, SD_EVENT_OFF);
        if (h->proc) {
                kill_check(h->proc); /* reaped as any process; its result no longer matters */
                h->stale = true;
        }
}

/* How a check ended: pass, or one more failure (unless within health_start_period). */
static void judge(Manager *m, Child *rt, bool pass) {
        Node *n = rt->node;
        Health *h = &rt->health;

        if (!h->watching)
                return; /* the worker ended meanwhile */
        if (h->grace && now_usec() - h->spawned_at >= msec_to_usec(n->spec->health_start_period_ms))
                h->grace = false;
        if (pass) {
                bool first = h->state == HEALTH_STARTING;
                if (first)
                        log_child(LOG_INFO, n->path, n->pid, 0, 0, n->restarts, "'%s' is healthy", n->path);
                else if (h->state == HEALTH_UNHEALTHY || h->failures > 0)
                        log_child(LOG_INFO, n->path, n->pid, 0, 0, n->restarts, "'%s' is healthy again", n->path);
                h->state = HEALTH_HEALTHY;
                h->failures = 0;
                h->grace = false; /* a pass ends the start period, as Docker's does */
                schedule(m, rt);
                if (first && n->spec->ready == READY_HEALTH)
                        tree_handle_ready(m->tree, n);
                return;
        }
        if (h->grace) {
                log_child(LOG_INFO, n->path, n->pid, 0, 0, n->restarts,
                          "Health check of '%s' %s (within health_start_period: not counted)", n->path, h->last);
                schedule(m, rt);
                return;
        }
        h->failures++;
        if (n->state != NODE_RUNNING) {
                /* Not up yet (ready = health waits for its first pass, within ready_timeout):
                 * still starting, and the checks go on. */
                log_child(LOG_INFO, n->path, n->pid, 0, 0, n->restarts, "Health check of '%s' %s (not ready yet)",
                          n->path, h->last);
                schedule(m, rt);
                return;
        }
        log_child(LOG_WARNING, n->path, n->pid, 0, 0, n->restarts, "Health check of '%s' %s (%u of %u)", n->path,
                  h->last, h->failures < n->spec->health_retries ? h->failures : n->spec->health_retries,
                  n->spec->health_retries);
        if (h->failures < n->spec->health_retries) {
                schedule(m, rt);
                return;
        }
        h->state = HEALTH_UNHEALTHY;
        log_child(LOG_WARNING, n->path, n->pid, 0, 0, n->restarts,
                  "'%s' is unhealthy: %u health checks failed in a row; stopping it", n->path, h->failures);
        tree_stop_unhealthy(m->tree, n);
}

bool health_reaped(Manager *m, Proc *proc, int code, int status) {
        if (!proc)
                return false;
        Node *n = proc->node;
        Child *rt = n->userdata;
        if (!rt || rt->health.proc != proc)
                return false;
        Health *h = &rt->health;

        /* What it started goes with it (its process group: spawn.c made it a session leader),
         * as for any process of the node; the worker's cgroup stays: the worker runs in it. */
        if (n->spec->kill_group)
                (void) kill(-proc->pid, SIGKILL);
        if (!rt->cgroup)
                guard_forget_session(m->guard, proc->pid);
        if (rt->output)
                output_pipe_drain(rt->output);
        h->proc = proc_release(&m->procs, proc);
        if (h->deadline)
                sd_event_source_set_enabled(h->deadline, SD_EVENT_OFF);

        if (h->stale)
                return true; /* killed when the worker ended: it says nothing of its successor */
        bool pass = !h->timed_out && code == CLD_EXITED && status == 0;
        if (h->timed_out)
                snprintf(h->last, sizeof h->last, "timed out after %llu ms",
                         (unsigned long long) n->spec->health_timeout_ms);
        else {
                char how[64];
                exit_describe(&(ExitHow) { code, status, false }, EXIT_STYLE_REASON, how, sizeof how);
                snprintf(h->last, sizeof h->last, "%s (%s)", pass ? "passed" : "failed", how);
        }
        judge(m, rt, pass);
        return true;
}

void health_release(Manager *m, Health *h) {
        h->next = sd_event_source_disable_unref(h->next);
        h->deadline = sd_event_source_disable_unref(h->deadline);
        if (h->proc) {
                kill_check(h->proc); /* reaped as an orphan of ours, by the reaper or at the end */
                h->proc = proc_release(&m->procs, h->proc);
        }
}

const char *manager_node_health(const Node *n, unsigned *ret_failures, const char **ret_last) {
        const Child *rt = n->userdata;
        if (!rt || !n->spec->health || rt->health.state == HEALTH_NONE)
                return NULL;
        *ret_failures = rt->health.failures;
        *ret_last = rt->health.last;
        return health_state_to_string(rt->health.state);
}
