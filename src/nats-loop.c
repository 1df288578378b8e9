/* SPDX-License-Identifier: MIT */
/* The event-loop adapter for libnats (nats-loop.h). Shaped like libnats' own libuv adapter
 * (adapters/libuv.h): hooks called off the loop thread are queued and replayed on it, in order.
 *
 * The socket libnats hands to attach is dup'ed at once, in the caller's thread, and the loop
 * watches the duplicate only. libnats closes its socket on its own threads (a stale connection
 * found by its ping timer, a reconnect) before the loop has seen the queued "stop polling"; with
 * the same descriptor number in sd-event's epoll, a number the node reuses at once for a child's
 * pipe would lose its registration when the late stop removed "ours". The duplicate is closed
 * by the loop, when polling stops or the next socket comes. */
#include "nats-loop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "priority.h"
#include "time-util.h"

/* Ops applied per wake-up, and the time bulk ops may take of it: a flood of messages (each may
 * be a batch of many publications) never holds the loop for long. */
#define BATCH 256
#define BULK_BUDGET_USEC 2000

typedef enum OpType {
        OP_ATTACH,
        OP_READ,
        OP_WRITE,
        OP_DETACH,
        OP_CALL,
} OpType;

/* One connection as the loop sees it: libnats' userData for the hooks. */
typedef struct Conn {
        NatsLoop *loop;
        natsConnection *nc;
        int fd;                 /* our duplicate of libnats' socket, or -1 */
        sd_event_source *io;
        bool read, write;
} Conn;

typedef struct Op {
        struct Op *next;
        OpType type;
        bool add;               /* OP_READ, OP_WRITE */
        NatsLoopClass cls;      /* OP_CALL */
        int fd;                 /* OP_ATTACH: the duplicate */
        Conn *conn;
        NatsLoopFn fn, drop;
        void *ud, *payload;
} Op;

struct NatsLoop {
        sd_event *event;        /* borrowed */
        pthread_t thread;
        int efd;
        sd_event_source *wake;
        pthread_mutex_t lock;   /* guards what follows */
        /* Two queues: hooks, connection changes and control posts (heartbeats) first, each in
         * order; bulk posts (traffic) after them, so that a flood never delays a heartbeat. */
        struct {
                Op *head, *tail;
        } q[2];
        size_t queued[_NATS_LOOP_CLASS_MAX], limit[_NATS_LOOP_CLASS_MAX]; /* waiting, and the bounds */
        uint64_t dropped;
        size_t subscriptions;   /* made by nats_loop_subscribe, not yet finished by libnats */
        pthread_cond_t finished;
};

/* What a subscription's messages go to: libnats' closure, freed when it is done with them. */
typedef struct Subscriber {
        NatsLoop *loop;
        NatsLoopFn fn;
        void *ud;
        NatsLoopClass cls;
} Subscriber;

bool nats_loop_is_loop_thread(const NatsLoop *l) {
        return pthread_equal(pthread_self(), l->thread);
}

static void wake(NatsLoop *l) {
        uint64_t one = 1;
        /* EAGAIN: the counter is full, the loop is woken anyway. */
        (void) !write(l->efd, &one, sizeof one);
}

/* ---- on the loop thread ----------------------------------------------------------------- */

static void conn_update(Conn *c);

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Conn *c = userdata;
        natsConnection *nc = c->nc;
        /* An error or hang-up is read: libnats finds it and reconnects. */
        if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP))
                natsConnection_ProcessReadEvent(nc);
        /* The read may have stopped polling (c->io is off then, and writing is pointless).
         * Only this thread drains libnats' buffer, but its "stop writing" may still wait in
         * the queue behind message callbacks: with nothing buffered, libnats would send 0
         * bytes, take send()'s 0 for a closed connection, and drop it mid-burst. Nor is the
         * socket polled for writing until then: it is writable, and the loop would spin on
         * it. libnats asks to write again when it has something: that comes after its "stop"
         * in the queue. */
        if ((revents & EPOLLOUT) && c->write) {
                if (natsConnection_Buffered(nc) > 0)
                        natsConnection_ProcessWriteEvent(nc);
                else if (c->read) {
                        c->write = false;
                        conn_update(c);
                }
        }
        return 0;
}

