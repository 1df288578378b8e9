/* SPDX-License-Identifier: MIT */
/* Message routing between the tree's workers: one Peer per running incarnation (its mailbox),
 * addressing by registered name or pid, calls with node-wide references and deadlines,
 * monitors. Knows nothing of the tree's policy: readiness and protocol violations go back to the
 * owner through RouterOps. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "broker.h"
#include "mailbox.h"
#include "proc.h"
#include "registry.h"

typedef struct Router Router;
typedef struct Peer Peer;

typedef struct RouterOps {
        /* The worker sent READY. */
        void (*ready)(void *ud, void *owner);
        /* The worker broke the protocol (its mailbox is closed); why is static text. */
        void (*broken)(void *ud, void *owner, const char *why);
        /* Something the worker waits for (an answer, a DOWN, the rest of what it sent) was lost
         * for want of memory: its mailbox is closed, since it would otherwise wait forever, and
         * the worker must be restarted. what is static text. */
        void (*lost)(void *ud, void *owner, const char *what);
        /* The worker, process pid, sent a watchdog keep-alive (fv_watchdog). May be NULL. */
        void (*watchdog)(void *ud, void *owner, pid_t pid);
} RouterOps;

/* The answer to a call made from outside the tree: status 0 with the reply, or 1 with the
 * reason ("noproc", "timeout", ...). Called exactly once unless router_cancel() came first. */
typedef void (*RouterAnswer)(void *ud, int status, const void *data, size_t len);

/* Names are looked up in, and registered into, registry (borrowed); pids in procs (borrowed),
 * whose records point to their peers. */
int router_new(sd_event *e, Registry *registry, const ProcIndex *procs, const RouterOps *ops, void *ud,
               Router **ret);
Router *router_free(Router *r);

/* A worker incarnation (proc, indexed in the router's ProcIndex) started with the node end of
 * its mailbox (fd is taken over); proc->peer is set. name is its configured registry name
 * ("+key" for a duplicate key) or NULL; -EEXIST when it is taken. subscribe: its configured
 * topics (may be NULL). owner is handed back in RouterOps calls. */
int router_attach(Router *r, Proc *proc, const char *name, char *const *subscribe, int fd, unsigned limit,
                  void *owner, Peer **ret);
/* It terminated: its names leave the registry, its calls in flight fail ("callee exited"),
 * answers owed to it are dropped, its monitors fire with reason. proc->peer is cleared (the
 * caller releases proc). */
void router_detach(Router *r, Peer *p, const char *reason);

/* From outside the tree (the control socket). */
int router_cast(Router *r, const char *target, const void *data, size_t len);
/* kind is PROTO_CALL or PROTO_GET_STATE. 0 and the reference for router_cancel() in *ret_ref
 * (written before fn can run), or -ESRCH (noproc), -EAGAIN (mailbox full). */
int router_call(Router *r, uint8_t kind, const char *target, const void *data, size_t len, uint32_t timeout_ms,
                RouterAnswer fn, void *ud, uint64_t *ret_ref);
void router_cancel(Router *r, uint64_t ref);

/* Publishes on topic from the node (sender 0): the number of subscribers it was queued for, or
 * -EINVAL (bad topic), -EMSGSIZE. */
int router_publish(Router *r, const char *topic, const void *data, size_t len);
bool router_has_subscribers(Router *r, const char *topic);
/* The cluster's side of pub/sub (cluster-pubsub.h): hooks on the broker (broker.h), and a
 * publication from another node delivered to the subscribers here only. */
void router_set_broker_hooks(Router *r, const BrokerHooks *hooks, void *ud);
int router_deliver(Router *r, const char *topic, size_t tlen, const void *data, size_t len);
/* An outside subscriber: fd (taken over) receives INFO frames for patterns until its other end
 * closes; limit bounds its queue as mailbox_limit does. -EINVAL for a bad pattern. */
int router_stream_open(Router *r, int fd, char *const *patterns, unsigned limit);
/* The same, and the stream's Peer (the router's, valid in this loop pass) in *ret, for
 * router_stream_send(). */
int router_stream_new(Router *r, int fd, char *const *patterns, unsigned limit, Peer **ret);
/* Queues a message on topic from the node (sender 0) on the stream p, before whatever is
 * published after it, whatever the depth of its queue: what the caller sends this way must be
 * bounded, and p's limit counts it (events --since replays at most the events kept). On failure
 * (-ENOBUFS: the stream is closed; -ENOMEM) the stream ends, so that its client sees no gap. */
int router_stream_send(Peer *p, const char *topic, const void *data, size_t len);
/* The loop has ended: what is queued for outside subscribers is written now, as far as their
 * sockets take it without waiting, so that the events of the end (a shutdown's exits, which
 * the loop's next pass would have sent) reach `forkvisor events` before the connection closes. */
