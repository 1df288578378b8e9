/* SPDX-License-Identifier: MIT */
/* The running supervision tree: OTP's supervisor state machines (strategies, restart types,
 * intensity, escalation, ordered start and reverse stop) over nodes that are workers or
 * supervisors. Pure policy: every effect on the world goes through TreeOps, so unit tests drive
 * it with no process at all and the daemon plugs in spawn, kill and sd-event timers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "spec.h"
#include "time-util.h"

typedef enum NodeState {
        NODE_STOPPED,     /* not running, not scheduled */
        NODE_STARTING,    /* spawned, waiting to be ready; or a supervisor starting its children */
        NODE_RUNNING,
        NODE_STOPPING,    /* stop signal sent (timer armed), or a supervisor stopping its children */
        NODE_RESTARTING,  /* waiting for restart_delay */
        NODE_FAILED,      /* failed to start, or a supervisor that gave up */
        NODE_EXITED,      /* a one-shot (ready = exit) that exited normally: done, counts as up,
                           * not restarted; a start, restart or group restart runs it again */
        _NODE_STATE_MAX,
        _NODE_STATE_INVALID = -1,
} NodeState;

/* What a node's one timer means while it is armed: one purpose at a time, named, so that its
 * expiry is never read from the state (a restart retried in FAILED, a stale retry after an
 * operator start). Entering another state disarms it. */
typedef enum NodeTimer {
        NODE_TIMER_NONE,
        NODE_TIMER_READY,       /* STARTING worker: ready_timeout ran out */
        NODE_TIMER_MIN_UPTIME,  /* STARTING worker: min_uptime is over (it comes before the
                                 * ready_timeout, which is then armed if it is not ready yet) */
        NODE_TIMER_SHUTDOWN,    /* STOPPING: its shutdown time ran out, SIGKILL (its subtree) */
        NODE_TIMER_RETRY,       /* RESTARTING: restart_delay is over; FAILED: retry a failed restart */
        NODE_TIMER_HOOK,        /* STARTING, STOPPING: its pre_start or post_stop outlived the
                                 * worker's shutdown time: SIGKILL */
        _NODE_TIMER_MAX,
} NodeTimer;

typedef enum TreeEvent {
        TREE_EVENT_STARTED,     /* a worker was spawned (pid set) */
        TREE_EVENT_READY,       /* a node became running */
        TREE_EVENT_EXITED,      /* a worker terminated (exit fields set) */
        TREE_EVENT_RESTARTING,  /* a node is about to be restarted (maybe after a delay) */
        TREE_EVENT_GAVE_UP,     /* a supervisor reached its restart intensity */
        TREE_EVENT_START_FAILED,/* a node failed to start (reason in node->reason) */
        TREE_EVENT_STOPPED,     /* a node is down after a stop we asked for */
        TREE_EVENT_KILLING,     /* a node's shutdown time ran out: SIGKILL for it (its subtree) */
        TREE_EVENT_AUTO_SHUTDOWN,/* a supervisor shuts down for auto_shutdown (why in node->reason) */
        TREE_EVENT_HOOK_STARTED,/* a worker's pre_start or post_stop was spawned (Node.hook, pid) */
        TREE_EVENT_HOOK_EXITED, /* it ended (hook_code, hook_status; NODE_EXIT_START_FAILED and
                                 * the errno when it could not be run) */
        TREE_EVENT_STATE,       /* any other state change */
        _TREE_EVENT_MAX,
} TreeEvent;

/* What is asked of a node beyond its policy, by the operator or a reload. One at a time: a
 * removal wins over the others, and a stop over a pending start. */
typedef enum NodeIntent {
        NODE_INTENT_POLICY,     /* nothing: its restart type and its supervisor decide */
        NODE_INTENT_HOLD,       /* stopped by the operator: left down, never restarted */
        NODE_INTENT_START,      /* restart asked while it was stopping: started again once down */
        NODE_INTENT_REMOVE,     /* terminate-child or reload: stopped and forgotten once down */
        _NODE_INTENT_MAX,
} NodeIntent;