static void conn_close_fd(Conn *c) {
        c->io = sd_event_source_disable_unref(c->io);
        c->fd = safe_close(c->fd);
}

static void conn_update(Conn *c) {
        uint32_t events = (c->read ? EPOLLIN : 0) | (c->write ? EPOLLOUT : 0);
        int r;

        if (c->fd < 0)
                return;
        /* Polling stops when libnats drops the socket: ours goes with it. Once the loop has
         * finished (the node exits, and closes the connection), nothing is watched any more. */
        if (events == 0 || sd_event_get_state(c->loop->event) == SD_EVENT_FINISHED) {
                conn_close_fd(c);
                return;
        }
        if (!c->io) {
                r = sd_event_add_io(c->loop->event, &c->io, c->fd, events, on_io, c);
                if (r < 0) {
                        log_warning_errno(r, "NATS: cannot watch the connection's socket: %m");
                        return;
                }
                /* Not above the queue's: what ends a socket's events (libnats' "stop" hooks, its
                 * detach) waits in the queue, and a socket that outranked it would spin on its
                 * events and starve it (the node froze when a server went away). */
                sd_event_source_set_priority(c->io, PRIORITY_MAILBOX);
                return;
        }
        r = sd_event_source_set_io_events(c->io, events);
        if (r < 0)
                log_warning_errno(r, "NATS: cannot watch the connection's socket: %m");
}

/* Applies op and frees it (and, for a call, hands its payload over). */
static void op_apply(Op *op) {
        Conn *c = op->conn;

        switch (op->type) {
        case OP_ATTACH:
                conn_close_fd(c);
                c->fd = op->fd;
                c->read = true;
                c->write = false;
                conn_update(c);
                break;
        case OP_READ:
                c->read = op->add;
                conn_update(c);
                break;
        case OP_WRITE:
                c->write = op->add;
                conn_update(c);
                break;
        case OP_DETACH:
                conn_close_fd(c);
                free(c);
                break;
        case OP_CALL:
                op->fn(op->ud, op->payload);
                break;
        }
        free(op);
}

static unsigned queue_of(const Op *op) {
        return op->type == OP_CALL && op->cls == NATS_LOOP_BULK;
}

/* The next op, urgent ones first; NULL when none, or when only bulk ones wait and !bulk. */
static Op *pop(NatsLoop *l, bool bulk, bool *ret_more) {
        pthread_mutex_lock(&l->lock);
        unsigned k = l->q[0].head || !bulk ? 0 : 1;
        Op *op = l->q[k].head;
        if (op) {
                l->q[k].head = op->next;
                if (!l->q[k].head)
                        l->q[k].tail = NULL;
                if (op->cls != NATS_LOOP_KEEP)
                        l->queued[op->cls]--;
        }
        *ret_more = l->q[0].head || l->q[1].head;
        pthread_mutex_unlock(&l->lock);
        return op;
}

static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NatsLoop *l = userdata;
        usec_t until = now_usec() + BULK_BUDGET_USEC;
        uint64_t n;
        bool more = false, bulk = true;

        (void) !read(l->efd, &n, sizeof n);
        for (unsigned i = 0; i < BATCH; i++) {
                Op *op = pop(l, bulk, &more);
                if (!op)
                        break;
                if (queue_of(op) == 1 && now_usec() >= until)
                        bulk = false; /* the urgent ones may still go; the bulk ones wait */
                op_apply(op);
                if (!more)
                        break;
        }
        if (more)
                wake(l); /* the rest on the next pass, after the node's other work */
        return 0;
}

/* ---- from any thread -------------------------------------------------------------------- */

/* Nothing urgent waits (a hook would not overtake one). */
static bool queue_empty(NatsLoop *l) {
        pthread_mutex_lock(&l->lock);
        bool empty = !l->q[0].head;
        pthread_mutex_unlock(&l->lock);
        return empty;
}