void router_flush_streams(Router *r);

/* Targets NAME@NODE for another node ([cluster]): the router hands them to a transport
 * (cluster-rpc.c), which answers through router_remote_answer() and router_deliver_down(). A
 * router without one finds nobody at such a target (noproc); NAME@<this node> is NAME. */
typedef struct RouterRemote {
        /* This node's name. */
        const char *(*node)(void *ud);
        /* Sends a call (kind PROTO_CALL or PROTO_GET_STATE) made under ref (name and node point
         * into the target, without NULs). 0, or
         * -ESRCH (the node is not up), -EAGAIN (too many calls to it), -ENOTCONN (NATS is not
         * reached), -ENOMEM: the router
         * fails the call at once. The router keeps the deadline; done() follows every call it
         * sent, however it ended. */
        int (*call)(void *ud, uint8_t kind, uint64_t ref, const char *name, size_t name_len, const char *node,
                    size_t node_len, const void *data, size_t len, uint32_t timeout_ms);
        void (*done)(void *ud, uint64_t ref);
        /* 0 sent, or -ESRCH (the node is not up), -ENOBUFS (not sent, counted). */
        int (*cast)(void *ud, const char *name, size_t name_len, const char *node, size_t node_len,
                    const void *data, size_t len);
        /* The worker pid monitors target (NAME@NODE): its DOWN comes by router_deliver_down().
         * 0, -ESRCH, -EAGAIN, -ENOMEM: the router refuses the monitor with a DOWN. */
        int (*monitor)(void *ud, pid_t owner, const char *target, size_t len);
        /* The worker pid, which monitor() accepted for, has ended: its monitors are over. */
        void (*forget)(void *ud, pid_t owner);
} RouterRemote;

/* ops NULL: no transport any more (the cluster is going away). */
void router_set_remote(Router *r, const RouterRemote *ops, void *ud);
/* The answer to the remote call ref (ok: a REPLY, else an ERROR with the reason); dropped when
 * the call is no longer waited for (timed out, or its caller gone). */
void router_remote_answer(Router *r, uint64_t ref, bool ok, const void *data, size_t len);
/* A DOWN for the monitor of target the worker pid set up: dropped when pid has gone. */
void router_deliver_down(Router *r, pid_t pid, const char *target, const char *reason);

/* Global names of the cluster (cluster-names.c): the router hands them over and keeps no state
 * of them. Without these hooks a global request is refused ("no cluster"). */
typedef struct RouterGlobal {
        /* A REGISTER or UNREGISTER (kind) of a global name by the worker pid (its incarnation):
         * a frame with PROTO_FLAG_GLOBAL, or an UNREGISTER of a global name it holds. The answer
         * goes by router_answer_request() with ref and fd (-1, or its private socket: handed
         * over), at once or when the cluster has answered. */
        void (*request)(void *ud, uint8_t kind, const char *name, pid_t pid, uint32_t incarnation, uint64_t ref,
                        int fd);
        /* The worker pid has ended: its global names go. */
        void (*exited)(void *ud, pid_t pid);
} RouterGlobal;

void router_set_global(Router *r, const RouterGlobal *ops, void *ud);
/* Answers a request of kind (ref) of the worker pid (incarnation) with "ok" or why not (e < 0):
 * on fd (closed) if >= 0, else through its mailbox, dropped when it has gone. */
void router_answer_request(Router *r, pid_t pid, uint32_t incarnation, uint8_t kind, uint64_t ref, int fd, int e);
/* The registry was changed by someone else (global names): answers cached from it are stale. */
void router_names_changed(Router *r);

/* A monitor from outside the tree (another node's): fn(ud, reason) once, when the process
 * registered as target ends (the monitor is gone then). -ESRCH (noproc), -ENOMEM. */
typedef struct Monitor RouterMonitor;
typedef void (*RouterDown)(void *ud, const char *reason);
int router_monitor(Router *r, const char *target, RouterDown fn, void *ud, RouterMonitor **ret);
void router_demonitor(Router *r, RouterMonitor *m);

void peer_get_stats(Peer *p, MailboxStats *ret);
/* The node's totals since it started (`forkvisor metrics`): frames read from and written to
 * every mailbox there has been (the workers' and the outside subscribers'), frames lost at
 * them, and publications made. */
typedef struct RouterStats {
        uint64_t in, out, dropped, published;
} RouterStats;
void router_get_stats(const Router *r, RouterStats *ret);
/* Its subscriptions (NULL when none) and the publications it lost to a full mailbox. */
char *const *peer_subscriptions(Peer *p);
uint64_t peer_publications_dropped(Peer *p);
