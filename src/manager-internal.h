/* SPDX-License-Identifier: MIT */
/* Inside the node (manager.c, child.c, reap.c): the records they share. Nothing outside them
 * includes this; the rest of the house sees manager.h. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include <systemd/sd-event.h>

#include "cgroup.h"
#include "cluster-names.h"
#include "cluster-rpc.h"
#include "guard.h"
#include "health.h"
#include "held.h"
#include "listen.h"
#include "manager.h"
#include "notify.h"
#include "output.h"
#include "proc.h"
#include "registry.h"
#include "reload.h"
#include "router.h"

#define STATUS_TEXT_MAX 256

/* What the node keeps per tree node (Node.userdata), across its incarnations. */
typedef struct Child {
        Manager *manager;          /* borrowed */
        Node *node;                /* borrowed; owns us */
        sd_event_source *timer;
        OutputPipe *output;        /* when stdout or stderr = log */
        OutputPipe *file_out;      /* stdout = file: of a regular file, which the node writes */
        OutputPipe *file_err;      /* the same for stderr, unless it names stdout's file */
        Proc *proc;                /* the running incarnation, or NULL */
        const Spec *prepared;      /* the spec argv and envp were made from (reload changes it) */
        char **argv;               /* prepared at the first start, reused by every restart */
        char **envp;               /* borrowed strings, owned array */
        char **env_own;            /* the strings of envp that are this node's own */
        char **file_env;           /* env_file's variables, read at this spawn (envp borrows them) */
        char *cmdline;
        char *status_text;         /* sd_notify STATUS= of the child */
        CgroupLeaf *cgroup;        /* cgroup mode: the worker's cgroup, kept across restarts */
        uint64_t oom_kills;        /* the cgroup's OOM kills when the process started */
        sd_event_source *watchdog; /* child-watchdog.c: due when a keep-alive is late */
        usec_t watchdog_usec;      /* this run's timeout: `watchdog`, or what WATCHDOG_USEC= set; 0 off */
        char *watchdog_pid;        /* in env_own: WATCHDOG_PID's digits, filled in by each spawned child */
        Health health;             /* its health check (health.h), when the spec has one */
        ListenSet listen;          /* `listen`: open from the first start, kept across restarts */
        char **listen_addrs;       /* what listen was opened for (a reload may change it) */
        int listen_mode;
        sd_event_source **listen_watch; /* listen_accept = lazy: one per socket, on while it waits */
        size_t n_listen_watch;
} Child;

struct Manager {
        sd_event *event;
        Tree *tree;                /* owned */
        TreeOps ops;
        ProcIndex procs;           /* pid → process record, live workers only */
        Router *router;
        Events *events;            /* owned: numbered, kept, published on router */
        Cluster *cluster;          /* owned; NULL without [cluster] */
        ClusterRpc *rpc;           /* owned: NAME@NODE; NULL without [cluster] */
        ClusterNames *names;       /* owned: global names; NULL without [cluster] */
        Registry *registry;        /* names → processes, shared read-only with every child */
        ControlServer *control;
        ControlHandler control_handler;
        void *control_ud;
        NotifyServer *notify;
        Cgroups *cgroups;          /* process tracking: cgroups, or process groups without */
        Guard *guard;              /* kills what we started if we die; NULL as PID 1 */
        char *control_path;
        HeldDir *held;             /* owned: operator holds kept across restarts (state_dir) */
        char **base_env;           /* our environment minus what must not reach children */
        int null_fd;
        struct rlimit nofile;      /* as we were started: children get this, not our raised one */
        int exit_status;
        bool systemd;              /* started with $NOTIFY_SOCKET */
        bool subreaper;            /* orphans are re-parented to us (subreaper or PID 1) */
        bool ready_sent;
        bool status_dirty;
        sd_event_source *status_timer;
        ManagerObserver observer;
        void *observer_ud;
        ReloadQueue *reloads;      /* owned: the configuration, and reloads (SPEC 3.4) */
        sd_event_source *reload_source; /* defer: takes the next steps after tree events */
};

/* child.c: the TreeOps that act on processes, and the RouterOps for their mailboxes. */
/* What a spawn of n needs that outlives it: argv (expanded, the program found in PATH once),
 * the environment (ours, the section's, FORKVISOR_*), the output pipe. Made again only when a
 * reload gave n another spec. 0 or -errno. */
int child_prepare(Manager *m, Node *n, Child *rt);
int child_spawn(void *ud, Node *n, pid_t *ret_pid, bool *ret_ready);
int child_spawn_hook(void *ud, Node *n, NodeHook hook, pid_t *ret_pid);
void child_kill(void *ud, Node *n, int sig, bool group);
int child_attach(void *ud, Node *n);
void child_set_timer(void *ud, Node *n, usec_t at);
void child_release(void *ud, Node *n);
extern const RouterOps child_router_ops;
/* An sd_notify message from sender (NotifyServer's handler). */
int child_notify(void *ud, pid_t sender, const char *msg);

/* child-watchdog.c: the watchdog timer of rt (made by child_attach), its start at a spawn and
 * stop at the exit, and the keep-alives and requests that reach it from the process pid of n (a
 * WATCHDOG frame of its mailbox; a notify message's WATCHDOG=, WATCHDOG_USEC=,
 * EXTEND_TIMEOUT_USEC=). */
int child_watchdog_attach(Manager *m, Child *rt);
void child_watchdog_free(Child *rt);
void child_watchdog_start(Child *rt);
void child_watchdog_stop(Child *rt);
void child_watchdog_ping(Manager *m, Node *n, pid_t pid);
void child_watchdog_notify(Manager *m, Node *n, pid_t pid, const char *msg);

/* reap.c */
int reap_children(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata);
/* After the tree has stopped: whatever is left is killed and reaped. */
void reap_stop_tracking(Manager *m);