static int enqueue(NatsLoop *l, Op *op) {
        pthread_mutex_lock(&l->lock);
        if (op->cls != NATS_LOOP_KEEP) {
                if (l->queued[op->cls] >= l->limit[op->cls]) {
                        l->dropped++;
                        pthread_mutex_unlock(&l->lock);
                        free(op);
                        return -ENOBUFS;
                }
                l->queued[op->cls]++;
        }
        bool was_empty = !l->q[0].head && !l->q[1].head;
        unsigned k = queue_of(op);
        if (l->q[k].tail)
                l->q[k].tail->next = op;
        else
                l->q[k].head = op;
        l->q[k].tail = op;
        pthread_mutex_unlock(&l->lock);
        /* Only the first op of a run wakes the loop: on_wake pops until it finds the queue
         * empty (or wakes itself again), so it takes this one with those before it. A write to
         * the eventfd per message cost a sixth of the node's time in a flood. */
        if (was_empty)
                wake(l);
        return 0;
}

/* A hook: at once on the loop thread when nothing waits before it, else queued. A detach is
 * always queued: it frees the connection's state, which the read handler that may have led to
 * it still uses. */
static natsStatus hook(Conn *c, OpType type, bool add, int fd) {
        NatsLoop *l = c->loop;
        Op *op = calloc(1, sizeof *op);

        if (!op) {
                safe_close(fd);
                return NATS_NO_MEMORY;
        }
        *op = (Op) { .type = type, .add = add, .fd = fd, .conn = c };
        if (type != OP_DETACH && nats_loop_is_loop_thread(l) && queue_empty(l)) {
                op_apply(op);
                return NATS_OK;
        }
        return enqueue(l, op) < 0 ? NATS_ERR : NATS_OK;
}

static natsStatus ev_attach(void **userData, void *loop, natsConnection *nc, natsSock sock) {
        Conn *c = *userData;
        int fd;

        if (!c) {
                /* The first attach of this connection; a reconnect attaches its new socket. */
                c = calloc(1, sizeof *c);
                if (!c)
                        return NATS_NO_MEMORY;
                *c = (Conn) { .loop = loop, .nc = nc, .fd = -1 };
        }
        fd = fcntl(sock, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
                if (!*userData)
                        free(c);
                return NATS_SYS_ERROR;
        }
        natsStatus s = hook(c, OP_ATTACH, true, fd);
        if (s != NATS_OK) {
                if (!*userData)
                        free(c);
                return s;
        }
        *userData = c;
        return NATS_OK;
}

static natsStatus ev_read(void *userData, bool add) {
        return hook(userData, OP_READ, add, -1);
}

static natsStatus ev_write(void *userData, bool add) {
        return hook(userData, OP_WRITE, add, -1);
}

static natsStatus ev_detach(void *userData) {
        return hook(userData, OP_DETACH, false, -1);
}

int nats_loop_use(NatsLoop *l, natsOptions *o) {
        return natsOptions_SetEventLoop(o, l, ev_attach, ev_read, ev_write, ev_detach) == NATS_OK ? 0 : -EINVAL;
}

int nats_loop_post(NatsLoop *l, NatsLoopFn fn, NatsLoopFn drop, void *ud, void *payload, NatsLoopClass cls) {
        Op *op = calloc(1, sizeof *op);
        if (!op)
                return -ENOMEM;
        *op = (Op) { .type = OP_CALL, .cls = cls, .fn = fn, .drop = drop, .ud = ud, .payload = payload };
        return enqueue(l, op);
}

uint64_t nats_loop_dropped(NatsLoop *l) {
        pthread_mutex_lock(&l->lock);
        uint64_t n = l->dropped;
        pthread_mutex_unlock(&l->lock);
        return n;
}

int nats_loop_new(sd_event *e, size_t limit, NatsLoop **ret) {
        NatsLoop *l = calloc(1, sizeof *l);
        int r;

        if (!l)
                return -ENOMEM;
        l->event = e;
        l->thread = pthread_self();
        l->limit[NATS_LOOP_BULK] = limit;
        l->limit[NATS_LOOP_CONTROL] = NATS_LOOP_CONTROL_LIMIT;
        pthread_mutex_init(&l->lock, NULL);
        pthread_cond_init(&l->finished, NULL);
        l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (l->efd < 0) {
                r = -errno;
                nats_loop_free(l);
                return r;
        }
        r = sd_event_add_io(e, &l->wake, l->efd, EPOLLIN, on_wake, l);
        if (r < 0) {
                nats_loop_free(l);
                return r;
        }
        /* As mailboxes: remote traffic never delays a restart or a control request. */
        sd_event_source_set_priority(l->wake, PRIORITY_MAILBOX);
        *ret = l;
        return 0;
}

