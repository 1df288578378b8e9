/* SPDX-License-Identifier: MIT */
/* A worker's health check (`health`, Docker's HEALTHCHECK): a command the node runs as the worker
 * runs, every health_interval after the last one ended, never two at once, killed at
 * health_timeout. health_retries failures in a row (after health_start_period) make the worker
 * unhealthy: the tree stops it and its supervisor restarts it as after a crash (reason
 * "unhealthy"). With ready = health its first pass makes it ready. The check is a process of the
 * node (a Proc, reaped by the one reaper) but never Node.pid. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "proc.h"
#include "time-util.h"

struct Manager;
struct Node;

typedef enum HealthState {
        HEALTH_NONE,       /* no health key, or never started */
        HEALTH_STARTING,   /* spawned; no check has passed yet (and not unhealthy yet) */
        HEALTH_HEALTHY,    /* the last check passed, or fewer than health_retries failed since */
        HEALTH_UNHEALTHY,  /* health_retries checks failed in a row */
        _HEALTH_STATE_MAX,
} HealthState;

#define HEALTH_LAST_MAX 96

/* Per worker, in its Child (manager-internal.h), across its incarnations. */
typedef struct Health {
        sd_event_source *next;     /* the next check is due */
        sd_event_source *deadline; /* the running check's health_timeout */
        Proc *proc;                /* the check running (until reaped), or NULL */
        HealthState state;
        unsigned failures;         /* in a row, that counted */
        bool watching;             /* the worker's process runs: checks are scheduled */
        bool grace;                /* within health_start_period and no pass yet */
        bool timed_out;            /* the running check was killed at health_timeout */
        bool stale;                /* the running check was killed when the worker ended */
        usec_t spawned_at;         /* the worker's process */
        char last[HEALTH_LAST_MAX];/* how the last check ended, "" before the first */
} Health;

const char *health_state_to_string(HealthState s);

/* The worker's own process was spawned (TREE_EVENT_STARTED) or has ended (TREE_EVENT_EXITED):
 * checks start, or stop (one running is killed; it is reaped as any process). */
void health_worker_started(struct Manager *m, struct Node *n);
void health_worker_exited(struct Manager *m, struct Node *n);
/* The reaper found proc: true when it was n's check (handled and released), else false. */
bool health_reaped(struct Manager *m, Proc *proc, int code, int status);
/* The node is being freed: its timers go, a running check is killed and forgotten. */
void health_release(struct Manager *m, Health *h);
