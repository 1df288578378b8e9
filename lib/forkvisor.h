/* SPDX-License-Identifier: MIT */
/* libforkvisor: the worker side of a forkvisor mailbox (fd 3 of every supervised worker), a
 * GenServer-style loop on top of it, and lookups in the shared registry (fd 4). Documented in
 * forkvisor(3); the formats it reads and speaks are forkvisor-protocol(7). Plain C99; not
 * thread-safe (one handle, one thread at a time). */
#ifndef FORKVISOR_H
#define FORKVISOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define FV_API __attribute__((visibility("default")))
#else
#define FV_API
#endif

/* The largest target (a name, a pid in decimal or a topic) and the largest payload. */
#define FV_TARGET_MAX 255
#define FV_PAYLOAD_MAX 65536

/* Timeouts are in milliseconds; FV_INFINITY waits for ever. */
#define FV_INFINITY (-1)

/* fv_open() flags. */
#define FV_NOBATCH 0x1u        /* do not ask the node for records of many frames */
#define FV_PRIVATE_CALLS 0x2u  /* fv_call() gets its answer on a private socket, never through
                                * the mailbox (what `forkvisor call` does) */

/* handle_call's return value for "no reply now": the callback keeps msg->ref and answers later
 * with fv_reply(). Outside the range of -errno values. */
#define FV_NOREPLY ((ssize_t) INT32_MIN)

struct fv; /* one open mailbox */

enum fv_kind {
        FV_CAST = 1,      /* one-way message */
        FV_CALL = 2,      /* expects one fv_reply() with msg->ref */
        FV_REPLY = 3,     /* the answer to an fv_call() */
        FV_ERROR = 4,     /* a call failed; payload is the reason */
        FV_INFO = 5,      /* anything else: published messages, events */
        FV_DOWN = 6,      /* a monitored process terminated */
        FV_GET_STATE = 10 /* `forkvisor get-state`: answer with fv_reply() */
};

/* One received message. Every pointer is into the handle's buffers: valid until the next
 * fv_recv() or fv_close() (an fv_call() reply: until the next fv_call(), fv_recv() or
 * fv_close()). target and payload are each followed by a NUL byte not counted in their length. */
struct fv_message {
        enum fv_kind kind;
        uint64_t ref;          /* CALL, GET_STATE: give it to fv_reply(); REPLY, ERROR: the call's */
        pid_t sender;          /* the sending process; 0 when the node itself sent it */
        const char *target;    /* CAST, CALL: the name it was sent to; INFO: the topic;
                                * DOWN: the monitored name; else "" */
        size_t target_len;
        const char *payload;   /* DOWN: the reason; ERROR: "noproc", "timeout", ... */
        size_t payload_len;
};

/* Opening and closing. */
FV_API int fv_open(unsigned flags, struct fv **ret);
FV_API int fv_open_fd(int fd, unsigned flags, struct fv **ret);
FV_API int fv_close(struct fv *fv);
FV_API int fv_fd(const struct fv *fv);

/* Receiving. */
FV_API int fv_recv(struct fv *fv, int timeout_ms, struct fv_message *ret);
FV_API int fv_pending(const struct fv *fv);

/* Sending (buffered until fv_flush() or the next wait). */
FV_API int fv_ready(struct fv *fv);
/* A watchdog keep-alive (`watchdog =`), sent at once; 0 without sending when the node asked for
 * none (no WATCHDOG_USEC, or a WATCHDOG_PID that is not ours). */
FV_API int fv_watchdog(struct fv *fv);
FV_API int fv_cast(struct fv *fv, const char *target, const void *data, size_t len);
FV_API int fv_call(struct fv *fv, const char *target, const void *data, size_t len, int timeout_ms,
                   struct fv_message *ret);
FV_API int fv_reply(struct fv *fv, uint64_t ref, const void *data, size_t len);
FV_API int fv_monitor(struct fv *fv, const char *name);
FV_API int fv_flush(struct fv *fv);

FV_API const char *fv_kind_to_string(enum fv_kind kind);