NatsLoop *nats_loop_free(NatsLoop *l) {
        bool more;

        if (!l)
                return NULL;
        /* Sockets closed and connections freed in order; calls dropped, not run: the state they
         * would change is going. */
        for (Op *op; (op = pop(l, true, &more));) {
                if (op->type != OP_CALL) {
                        op_apply(op);
                        continue;
                }
                if (op->drop)
                        op->drop(op->ud, op->payload);
                free(op);
        }
        sd_event_source_disable_unref(l->wake);
        safe_close(l->efd);
        pthread_cond_destroy(&l->finished);
        pthread_mutex_destroy(&l->lock);
        return mfree(l);
}

void nats_loop_drop_posts(NatsLoop *l) {
        Op *calls = NULL, **tail = &calls;

        pthread_mutex_lock(&l->lock);
        for (unsigned k = 0; k < 2; k++) {
                Op *op = l->q[k].head;
                l->q[k].head = l->q[k].tail = NULL;
                while (op) {
                        Op *next = op->next;
                        op->next = NULL;
                        if (op->type == OP_CALL) {
                                if (op->cls != NATS_LOOP_KEEP)
                                        l->queued[op->cls]--;
                                *tail = op;
                                tail = &op->next;
                        } else {
                                /* Hooks stay, in order: only q[0] holds them. */
                                if (l->q[k].tail)
                                        l->q[k].tail->next = op;
                                else
                                        l->q[k].head = op;
                                l->q[k].tail = op;
                        }
                        op = next;
                }
        }
        pthread_mutex_unlock(&l->lock);
        while (calls) {
                Op *next = calls->next;
                if (calls->drop)
                        calls->drop(calls->ud, calls->payload);
                free(calls);
                calls = next;
        }
}

static void drop_msg(void *ud, void *payload) {
        natsMsg_Destroy(payload);
}

void nats_loop_post_msg(NatsLoop *l, NatsLoopFn fn, void *ud, natsMsg *msg, NatsLoopClass cls) {
        if (nats_loop_post(l, fn, drop_msg, ud, msg, cls) < 0)
                natsMsg_Destroy(msg); /* counted by the loop */
}

/* On libnats' delivery thread. */
static void subscriber_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
        Subscriber *x = closure;
        nats_loop_post_msg(x->loop, x->fn, x->ud, msg, x->cls);
}

/* On libnats' delivery thread, after the subscription's last message. */
static void subscriber_done(void *closure) {
        Subscriber *x = closure;
        NatsLoop *l = x->loop;

        free(x);
        pthread_mutex_lock(&l->lock);
        l->subscriptions--;
        pthread_cond_broadcast(&l->finished);
        pthread_mutex_unlock(&l->lock);
}

int nats_loop_subscribe(NatsLoop *l, natsConnection *nc, const char *subject, NatsLoopFn fn, void *ud,
                        NatsLoopClass cls, natsSubscription **ret) {
        Subscriber *x = calloc(1, sizeof *x);
        natsSubscription *sub = NULL;

        if (!x)
                return -ENOMEM;
        *x = (Subscriber) { .loop = l, .fn = fn, .ud = ud, .cls = cls };
        if (natsConnection_Subscribe(&sub, nc, subject, subscriber_msg, x) != NATS_OK) {
                free(x);
                return -EIO;
        }
        pthread_mutex_lock(&l->lock);
        l->subscriptions++;
        pthread_mutex_unlock(&l->lock);
        if (natsSubscription_SetOnCompleteCB(sub, subscriber_done, x) != NATS_OK) {
                /* Closed already (its connection went): libnats finished with it, or will
                 * without telling; x is left to it. */
                pthread_mutex_lock(&l->lock);
                l->subscriptions--;
                pthread_mutex_unlock(&l->lock);
        }
        *ret = sub;
        return 0;
}

bool nats_loop_wait_subscriptions(NatsLoop *l, int timeout_ms) {
        struct timespec until = deadline_after_ms(timeout_ms);
        int r = 0;

        pthread_mutex_lock(&l->lock);
        while (l->subscriptions > 0 && r == 0)
                r = pthread_cond_timedwait(&l->finished, &l->lock, &until);
        bool done = l->subscriptions == 0;
        pthread_mutex_unlock(&l->lock);
        return done;
}