/* What the tree did to a worker's running process, for how its exit is read. */
typedef enum NodeSignalled {
        NODE_SIGNALLED_NO,        /* nobody asked it to stop: its exit is its own */
        NODE_SIGNALLED_STOP,      /* stopped or killed by the tree (supervisor, operator, shutdown) */
        NODE_SIGNALLED_NOT_READY, /* killed for ready_timeout: its exit is a failed start */
        NODE_SIGNALLED_WATCHDOG,  /* sent watchdog_signal while running: its exit is abnormal */
        _NODE_SIGNALLED_MAX,
} NodeSignalled;

/* Why a node went down: how a worker's process ended on its own, or why the tree stopped it.
 * The tree records the second before it sends the signal (Node.stop_reason, cleared at each
 * start), so that the exit can be told from one the node caused. The "reason" of the exited
 * and restarting events (SPEC 10), info's "exit reason", the journal's FORKVISOR_REASON. */
typedef enum NodeReason {
        NODE_REASON_NONE,         /* no exit yet; or nobody asked it to stop */
        NODE_REASON_CRASH,        /* ended on its own: a status not in normal_exit, or a signal
                                   * the node did not send */
        NODE_REASON_NORMAL,       /* ended on its own with a status in normal_exit */
        NODE_REASON_OOM,          /* the OOM killer struck during the run (memory_max) */
        NODE_REASON_OPERATOR,     /* stop, restart or terminate-child */
        NODE_REASON_RELOAD,       /* a reload changed or removed it */
        NODE_REASON_SHUTDOWN,     /* the node, or a supervisor above it, shuts down: a signal,
                                   * shutdown, auto_shutdown, giving up, a failed start's rollback */
        NODE_REASON_SIBLING,      /* one_for_all, rest_for_one: another child of its supervisor exited */
        NODE_REASON_TIMEOUT,      /* not ready within ready_timeout */
        NODE_REASON_START_FAILED, /* could not be started, or exited before it was ready */
        NODE_REASON_GAVE_UP,      /* a supervisor: reached its restart intensity */
        NODE_REASON_MAILBOX,      /* killed for its mailbox (broke the protocol, lost a message) */
        NODE_REASON_WATCHDOG,     /* killed for its watchdog: no keep-alive within `watchdog` */
        NODE_REASON_UNHEALTHY,    /* stopped for failing health_retries health checks in a row */
        _NODE_REASON_MAX,
} NodeReason;

typedef enum NodePendingExit {
        NODE_PENDING_EXIT_NONE,
        NODE_PENDING_EXIT_NORMAL,
        NODE_PENDING_EXIT_ABNORMAL,
        _NODE_PENDING_EXIT_MAX,
} NodePendingExit;

/* What Node.pid is when it is not the worker's own process (pre_start, post_stop). */
typedef enum NodeHook {
        NODE_HOOK_NONE,
        NODE_HOOK_PRE_START,    /* before each start: STARTING; a failure is a failed start */
        NODE_HOOK_POST_STOP,    /* after each stop or exit: STOPPING; then what the exit meant */
        NODE_HOOK_HEALTH,       /* never in Node.hook: the health check runs beside the worker's
                                 * own process (health.h); spawn_hook's third kind of command */
        _NODE_HOOK_MAX,
} NodeHook;

/* Node.exit_code when the last attempt to run a process failed before it ran (exec failed):
 * it replaces the exit before it, which no longer says how the worker is doing. */
#define NODE_EXIT_START_FAILED (-1)

typedef struct Node Node;
typedef struct Tree Tree;

/* Every effect of the tree on the world. ud is TreeOps' owner (the manager, or a test). */
typedef struct TreeOps {
        /* Start the worker's process. 0 with *ret_pid, or -errno with node->reason filled in.
         * *ret_ready says it is ready at once (ready = none: exec succeeded). *ret_pid 0: nothing
         * started yet (listen_accept = lazy: the worker waits for its first connection, counted
         * as up meanwhile; tree_handle_activate() when it comes). */
        int (*spawn)(void *ud, Node *n, pid_t *ret_pid, bool *ret_ready);
        /* Start the worker's pre_start or post_stop (spec->pre_start, ->post_stop), as the worker
         * would be (credentials, directory, environment, cgroup), without a mailbox: 0 with
         * *ret_pid, or -errno. Its exit comes through tree_handle_exit. May be NULL. */
        int (*spawn_hook)(void *ud, Node *n, NodeHook hook, pid_t *ret_pid);
        /* Send sig to the worker (its process group when group is true). */
        void (*kill)(void *ud, Node *n, int sig, bool group);
        /* The node's one timer: fire tree_handle_timer(n) at `at`; 0 disarms. */
        void (*set_timer)(void *ud, Node *n, usec_t at);
        usec_t (*now)(void *ud);
        /* Observation only: logs, events, waiters. Must not call back into the tree. */
        void (*event)(void *ud, Node *n, TreeEvent ev);
        /* The root terminated: 0 after an orderly stop or auto_shutdown, 1 when it gave up or
         * failed to start. Called once. */
        void (*finished)(void *ud, int status);
        /* A node was made: allocate what it needs while it lives (n->userdata, its timer), so
         * that nothing it does later (a restart, a timeout) fails for want of memory. 0 or
         * -errno (the node is not made; release is called). May be NULL. */
        int (*attach)(void *ud, Node *n);
        /* A node is about to be freed: release n->userdata. May be NULL. */
        void (*release)(void *ud, Node *n);
} TreeOps;

