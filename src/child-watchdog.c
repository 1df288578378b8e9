/* SPDX-License-Identifier: MIT */
/* A child's watchdog, as systemd's WatchdogSec=: armed when its process is spawned, pushed back
 * by each keep-alive (WATCHDOG=1 on the notify socket, or a WATCHDOG frame on the mailbox), and
 * when it runs out the tree kills the worker for it (tree_watchdog_worker). The child may fire
 * it itself (WATCHDOG=trigger), change its timeout (WATCHDOG_USEC=), or, while starting, push
 * back its ready_timeout (EXTEND_TIMEOUT_USEC=). One timer source per child, made with it. */
#include "manager-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "notify.h"
#include "priority.h"
#include "signame.h"

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        Child *rt = userdata;
        Node *n = rt->node;

        if (!rt->proc || n->pid <= 0)
                return 0; /* reaped meanwhile */
        log_child(LOG_WARNING, n->path, n->pid, 0, 0, n->restarts,
                  "'%s' (pid %d) sent no watchdog keep-alive within %llu ms, killing it with %s",
                  n->path, (int) n->pid, (unsigned long long) (rt->watchdog_usec / USEC_PER_MSEC),
                  signal_name(n->spec->watchdog_signal) ?: "its watchdog_signal");
        char why[96];
        snprintf(why, sizeof why, "no watchdog keep-alive within %llu ms",
                 (unsigned long long) (rt->watchdog_usec / USEC_PER_MSEC));
        tree_watchdog_worker(rt->manager->tree, n, why);
        return 0;
}

int child_watchdog_attach(Manager *m, Child *rt) {
        if (rt->watchdog)
                return 0;
        int r = sd_event_add_time(m->event, &rt->watchdog, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_watchdog, rt);
        if (r < 0)
                return r;
        sd_event_source_set_priority(rt->watchdog, PRIORITY_SUPERVISE);
        sd_event_source_set_enabled(rt->watchdog, SD_EVENT_OFF);
        return 0;
}

void child_watchdog_free(Child *rt) {
        rt->watchdog = sd_event_source_disable_unref(rt->watchdog);
}

/* Due watchdog_usec from now, or off when that is 0. */
static void rearm(Child *rt) {
        if (!rt->watchdog)
                return;
        if (rt->watchdog_usec == 0 || rt->watchdog_usec == USEC_INFINITY) {
                sd_event_source_set_enabled(rt->watchdog, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(rt->watchdog, now_usec() + rt->watchdog_usec);
        sd_event_source_set_enabled(rt->watchdog, SD_EVENT_ONESHOT);
}

void child_watchdog_start(Child *rt) {
        rt->watchdog_usec = msec_to_usec(rt->node->spec->watchdog_ms);
        rearm(rt);
}

void child_watchdog_stop(Child *rt) {
        rt->watchdog_usec = 0;
        if (rt->watchdog)
                sd_event_source_set_enabled(rt->watchdog, SD_EVENT_OFF);
}

/* The worker's own process, not its pre_start or post_stop, and not on its way down. */
static bool watched(const Node *n, pid_t pid) {
        return n->hook == NODE_HOOK_NONE && n->pid == pid &&
               (n->state == NODE_STARTING || n->state == NODE_RUNNING);
}

void child_watchdog_ping(Manager *m, Node *n, pid_t pid) {
        Child *rt = n->userdata;
        (void) m;
        if (rt && watched(n, pid))
                rearm(rt);
}

/* A duration in microseconds as sd_notify sends it: decimal digits only. */
static int parse_usec(const char *s, usec_t *ret) {
        char *end;
        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || *end)
                return -EINVAL;
        *ret = (usec_t) v;
        return 0;
}

void child_watchdog_notify(Manager *m, Node *n, pid_t pid, const char *msg) {
        Child *rt = n->userdata;
        char buf[32];
        usec_t usec;

        if (!rt || !watched(n, pid))
                return;
        /* A new timeout first: a WATCHDOG=1 in the same message then counts from it. */
        if (notify_field(msg, "WATCHDOG_USEC", buf, sizeof buf)) {
                if (parse_usec(buf, &usec) < 0)
                        log_warning("'%s' (pid %d) sent a bad WATCHDOG_USEC '%s': ignored", n->path, (int) pid, buf);
                else {
                        rt->watchdog_usec = usec; /* 0 turns it off for this run, as systemd's */
                        rearm(rt);
                }
        }
        if (notify_field(msg, "EXTEND_TIMEOUT_USEC", buf, sizeof buf)) {
                if (parse_usec(buf, &usec) < 0)
                        log_warning("'%s' (pid %d) sent a bad EXTEND_TIMEOUT_USEC '%s': ignored", n->path, (int) pid, buf);
                else
                        tree_extend_ready(m->tree, n, usec >= USEC_INFINITY - now_usec() ? USEC_INFINITY - 1
                                                                                          : now_usec() + usec);
        }
        if (notify_field(msg, "WATCHDOG", buf, sizeof buf)) {
                if (strcmp(buf, "1") == 0)
                        rearm(rt);
                else if (strcmp(buf, "trigger") == 0) {
                        log_child(LOG_WARNING, n->path, n->pid, 0, 0, n->restarts,
                                  "'%s' (pid %d) asked for its watchdog (WATCHDOG=trigger), killing it with %s",
                                  n->path, (int) n->pid, signal_name(n->spec->watchdog_signal) ?: "its watchdog_signal");
                        child_watchdog_stop(rt);
                        tree_watchdog_worker(m->tree, n, "asked for its watchdog (WATCHDOG=trigger)");
                }
        }
}