/* The registry. Lookups read the node's shared table (FORKVISOR_REGISTRY, mapped read-only at
 * the first lookup and kept until fv_close()) directly, without a message to the node; a
 * leading '+' of name is ignored. fv_whereis(): 0 and *ret_pid (may be NULL) for the first
 * holder, -ENOENT when nobody holds name. fv_whereis_all(): fn (may be NULL) once for every
 * holder of a duplicate key (or the one of a unique name), then the number of holders, 0 when
 * nobody holds it; fn is called only for a consistent read of the table. -EBUSY: the node kept
 * rewriting what we read; try again. */
typedef void (*fv_whereis_fn)(pid_t pid, uint32_t generation, void *userdata);
FV_API int fv_whereis(struct fv *fv, const char *name, pid_t *ret_pid);
FV_API int fv_whereis_all(struct fv *fv, const char *name, fv_whereis_fn fn, void *userdata);
/* Ask the node to add or remove a name ("+key" for a duplicate key) for this worker, and wait
 * for its answer: -EEXIST taken, -ENOSPC registry full, -ENOENT (unregister) not held by this
 * worker, -EINVAL bad name. */
FV_API int fv_register(struct fv *fv, const char *name);
FV_API int fv_unregister(struct fv *fv, const char *name);
/* Global names of a cluster (forkvisor-cluster(7)): name, unique across the nodes, for this worker,
 * answered when the cluster has answered (within FV_GLOBAL_TIMEOUT_MS): besides fv_register()'s,
 * -EOPNOTSUPP no [cluster], -ENOTCONN not connected to NATS, -EHOSTUNREACH no quorum (nothing was
 * registered), -EBUSY too many waiting, -ENAMETOOLONG NAME@NODE over 48 bytes; -EEXIST also when
 * another node holds it. fv_whereis() of a name held on another node is -EREMOTE;
 * fv_whereis_node() gives its pid there and the node's name (node[0] == '\0' for a holder on this
 * node), -ENOBUFS when node_size is too small. */
#define FV_GLOBAL_TIMEOUT_MS 15000
FV_API int fv_register_global(struct fv *fv, const char *name);
FV_API int fv_unregister_global(struct fv *fv, const char *name);
FV_API int fv_whereis_node(struct fv *fv, const char *name, pid_t *ret_pid, char *node, size_t node_size);

/* Pub/sub. fv_subscribe() asks the node to deliver what is published on topic ("orders:eu"), or
 * on every topic with a prefix ("orders:*"), as FV_INFO messages whose target is the topic, and
 * waits for its answer: -EINVAL bad topic (1-255 printable characters, no whitespace, '*' only at
 * the end). fv_unsubscribe(): -ENOENT when not subscribed to exactly that. Subscriptions end when
 * the worker terminates. fv_publish() is buffered like fv_cast(): every current subscriber
 * receives data once, in the order this worker published. */
FV_API int fv_subscribe(struct fv *fv, const char *topic);
FV_API int fv_unsubscribe(struct fv *fv, const char *topic);
FV_API int fv_publish(struct fv *fv, const char *topic, const void *data, size_t len);

/* The GenServer-style loop. Every callback may be NULL. */
struct fv_server_callbacks {
        /* Before ready is reported. < 0: fv_server_run() returns it, nothing else is called. */
        int (*init)(struct fv *fv, void *state);
        /* Writes at most reply_size bytes to reply; returns their number, FV_NOREPLY, or < 0 to
         * stop the server. */
        ssize_t (*handle_call)(struct fv *fv, void *state, const struct fv_message *msg, void *reply,
                               size_t reply_size);
        /* 0 to go on, < 0 to stop. */
        int (*handle_cast)(struct fv *fv, void *state, const struct fv_message *msg);
        /* INFO, DOWN, and REPLY or ERROR that no fv_call() waited for. 0 to go on, < 0 to stop. */
        int (*handle_info)(struct fv *fv, void *state, const struct fv_message *msg);
        /* Last: reason 0 after SIGTERM, SIGINT or the end of the mailbox, else why it stopped. */
        void (*terminate)(struct fv *fv, void *state, int reason);
        /* Answers GET_STATE: like handle_call, without FV_NOREPLY. */
        ssize_t (*format_state)(struct fv *fv, void *state, char *buf, size_t size);
};

FV_API int fv_server_run(const struct fv_server_callbacks *cb, void *state);

#ifdef __cplusplus
}
#endif

#endif /* FORKVISOR_H */