/* The per-supervisor job in progress. */
typedef enum SupOp {
        SUP_OP_NONE,
        SUP_OP_START,   /* starting children[cursor..n) in order */
        SUP_OP_STOP,    /* stopping children[lo..cursor] in reverse order */
} SupOp;

typedef enum SupAfter {
        AFTER_NOTHING,
        AFTER_RESTART,  /* start again from restart_from */
        AFTER_GIVE_UP,  /* terminate as failed */
        AFTER_ROLLBACK, /* failed start: terminate as failed start */
        AFTER_STOPPED,  /* stop requested by our parent or the operator */
        AFTER_SHUTDOWN, /* auto_shutdown: terminate normally */
} SupAfter;

struct Node {
        Tree *tree;              /* borrowed */
        const Spec *spec;        /* borrowed from the tree's Config */
        Node *parent;            /* borrowed; NULL at the root */
        char *name;              /* owned: section name, or "job.3" for a dynamic child */
        char *path;              /* owned: "app/pool/job.3" */
        char *reg_name;          /* owned or NULL: registry name */
        int instance;            /* dynamic children: 1, 2, ...; else -1 */
        char **extra_args;       /* owned strv: start-child arguments, appended to exec */
        NodeState state;         /* written only by node_enter() (tree.c) */
        NodeTimer timer;         /* what the armed timer is for, or NODE_TIMER_NONE */
        usec_t timer_at;         /* when it fires (CLOCK_MONOTONIC), while armed */
        void *userdata;          /* the manager's per-node data (owned by the manager) */

        /* Worker process. */
        pid_t pid;               /* 0 when no process; never signalled once reaped */
        NodeHook hook;           /* what pid runs when it is not the worker's own process */
        bool hook_timed_out;     /* the hook running was killed for the shutdown time */
        int hook_code, hook_status; /* how the last hook ended, as exit_code and exit_status */
        int after_hook;          /* a Report (tree-internal.h): what to tell the parent once post_stop is done */
        NodeSignalled signalled; /* what the tree did to the running process */
        bool ready_seen;         /* STARTING: its ready condition is met; it waits for min_uptime */
        bool new_instance;       /* made by start-child or scale, not yet up: a failed start removes
                                  * it, as OTP's start_child keeps no child whose init failed */
        NodeReason stop_reason;  /* why the tree is stopping it (the first reason stands);
                                  * NONE from each start on */
        NodeReason exit_reason;  /* why it went down last: stop_reason, or how it ended alone */
        usec_t started_at;       /* when the current process was spawned / node started */
        unsigned restarts;       /* how many times this node was restarted */
        unsigned failures;       /* consecutive failed runs or starts, for restart_delay doubling */
        usec_t restart_delay;    /* the wait before the restart announced last (0: at once) */
        int exit_code;           /* of the last exit: CLD_EXITED, CLD_KILLED, CLD_DUMPED,
                                  * NODE_EXIT_START_FAILED or 0 */
        int exit_status;         /* the status, the signal, or the errno of a failed start */
        bool exit_oom;           /* the last exit was the OOM killer's, for memory_max */
        char reason[256];        /* why the last start failed / what happened last */
        uint64_t exits[_NODE_REASON_MAX]; /* its processes' exits so far, by exit_reason (the
                                           * "exited" events'), for metrics */

        NodeIntent intent;       /* what the operator (or a reload) wants once it is down */
        /* Reload: the section to run from once the current process is down (tree_replace_node). */
        const Spec *next_spec;
        /* An exit seen while the parent was busy with a job: handled when it finishes. */
        NodePendingExit pending_exit;

        /* Supervisor. */
        Node **children;         /* owned; start order */
        size_t n_children;
        size_t cap_children;
        unsigned next_instance;  /* start-child's: above every number in use, never reused */
        unsigned instances;      /* simple_one_for_one: how many it runs from its start: its
                                  * section's, or what `scale` or a reload set last */
        unsigned scale_seq;      /* its scales so far: a scale under way is superseded by the next */
        usec_t start_failed_at;  /* when a new instance (start-child, scale) last failed to start and
                                  * was forgotten; reason says which and why */
        usec_t *restarts_at;     /* owned: restart times, oldest first; [first, n) are in period */
        size_t first_restart_at, n_restarts_at, cap_restarts_at;
        SupOp op;
        SupAfter after;
        size_t cursor, lo, restart_from;
        bool op_is_restart;      /* the START job is a restart: skip temporary children */
        bool stop_all_sent;      /* simple_one_for_one STOP job: every child was told */
        bool start_all_sent;     /* simple_one_for_one START job: every child was started */
        int shutdown_status;     /* auto_shutdown: how the significant child whose exit shut us
                                  * down ended, as a shell's $? (exit_shell_status); a supervisor
                                  * child passes on its own, or 1 when it gave up */
        int sync;                /* a Report (tree-internal.h): inside node_start/node_stop, what
                                  * the node reported (answered by return value); else none */
};

struct Tree {
        const TreeOps *ops;      /* borrowed */
        void *ud;
        Node *root;              /* owned */
        bool shutting_down;
        bool finished;
};

/* A tree built from config's root (stopped). Its nodes borrow config's specs: the caller keeps
 * config alive as long as some node points into it (reload.c does across reloads). */
int tree_new(const Config *config, const TreeOps *ops, void *ud, Tree **ret);
Tree *tree_free(Tree *t);

/* Boot: starts the root. The outcome arrives through ops->finished (failure) or the root
 * becoming NODE_RUNNING. */
void tree_start(Tree *t);
/* Orderly shutdown of everything; ops->finished(0) when done. */
void tree_shutdown(Tree *t);
/* SIGKILL every live worker at once (a second shutdown signal, or the node dying). */
void tree_kill_all(Tree *t);
/* SIGKILL for a worker the node cannot keep (its mailbox broke): an exit of its own for its
 * supervisor's policy, reported with why. */
void tree_kill_worker(Tree *t, Node *n, NodeReason why);
/* A worker's watchdog ran out (or it sent WATCHDOG=trigger): watchdog_signal now, SIGKILL after its
 * shutdown time, an abnormal exit for its supervisor (a failed start while it is starting), as
 * systemd's WatchdogSec= does; why: its reason text. Nothing for a worker not running its own
 * process. */
void tree_watchdog_worker(Tree *t, Node *n, const char *why);
/* EXTEND_TIMEOUT_USEC: a starting worker's ready_timeout ends no sooner than `at`. */
void tree_extend_ready(Tree *t, Node *n, usec_t at);
/* A running worker failed its health checks: stopped as any stop (stop_signal, then SIGKILL after
 * shutdown) but its end is abnormal, an exit of its own for its supervisor's policy (reason
 * unhealthy). Nothing when it is not running or already on its way down. */
void tree_stop_unhealthy(Tree *t, Node *n);

/* Inputs from the world. */
void tree_handle_exit(Tree *t, Node *n, int code, int status);
void tree_handle_ready(Tree *t, Node *n);
/* The first connection came for a worker that waits for it (spawn gave pid 0): it is spawned
 * now; a spawn that fails is an abnormal exit for its supervisor's policy. */
void tree_handle_activate(Tree *t, Node *n);
/* n is a worker that waits for its first connection (listen_accept = lazy). */
bool node_is_waiting(const Node *n);
void tree_handle_timer(Tree *t, Node *n);

/* Operator requests; 0 or -errno with a message in *ret_error (static text or node->reason). */
int tree_start_node(Tree *t, Node *n, const char **ret_error);
int tree_stop_node(Tree *t, Node *n, const char **ret_error);
int tree_restart_node(Tree *t, Node *n, const char **ret_error);
int tree_start_child(Tree *t, Node *sup, char **args, Node **ret, const char **ret_error);
int tree_terminate_child(Tree *t, Node *n, const char **ret_error);
/* `scale`: a running simple_one_for_one supervisor s runs n instances from now on (and from its
 * next start). The highest-numbered instances are stopped and forgotten; new ones take the
 * lowest free numbers and are started all at once; the ones stopped go down for why (operator,
 * reload); an instance on its way out under a wanted
 * number is started again once down. start-child's children count as instances. 0 with
 * *ret_seq for tree_scale_check(); -EINVAL not simple_one_for_one, -ERANGE n above max_children
 * (or TREE_INSTANCES_MAX), -EBUSY not running, else an instance failed to start at once (it is
 * forgotten; those started before it stay). */
#define TREE_INSTANCES_MAX 1000000u
int tree_scale(Tree *t, Node *s, unsigned n, NodeReason why, unsigned *ret_seq, const char **ret_error);
/* How scale seq of s (to n, asked at since) is doing: 1 done (n instances, each running or
 * stopped by the operator, the stopped ones gone), 0 under way, or why it ended without that
 * (in error): -ESTALE a later scale superseded it, -ENOTCONN s is no longer running, -EIO an
 * instance failed to start, -ECHILD the count changed otherwise (start-child, terminate-child,
 * an instance that ended for good). */
int tree_scale_check(const Node *s, unsigned seq, unsigned n, usec_t since, char *error, size_t size);

/* Reload's primitives (reload.c), over nodes that exist in both the old and the new config.
 * tree_set_spec: the node runs from spec from now on (same content, or no process to restart);
 *   a simple_one_for_one supervisor whose `instances` changed runs that many from its next
 *   start (a reload scales a running one with tree_scale).
 * tree_replace_node: restart a worker with spec: the running process is stopped as its old
 *   section says and the new one started from spec; an operator restart (not counted against
 *   intensity). 1 when there was no process (spec applied at once), 0 when under way, -EBUSY
 *   while its supervisor is busy with a job (try again after the next event).
 * tree_remove_node: stop a child (worker or subtree) and forget it once it is down.
 * tree_insert_child: a new child built from spec (a subtree for a supervisor), not started, at
 *   index of s's children; -EBUSY while s is busy with a job.
 * tree_move_child: moves c to index among s's children (s not busy). */
int tree_set_spec(Node *n, const Spec *spec);
int tree_replace_node(Tree *t, Node *n, const Spec *spec, const char **ret_error);
int tree_remove_node(Tree *t, Node *n, const char **ret_error);
int tree_insert_child(Tree *t, Node *s, size_t index, const Spec *spec, Node **ret);
void tree_move_child(Node *s, Node *c, size_t index);

/* After ops->finished: when the root ended by its auto_shutdown, the exit status (as a shell's
 * $?) of the significant child whose exit ended it (SPEC: [forkvisor] exit_status); else -1. */
int tree_significant_exit(const Tree *t);

Node *tree_find(Tree *t, const char *path);
/* Calls fn for n and every node below it, depth first in start order. */
void tree_walk(Node *n, void (*fn)(Node *n, unsigned depth, void *ud), void *ud);

bool node_is_supervisor(const Node *n);
/* The last exit was a code listed in normal_exit. */
bool node_exited_normally(const Node *n);
bool node_is_down(const Node *n);
/* Running, or a one-shot that is done (NODE_EXITED): what the next child in start order waits for. */
bool node_is_up(const Node *n);
/* Left down on purpose (held or being removed): no restart, no start with its siblings. */
bool node_is_held(const Node *n);

const char *node_state_to_string(NodeState s);
NodeState node_state_from_string(const char *s);
/* "crash", "operator", ...; NULL for NODE_REASON_NONE. */
const char *node_reason_to_string(NodeReason r);
/* How long a worker's pre_start or post_stop may run (its shutdown time; 5000 with brutal_kill);
 * 0: no limit (infinity). */
uint64_t node_hook_limit_ms(const Node *n);
/* "pre_start", "post_stop"; NULL for NODE_HOOK_NONE. */
const char *node_hook_to_string(NodeHook h);
