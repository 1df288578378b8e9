/* SPDX-License-Identifier: MIT */
/* Routing. A call gets a node-wide reference; the router remembers caller, callee and deadline,
 * forwards the callee's REPLY to whoever asked (a mailbox, a private reply socket, or a control
 * request), and fails it at once when the callee dies. Outgoing frames are queued on mailboxes
 * and flushed once per loop pass from a post source. */
#include "router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "broker.h"
#include "idmap.h"
#include "list.h"
#include "proc.h"
#include "log.h"
#include "macro.h"
#include "priority.h"
#include "strv.h"
#include "time-util.h"

#define CALL_TIMEOUT_DEFAULT_MS 5000u
#define CALL_SWEEP_USEC (50 * USEC_PER_MSEC) /* call timeouts are kept to within this */
#define FLOOD_FACTOR 100
#define FLOOD_USEC USEC_PER_SEC

typedef struct Pending Pending;
typedef struct Monitor Monitor;

struct Peer {
        Router *router;            /* borrowed */
        void *owner;               /* borrowed: the tree node */
        Proc *proc;                /* borrowed: its process record (NULL for a stream) */
        pid_t pid;                 /* proc's, kept for what it sent after proc is gone */
        char **names;              /* owned strv: what it holds in the registry */
        Mailbox *mb;               /* owned */
        Subscriber *sub;           /* owned, or NULL until its first subscription */
        bool stream;               /* an outside subscriber on a control connection, no process */
        bool gone;                 /* a stream whose client went away: freed after this pass */
        LIST_FIELDS(Peer, streams);
        unsigned limit;            /* its mailbox_limit */
        uint64_t dropped_in_row;   /* its casts dropped at full mailboxes since one got through */
        usec_t first_drop_at;      /* when the first of those was dropped */
        bool dying;                /* reaped: its last frames are being delivered, nothing else */
        bool watching_remote;      /* holds monitors of other nodes' processes (RouterRemote) */
        /* The last name it sent to and whom that was, valid while the registry's epoch is
         * unchanged: a sender sticking to one target costs no lookup per message. */
        char last_name[REGISTRY_NAME_MAX];
        size_t last_len;
        Peer *last_peer;
        uint64_t last_epoch;
        bool dirty;
        LIST_FIELDS(Peer, dirty);
        Pending *calls_in;         /* calls waiting for our reply */
        Pending *calls_out;        /* calls we made, not yet answered */
        Monitor *watching;         /* monitors we own */
        Monitor *watched_by;       /* monitors on us */
};

struct Pending {
        uint64_t ref;              /* node-wide */
        uint64_t caller_ref;       /* the caller's own reference */
        Peer *caller;              /* borrowed; NULL for outside callers or a caller gone */
        Peer *callee;              /* borrowed */
        int reply_fd;              /* owned: the caller's private answer socket, or -1 */
        RouterAnswer fn;           /* outside callers */
        void *fn_ud;
        bool remote;               /* sent to another node (RouterRemote), no callee here */
        usec_t deadline;
        LIST_FIELDS(Pending, due); /* every call with a deadline, in the router's sweep list */
        LIST_FIELDS(Pending, in);
        LIST_FIELDS(Pending, out);
};

struct Monitor {
        Peer *owner, *target;      /* borrowed; owner NULL for one from outside (fn) */
        RouterDown fn;
        void *fn_ud;
        char *name;
        LIST_FIELDS(Monitor, own);
        LIST_FIELDS(Monitor, tgt);
};

struct Router {
        sd_event *event;           /* borrowed */
        RouterOps ops;
        void *ud;
        Registry *registry;        /* borrowed */
        Broker *broker;            /* owned */
        MailboxGroup *mailboxes;   /* owned: what every peer's mailbox shares */
        Peer *streams;             /* owned: outside subscribers */
        uint64_t epoch;            /* bumped whenever a name is added or removed */
        const ProcIndex *procs;    /* borrowed: pid → process, whose peer we are */
        IdMap calls;               /* ref → Pending */
        uint64_t next_ref;
        Peer *dirty;               /* mailboxes with frames to flush */
        sd_event_source *flush_source;
        sd_event_source *flush_more; /* a pass that ran out of its budget goes on from here */
        /* Call deadlines: one timer that sweeps the calls in flight every CALL_SWEEP_USEC while
         * there are any, instead of a timer per call (two timerfd updates per call). */
        Pending *due;
        sd_event_source *sweep_source;
        bool sweep_armed;
        RouterRemote remote;       /* NAME@NODE of other nodes; zeroed without [cluster] */
        void *remote_ud;
        RouterGlobal global;       /* global names; zeroed without [cluster] */
        void *global_ud;
};

/* ---- addressing ---------------------------------------------------------------------------- */

/* The mailbox of a live process, or NULL (none, or reaped: detached). */
static Peer *peer_of_pid(const Router *r, pid_t pid) {
        Proc *p = proc_get(r->procs, pid);
        return p ? p->peer : NULL;
}

/* A target is a registered name, or a pid written in decimal, or NAME@NODE. */
static Peer *resolve(Router *r, const char *target, size_t len);

/* The '@' of NAME@NODE in target, or NULL; *self: NODE is this node (never without a
 * transport). Never a registered name: registry_name_is_valid() refuses '@'. */
static const char *target_at(const Router *r, const char *target, size_t len, bool *self) {
        const char *a = memchr(target, '@', len);
        const char *node = a && r->remote.node ? r->remote.node(r->remote_ud) : NULL;
        size_t n = a ? len - (size_t) (a - target) - 1 : 0;
        *self = node && strlen(node) == n && memcmp(a + 1, node, n) == 0;
        return a;
}

/* NAME@NODE of another node, with a transport to it: true, with the length of NAME in *at. */
static bool target_remote(const Router *r, const char *target, size_t len, size_t *at) {
        bool self;
        const char *a = target_at(r, target, len, &self);
        if (!a || self || !r->remote.node)
                return false;
        *at = (size_t) (a - target);
        return true;
}

static Peer *resolve_name(Router *r, const char *target, size_t len) {
        char name[PROTO_TARGET_MAX + 1];
        RegistryEntry e;
        memcpy(name, target, len);
        name[len] = '\0';
        /* The same table the children read: routing and whereis never disagree. */
        if (registry_lookup(registry_view(r->registry), name, &e) <= 0 || (e.flags & REGISTRY_REMOTE))
                return NULL; /* another node's pid is none of ours */
        return peer_of_pid(r, e.pid);
}

/* target, or, for a global name held on another node, its "NAME@NODE" (in buf; *len updated):
 * the call, cast or monitor takes the NAME@NODE path from there. */
static const char *global_target(const Router *r, const char *target, size_t *len, char *buf) {
        RegistryEntry e;
        if (!r->remote.node || *len == 0 || *len > REGISTRY_KEY_MAX || memchr(target, '@', *len))
                return target;
        memcpy(buf, target, *len);
        buf[*len] = '\0';
        if (registry_lookup(registry_view(r->registry), buf, &e) <= 0 || !(e.flags & REGISTRY_REMOTE))
                return target;
        *len = strlen(e.name);
        memcpy(buf, e.name, *len + 1);
        return buf;
}

/* resolve(), remembering the answer for this sender. */
static Peer *resolve_cached(Router *r, Peer *from, const char *target, size_t len) {
        if (from->last_epoch == r->epoch && from->last_len == len && len > 0 &&
            memcmp(from->last_name, target, len) == 0)
                return from->last_peer;
        Peer *t = resolve(r, target, len);
        if (len <= sizeof from->last_name) {
                memcpy(from->last_name, target, len);
                from->last_len = len;
                from->last_peer = t;
                from->last_epoch = r->epoch;
        }
        return t;
}

static Peer *resolve(Router *r, const char *target, size_t len) {
        /* NAME@<this node> is NAME; any other node's is not found here. */
        bool self;
        const char *a = target_at(r, target, len, &self);
        if (a) {
                if (!self || a == target)
                        return NULL;
                len = (size_t) (a - target);
        }
        /* Only the first len bytes: a target points into a record and ends without a NUL. */
        uint64_t pid = 0;
        size_t i = 0;
        while (i < len && i < 10 && target[i] >= '0' && target[i] <= '9')
                pid = pid * 10 + (uint64_t) (target[i++] - '0');
        if (len > 0 && i == len)
                return pid <= INT32_MAX ? peer_of_pid(r, (pid_t) pid) : NULL;
        return resolve_name(r, target, len);
}

/* ---- answering calls ---------------------------------------------------------------------- */

static void pending_free(Router *r, Pending *c) {
        idmap_remove(&r->calls, c->ref);
        if (c->remote && r->remote.done)
                r->remote.done(r->remote_ud, c->ref);
        if (c->callee)
                LIST_REMOVE(in, c->callee->calls_in, c);
        if (c->caller)
                LIST_REMOVE(out, c->caller->calls_out, c);
        if (c->deadline)
                LIST_REMOVE(due, r->due, c);
        safe_close(c->reply_fd);
        free(c);
}

/* Queues a frame its worker waits for (an answer, a DOWN). Lost for want of memory, it would
 * leave the worker waiting forever, or believing what is no longer true: its mailbox is closed
 * and the worker restarted by its policy instead, and nobody else is affected. A closed mailbox
 * (-ENOBUFS) belongs to a worker that is going anyway. */
static void queue_owed(Router *r, Peer *p, const Frame *f, const char *what) {
        if (mailbox_queue(p->mb, f) != -ENOMEM)
                return;
        mailbox_close(p->mb);
        if (!p->dying && !p->stream)
                r->ops.lost(r->ud, p->owner, what);
}

/* An answer on the caller's own private socket: if it cannot take it now, it has gone. */
static void send_on_fd(int fd, const Frame *f) {
        static char buf[PROTO_FRAME_MAX];
        int n = proto_encode(f, buf, sizeof buf);
        if (n > 0)
                (void) send(fd, buf, (size_t) n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Delivers the answer (REPLY or ERROR) to whoever made the call, then forgets the call. */
static void answer(Router *r, Pending *c, uint8_t kind, const void *data, size_t len) {
        Frame f = { .kind = kind, .ref = c->caller_ref, .payload = data, .payload_len = len };
        if (c->reply_fd >= 0)
                send_on_fd(c->reply_fd, &f);
        else if (c->fn)
                c->fn(c->fn_ud, kind == PROTO_REPLY ? 0 : 1, data, len);
        else if (c->caller)
                queue_owed(r, c->caller, &f, kind == PROTO_REPLY ? "the reply to a call" : "the error answering a call");
        pending_free(r, c);
}

static void answer_error(Router *r, Pending *c, const char *reason) {
        answer(r, c, PROTO_ERROR, reason, strlen(reason));
}

static void arm_sweep(Router *r) {
        if (r->sweep_armed)
                return;
        r->sweep_armed = true;
        (void) sd_event_source_set_time_relative(r->sweep_source, CALL_SWEEP_USEC);
        (void) sd_event_source_set_enabled(r->sweep_source, SD_EVENT_ONESHOT);
}

static int on_sweep(sd_event_source *s, uint64_t usec, void *ud) {
        Router *r = ud;
        usec_t now = now_usec();
        r->sweep_armed = false;
        for (Pending *c = r->due, *next; c; c = next) {
                next = c->due_next;
                if (c->deadline <= now)
                        answer_error(r, c, "timeout");
        }
        if (r->due)
                arm_sweep(r);
        return 0;
}

static void arm_deadline(Router *r, Pending *c, uint32_t timeout_ms) {
        c->deadline = now_usec() + msec_to_usec(timeout_ms ? timeout_ms : CALL_TIMEOUT_DEFAULT_MS);
        LIST_PREPEND(due, r->due, c);
        arm_sweep(r);
}

/* A call of NAME@NODE (NAME is target's first at bytes): sent to that node, whose answer comes
 * back through router_remote_answer(); the deadline is kept here, as for a local call. */
static void start_remote_call(Router *r, Pending *c, uint8_t kind, const char *target, size_t target_len,
                              size_t at, const void *data, size_t len, uint32_t timeout_ms) {
        if (idmap_put(&r->calls, c->ref, c) < 0) {
                answer_error(r, c, "out of memory");
                return;
        }
        int e = r->remote.call(r->remote_ud, kind, c->ref, target, at, target + at + 1, target_len - at - 1, data, len,
                               timeout_ms ? timeout_ms : CALL_TIMEOUT_DEFAULT_MS);
        if (e < 0) {
                answer_error(r, c, e == -ESRCH ? "noproc" : e == -EAGAIN ? "too many calls to that node"
                                   : e == -ENOTCONN ? "noconnection" : "out of memory");
                return;
        }
        c->remote = true;
        arm_deadline(r, c, timeout_ms);
}

/* Starts a call of callee, resolved from target by the caller (NULL: noproc). The answer arrives
 * through answer(). */
static void start_call(Router *r, Pending *c, Peer *callee, uint8_t kind, const char *target, size_t target_len,
                       const void *data, size_t len, uint32_t timeout_ms, pid_t sender) {
        c->ref = ++r->next_ref;
        if (len > PROTO_PAYLOAD_MAX) {
                answer_error(r, c, "message too long (more than 65536 bytes)");
                return;
        }
        size_t at;
        char global[REGISTRY_NAME_MAX + 1];
        if (!callee)
                target = global_target(r, target, &target_len, global);
        if (!callee && target_remote(r, target, target_len, &at)) {
                start_remote_call(r, c, kind, target, target_len, at, data, len, timeout_ms);
                return;
        }
        if (!callee) {
                answer_error(r, c, "noproc");
                return;
        }
        if (mailbox_is_full(callee->mb)) {
                answer_error(r, c, "mailbox full");
                return;
        }
        if (idmap_put(&r->calls, c->ref, c) < 0) {
                answer_error(r, c, "out of memory");
                return;
        }
        Frame f = {
                .kind = kind, .ref = c->ref, .sender = (uint32_t) sender, .timeout_ms = timeout_ms,
                .target = target, .target_len = target_len, .payload = data, .payload_len = len,
        };
        int e = mailbox_queue(callee->mb, &f);
        if (e < 0) {
                /* The callee loses nothing: it never had the call. */
                answer_error(r, c, e == -ENOMEM ? "out of memory" : "noproc");
                return;
        }
        c->callee = callee;
        LIST_PREPEND(in, callee->calls_in, c);
        arm_deadline(r, c, timeout_ms);
}

static Pending *pending_new(int reply_fd) {
        Pending *c = calloc(1, sizeof *c);
        if (c)
                c->reply_fd = reply_fd;
        return c;
}

/* ---- frames from workers ------------------------------------------------------------------ */

/* A monitor that cannot be set up ends at once, as one on nobody does: with a DOWN, whose
 * reason says why ("noproc", "out of memory"). */
static void monitor_refused(Router *r, Peer *owner, const char *name, size_t len, const char *reason) {
        Frame f = { .kind = PROTO_DOWN, .target = name, .target_len = len, .payload = reason,
                    .payload_len = strlen(reason) };
        queue_owed(r, owner, &f, "the DOWN refusing a monitor");
}

static void add_monitor(Router *r, Peer *owner, const char *name, size_t len) {
        Peer *t = resolve(r, name, len);
        size_t at;
        char global[REGISTRY_NAME_MAX + 1];
        if (!t)
                name = global_target(r, name, &len, global);
        if (!t && target_remote(r, name, len, &at)) {
                int e = r->remote.monitor(r->remote_ud, owner->pid, name, len);
                owner->watching_remote |= e >= 0;
                if (e < 0)
                        monitor_refused(r, owner, name, len, e == -ENOMEM ? "out of memory"
                                                             : e == -EAGAIN ? "too many monitors" : "noproc");
                return;
        }
        if (!t) {
                monitor_refused(r, owner, name, len, "noproc");
                return;
        }
        Monitor *m = calloc(1, sizeof *m);
        if (!m || !(m->name = strndup(name, len))) {
                free(m);
                log_warning("Out of memory: a monitor of '%.*s' by pid %d is refused", (int) len, name, (int) owner->pid);
                monitor_refused(r, owner, name, len, "out of memory");
                return;
        }
        m->owner = owner;
        m->target = t;
        LIST_PREPEND(own, owner->watching, m);
        LIST_PREPEND(tgt, t->watched_by, m);
}

static void monitor_free(Monitor *m) {
        if (m->owner)
                LIST_REMOVE(own, m->owner->watching, m);
        LIST_REMOVE(tgt, m->target->watched_by, m);
        free(m->name);
        free(m);
}

typedef struct GroupCast {
        Router *router;
        const Frame *frame;
} GroupCast;

static void cast_to_holder(const RegistryEntry *e, void *ud) {
        GroupCast *g = ud;
        Peer *t = peer_of_pid(g->router, e->pid);
        if (t)
                (void) mailbox_queue_limited(t->mb, g->frame);
}

/* A cast to "+key" goes to every holder of the duplicate key (a process group). */
static void cast_to_group(Router *r, const Frame *f) {
        char name[PROTO_TARGET_MAX + 1];
        memcpy(name, f->target + 1, f->target_len - 1);
        name[f->target_len - 1] = '\0';
        GroupCast g = { r, f };
        (void) registry_lookup_all(registry_view(r->registry), name, cast_to_holder, &g);
}

/* Answers a REGISTER, UNREGISTER, SUBSCRIBE or UNSUBSCRIBE at once with "ok" or why not (e < 0):
 * on the private socket if one came, else through the mailbox. */
static void answer_request(Peer *p, const Frame *req, int fd, int e) {
        if (e == -ENOMEM)
                log_warning("Out of memory: a %s request of pid %d is refused", proto_kind_to_string(req->kind),
                            (int) p->pid);
        const char *text = e >= 0 ? "ok" : proto_refusal(req->kind, e) ?: proto_refusal(req->kind, -ENOMEM);
        Frame f = { .kind = e < 0 ? PROTO_ERROR : PROTO_REPLY, .ref = req->ref, .payload = text,
                    .payload_len = strlen(text) };
        if (fd >= 0) {
                send_on_fd(fd, &f);
                safe_close(fd);
                return;
        }
        queue_owed(p->router, p, &f, "the answer to a request");
}

/* name is "+key" for a duplicate key; stored without the '+' and flagged. */
static int peer_register(Router *r, Peer *p, const char *name) {
        bool dup = name[0] == '+';
        /* Its incarnation tells this holder of a name from an earlier process with its pid. */
        int e = registry_add(r->registry, name + dup, p->pid, (uint32_t) p->proc->incarnation,
                             dup ? REGISTRY_DUPLICATE : 0);
        RegistryEntry held;
        /* A name of this node's comes before another node's global one, which only hides it
         * here (cluster-names.c shows it again when the name is free). */
        if (e == -EEXIST && registry_lookup(registry_view(r->registry), name + dup, &held) > 0 &&
            (held.flags & REGISTRY_REMOTE) && registry_remove(r->registry, name + dup, held.pid) == 0)
                e = registry_add(r->registry, name + dup, p->pid, (uint32_t) p->proc->incarnation,
                                 dup ? REGISTRY_DUPLICATE : 0);
        r->epoch++;
        if (e < 0)
                return e;
        e = strv_push(&p->names, name + dup);
        if (e < 0)
                (void) registry_remove(r->registry, name + dup, p->pid);
        return e;
}

static void on_register(Router *r, Peer *p, const Frame *f, int fd) {
        char name[PROTO_TARGET_MAX + 1];
        memcpy(name, f->target, f->target_len);
        name[f->target_len] = '\0';
        /* As in the configuration: the name, or "+" and the name for a duplicate key. */
        const char *key = name + (name[0] == '+');
        RegistryEntry held;
        int e;
        bool valid = !memchr(f->target, '\0', f->target_len) && registry_name_is_valid(key) && key[0] != '+';
        /* A global name, asked for as one, or let go of as any name. */
        bool global = (f->flags & PROTO_FLAG_GLOBAL) ||
                      (valid && f->kind == PROTO_UNREGISTER &&
                       registry_lookup(registry_view(r->registry), key, &held) > 0 &&
                       (held.flags & REGISTRY_GLOBAL) && held.pid == p->pid);
        if (global && valid && name[0] != '+' && r->global.request && p->proc) {
                r->global.request(r->global_ud, f->kind, name, p->pid, (uint32_t) p->proc->incarnation, f->ref, fd);
                return;
        }
        if (!valid || (global && name[0] == '+'))
                e = -EINVAL;
        else if (global)
                e = -EOPNOTSUPP;
        else if (f->kind == PROTO_REGISTER)
                e = peer_register(r, p, name);
        else {
                e = registry_remove(r->registry, key, p->pid);
                r->epoch++;
                ptrdiff_t i = e >= 0 ? strv_index(p->names, key) : -1;
                if (i >= 0)
                        strv_remove_at(p->names, (size_t) i);
        }
        answer_request(p, f, fd, e);
}

static int peer_subscribe(Peer *p, const char *pattern, size_t len) {
        if (!p->sub && !(p->sub = broker_subscriber_new(p->router->broker, p->mb)))
                return -ENOMEM;
        return broker_subscribe(p->sub, pattern, len);
}

static int peer_subscribe_all(Peer *p, char *const *patterns) {
        STRV_FOREACH(t, patterns) {
                int e = peer_subscribe(p, *t, strlen(*t));
                if (e < 0)
                        return e;
        }
        return 0;
}

static void on_subscribe(Peer *p, const Frame *f, int fd) {
        int e = f->kind == PROTO_UNSUBSCRIBE ? (p->sub ? broker_unsubscribe(p->sub, f->target, f->target_len) : -ENOENT)
                                             : peer_subscribe(p, f->target, f->target_len);
        answer_request(p, f, fd, e);
}

static void stream_gone(Peer *p) {
        if (!p->gone) {
                p->gone = true;
                mailbox_close(p->mb);
        }
}

static unsigned on_frame(void *ud, Mailbox *mb, const Frame *f, int fd) {
        Peer *p = ud;
        Router *r = p->router;

        if (p->stream) {
                /* An outside subscriber only listens. */
                safe_close(fd);
                stream_gone(p);
                return 1;
        }
        switch (f->kind) {
        case PROTO_CAST: {
                Peer *t = resolve_cached(r, p, f->target, f->target_len);
                Frame out = *f;
                out.sender = (uint32_t) p->pid;
                if (!t && f->target_len > 0 && f->target[0] == '+') {
                        cast_to_group(r, &out);
                        return 1;
                }
                size_t at, tl = f->target_len;
                char global[REGISTRY_NAME_MAX + 1];
                const char *target = t ? f->target : global_target(r, f->target, &tl, global);
                if (!t && target_remote(r, target, tl, &at)) {
                        (void) r->remote.cast(r->remote_ud, target, at, target + at + 1, tl - at - 1, f->payload,
                                              f->payload_len);
                        return 1;
                }
                /* As in Erlang: a cast to nobody, or to a full mailbox, is dropped (and counted
                 * by that mailbox). */
                if (!t)
                        return 1;
                int e = mailbox_queue_limited(t->mb, &out);
                if (e != -EAGAIN) {
                        p->dropped_in_row = 0; /* through, or its target cannot hear any more */
                        return 1;
                }
                /* A sender that keeps pushing into full mailboxes is flooding: past a hundred
                 * times its own limit in a row, for a second or more, it is treated as broken
                 * (restarted by its policy), so it stops costing the node. A burst that only
                 * outruns its reader for a moment is not. */
                if (p->dropped_in_row++ == 0)
                        p->first_drop_at = now_usec();
                if (p->dropped_in_row > (uint64_t) p->limit * FLOOD_FACTOR && !p->dying &&
                    now_usec() - p->first_drop_at >= FLOOD_USEC) {
                        mailbox_close(p->mb);
                        r->ops.broken(r->ud, p->owner, "flooding: casts kept hitting full mailboxes");
                }
                return 1;
        }
        case PROTO_CALL: {
                Pending *c = pending_new((f->flags & PROTO_FLAG_REPLY_FD) ? fd : -1);
                if (!c) {
                        /* Refused, and said so, as any call that cannot be made. */
                        Frame err = { .kind = PROTO_ERROR, .ref = f->ref, .payload = "out of memory",
                                      .payload_len = strlen("out of memory") };
                        log_warning("Out of memory: a call by pid %d is refused", (int) p->pid);
                        if (f->flags & PROTO_FLAG_REPLY_FD) {
                                send_on_fd(fd, &err);
                                safe_close(fd);
                        } else
                                queue_owed(r, p, &err, "the error answering a call");
                        return 1;
                }
                c->caller_ref = f->ref;
                /* With a private answer socket the caller is a helper process, not the
                 * mailbox's reader: its answer does not depend on this incarnation. */
                if (c->reply_fd < 0) {
                        c->caller = p;
                        LIST_PREPEND(out, p->calls_out, c);
                }
                start_call(r, c, resolve(r, f->target, f->target_len), PROTO_CALL, f->target, f->target_len,
                           f->payload, f->payload_len, f->timeout_ms, p->pid);
                return 1;
        }
        case PROTO_REPLY: {
                Pending *c = idmap_get(&r->calls, f->ref);
                /* Only the callee answers; a late answer (after a timeout) is dropped. */
                if (c && c->callee == p)
                        answer(r, c, PROTO_REPLY, f->payload, f->payload_len);
                return 1;
        }
        case PROTO_READY:
                if (!p->dying)
                        r->ops.ready(r->ud, p->owner);
                return 1;
        case PROTO_WATCHDOG:
                if (!p->dying && r->ops.watchdog)
                        r->ops.watchdog(r->ud, p->owner, p->pid);
                return 1;
        case PROTO_MONITOR:
                add_monitor(r, p, f->target, f->target_len);
                return 1;
        case PROTO_HELLO:
                mailbox_set_batch(p->mb, f->flags & PROTO_FLAG_BATCH);
                return 1;
        case PROTO_REGISTER:
        case PROTO_UNREGISTER:
                on_register(r, p, f, (f->flags & PROTO_FLAG_REPLY_FD) ? fd : -1);
                return 1;
        case PROTO_SUBSCRIBE:
        case PROTO_UNSUBSCRIBE:
                on_subscribe(p, f, (f->flags & PROTO_FLAG_REPLY_FD) ? fd : -1);
                return 1;
        case PROTO_PUBLISH: {
                /* To nobody, to a bad topic: dropped, as a cast to nobody. */
                int n = broker_publish(r->broker, f->target, f->target_len, (uint32_t) p->pid, f->payload,
                                       f->payload_len);
                if (n == -ENOMEM)
                        log_warning("Out of memory: a publication on '%.*s' by pid %d is lost", (int) f->target_len,
                                    f->target, (int) p->pid);
                return 1 + (n > 0 ? (unsigned) n : 0);
        }
        default:
                /* Never taken: the record check (proto_check_record()) refuses a record with a
                 * kind that does not go to the node. Kept as the same violation, defensively. */
                mailbox_close(p->mb);
                if (!p->dying)
                        r->ops.broken(r->ud, p->owner, "a frame kind only the node may send");
                return 1;
        }
}

static void on_broken(void *ud, Mailbox *mb, const char *why) {
        Peer *p = ud;
        if (p->stream)
                stream_gone(p);
        if (p->dying || p->stream)
                return;
        if (strcmp(why, MAILBOX_OUT_OF_MEMORY) == 0)
                p->router->ops.lost(p->router->ud, p->owner, "the rest of a record it sent");
        else
                p->router->ops.broken(p->router->ud, p->owner, why);
}

static void on_dirty(void *ud, Mailbox *mb) {
        Peer *p = ud;
        if (!p->dirty) {
                p->dirty = true;
                LIST_PREPEND(dirty, p->router->dirty, p);
        }
}

static void on_hangup(void *ud, Mailbox *mb) {
        Peer *p = ud;
        if (p->stream)
                stream_gone(p);
}

static void stream_free(Router *r, Peer *p) {
        LIST_REMOVE(streams, r->streams, p);
        if (p->dirty)
                LIST_REMOVE(dirty, r->dirty, p);
        broker_subscriber_free(p->sub);
        mailbox_free(p->mb);
        free(p);
}

/* Bytes written per flush pass, after which child exits and timers get their turn (a pass that
 * fans out to many subscribers would otherwise copy megabytes in one go). */
#define FLUSH_BYTES_PER_PASS (1024 * 1024)

static int on_flush(sd_event_source *s, void *ud) {
        Router *r = ud;
        size_t bytes = 0;
        mailbox_group_next_pass(r->mailboxes);
        for (Peer *p = r->dirty, *next; p; p = next) {
                next = p->dirty_next;
                if (bytes >= FLUSH_BYTES_PER_PASS) {
                        /* The rest on a later pass, after whatever is more urgent. */
                        (void) sd_event_source_set_enabled(r->flush_more, SD_EVENT_ONESHOT);
                        break;
                }
                if (!mailbox_flush_due(p->mb))
                        continue; /* gathering: a later pass, which the input still to read brings */
                LIST_REMOVE(dirty, r->dirty, p);
                p->dirty = false;
                bytes += mailbox_flush(p->mb);
        }
        /* Outside subscribers that went away: never freed from inside their own mailbox. */
        for (Peer *p = r->streams, *next; p; p = next) {
                next = p->streams_next;
                if (p->gone)
                        stream_free(r, p);
        }
        return 0;
}

static int on_flush_more(sd_event_source *s, void *ud) {
        return on_flush(s, ud);
}

static const MailboxHandlers peer_handlers = {
        .frame = on_frame,
        .broken = on_broken,
        .dirty = on_dirty,
        .hangup = on_hangup,
};

/* ---- peers -------------------------------------------------------------------------------- */

/* A peer on the node end fd of a mailbox (taken over), limited to limit queued frames. */
static int peer_new(Router *r, int fd, unsigned limit, Peer **ret) {
        Peer *p = calloc(1, sizeof *p);
        if (!p) {
                safe_close(fd);
                return -ENOMEM;
        }
        p->router = r;
        p->limit = limit;
        int e = mailbox_new(r->event, r->mailboxes, fd, limit, &peer_handlers, p, &p->mb);
        if (e < 0) {
                free(p);
                return e;
        }
        *ret = p;
        return 0;
}

int router_attach(Router *r, Proc *proc, const char *name, char *const *subscribe, int fd, unsigned limit,
                  void *owner, Peer **ret) {
        Peer *p;
        int e = peer_new(r, fd, limit, &p);
        if (e < 0)
                return e;
        p->owner = owner;
        p->proc = proc;
        p->pid = proc->pid;
        r->epoch++; /* a new pid: cached answers for it are stale */
        if (name)
                e = peer_register(r, p, name);
        if (e >= 0)
                e = peer_subscribe_all(p, subscribe);
        if (e < 0) {
                STRV_FOREACH(n, p->names)
                        (void) registry_remove(r->registry, *n, p->pid);
                strv_free(p->names);
                broker_subscriber_free(p->sub);
                mailbox_free(p->mb);
                free(p);
                return e;
        }
        proc->peer = p;
        *ret = p;
        return 0;
}

void router_detach(Router *r, Peer *p, const char *reason) {
        if (!p)
                return;
        /* What it sent before it died still goes out, from it, while it still has its names.
         * Its process is reaped: nothing it says may act on it (ready, broken) any more. */
        p->dying = true;
        mailbox_drain(p->mb);
        /* Its names go first: from now on nobody finds this incarnation, and a successor may
         * take them at once. */
        STRV_FOREACH(name, p->names)
                (void) registry_remove(r->registry, *name, p->pid);
        if (r->global.exited)
                r->global.exited(r->global_ud, p->pid);
        r->epoch++; /* also forgets every cached answer that pointed at p */
        strv_free(p->names);
        if (p->proc)
                p->proc->peer = NULL; /* from now on its pid finds nobody */
        /* Its subscriptions end with it: nothing published from now on is queued for it. */
        p->sub = broker_subscriber_free(p->sub);
        /* Frames still queued for it go with it. */
        if (p->dirty) {
                LIST_REMOVE(dirty, r->dirty, p);
                p->dirty = false;
        }
        while (p->calls_in)
                answer_error(r, p->calls_in, "callee exited");
        while (p->calls_out) {
                Pending *c = p->calls_out;
                LIST_REMOVE(out, p->calls_out, c);
                c->caller = NULL; /* the callee may still answer; nobody will hear it */
        }
        while (p->watched_by) {
                Monitor *m = p->watched_by;
                if (m->fn) {
                        RouterDown fn = m->fn;
                        void *fn_ud = m->fn_ud;
                        monitor_free(m);
                        fn(fn_ud, reason);
                        continue;
                }
                Frame f = { .kind = PROTO_DOWN, .target = m->name, .target_len = strlen(m->name),
                            .sender = (uint32_t) p->pid, .payload = reason, .payload_len = strlen(reason) };
                queue_owed(r, m->owner, &f, "a DOWN");
                monitor_free(m);
        }
        while (p->watching)
                monitor_free(p->watching);
        if (p->watching_remote && r->remote.forget)
                r->remote.forget(r->remote_ud, p->pid);
        mailbox_free(p->mb);
        free(p);
}

int router_cast(Router *r, const char *target, const void *data, size_t len) {
        Peer *t = resolve(r, target, strlen(target));
        size_t at, tl = strlen(target);
        char global[REGISTRY_NAME_MAX + 1];
        mailbox_group_new_turn(r->mailboxes);
        if (len > PROTO_PAYLOAD_MAX)
                return -EMSGSIZE;
        if (!t)
                target = global_target(r, target, &tl, global);
        if (!t && target_remote(r, target, tl, &at))
                return r->remote.cast(r->remote_ud, target, at, target + at + 1, tl - at - 1, data, len);
        if (!t)
                return -ESRCH;
        Frame f = { .kind = PROTO_CAST, .target = target, .target_len = strlen(target), .payload = data,
                    .payload_len = len };
        return mailbox_queue_limited(t->mb, &f);
}

int router_call(Router *r, uint8_t kind, const char *target, const void *data, size_t len, uint32_t timeout_ms,
                RouterAnswer fn, void *ud, uint64_t *ret_ref) {
        size_t tl = strlen(target), at;
        Peer *t = resolve(r, target, tl);
        char global[REGISTRY_NAME_MAX + 1];
        mailbox_group_new_turn(r->mailboxes);
        if (len > PROTO_PAYLOAD_MAX)
                return -EMSGSIZE;
        if (!t)
                target = global_target(r, target, &tl, global);
        if (!t && !target_remote(r, target, tl, &at))
                return -ESRCH;
        if (t && mailbox_is_full(t->mb))
                return -EAGAIN;
        Pending *c = pending_new(-1);
        if (!c)
                return -ENOMEM;
        c->fn = fn;
        c->fn_ud = ud;
        /* Before start_call, which may answer (and so free ud) at once. */
        *ret_ref = r->next_ref + 1;
        start_call(r, c, t, kind, target, tl, data, len, timeout_ms, 0);
        return 0;
}

void router_cancel(Router *r, uint64_t ref) {
        Pending *c = idmap_get(&r->calls, ref);
        if (c && c->fn)
                pending_free(r, c);
}

void router_set_remote(Router *r, const RouterRemote *ops, void *ud) {
        r->remote = ops ? *ops : (RouterRemote) {};
        r->remote_ud = ops ? ud : NULL;
        r->epoch++; /* resolve() reads the node's name */
}

void router_set_global(Router *r, const RouterGlobal *ops, void *ud) {
        r->global = ops ? *ops : (RouterGlobal) {};
        r->global_ud = ops ? ud : NULL;
}

void router_answer_request(Router *r, pid_t pid, uint32_t incarnation, uint8_t kind, uint64_t ref, int fd, int e) {
        Peer *p = peer_of_pid(r, pid);
        Frame req = { .kind = kind, .ref = ref };
        if (p && !p->dying && p->proc && (uint32_t) p->proc->incarnation == incarnation) {
                answer_request(p, &req, fd, e);
                return;
        }
        if (fd < 0)
                return; /* it has gone: nobody waits for this */
        /* Its helper process may still wait on its private socket. */
        const char *text = e >= 0 ? "ok" : proto_refusal(kind, e) ?: "out of memory";
        Frame f = { .kind = e < 0 ? PROTO_ERROR : PROTO_REPLY, .ref = ref, .payload = text,
                    .payload_len = strlen(text) };
        send_on_fd(fd, &f);
        safe_close(fd);
}

void router_names_changed(Router *r) {
        r->epoch++;
}

void router_remote_answer(Router *r, uint64_t ref, bool ok, const void *data, size_t len) {
        Pending *c = idmap_get(&r->calls, ref);
        if (c && c->remote)
                answer(r, c, ok ? PROTO_REPLY : PROTO_ERROR, data, len);
}

void router_deliver_down(Router *r, pid_t pid, const char *target, const char *reason) {
        Peer *p = peer_of_pid(r, pid);
        if (!p || p->dying)
                return;
        Frame f = { .kind = PROTO_DOWN, .target = target, .target_len = strlen(target), .payload = reason,
                    .payload_len = strlen(reason) };
        queue_owed(r, p, &f, "a DOWN");
}

int router_monitor(Router *r, const char *target, RouterDown fn, void *ud, RouterMonitor **ret) {
        Peer *t = resolve(r, target, strlen(target));
        if (!t)
                return -ESRCH;
        Monitor *m = calloc(1, sizeof *m);
        if (!m || !(m->name = strdup(target))) {
                free(m);
                return -ENOMEM;
        }
        m->target = t;
        m->fn = fn;
        m->fn_ud = ud;
        LIST_PREPEND(tgt, t->watched_by, m);
        *ret = m;
        return 0;
}

void router_demonitor(Router *r, RouterMonitor *m) {
        if (m)
                monitor_free(m);
}

int router_publish(Router *r, const char *topic, const void *data, size_t len) {
        mailbox_group_new_turn(r->mailboxes);
        return broker_publish(r->broker, topic, strlen(topic), 0, data, len);
}

bool router_has_subscribers(Router *r, const char *topic) {
        return broker_has_subscribers(r->broker, topic, strlen(topic));
}

void router_set_broker_hooks(Router *r, const BrokerHooks *hooks, void *ud) {
        broker_set_hooks(r->broker, hooks, ud);
}

int router_deliver(Router *r, const char *topic, size_t tlen, const void *data, size_t len) {
        mailbox_group_new_turn(r->mailboxes);
        return broker_deliver(r->broker, topic, tlen, data, len);
}

int router_stream_new(Router *r, int fd, char *const *patterns, unsigned limit, Peer **ret) {
        Peer *p;
        int e = peer_new(r, fd, limit, &p);
        if (e < 0)
                return e;
        p->stream = true;
        /* The client reads records of many frames. */
        mailbox_set_batch(p->mb, true);
        LIST_PREPEND(streams, r->streams, p);
        e = peer_subscribe_all(p, patterns);
        if (e < 0) {
                stream_free(r, p);
                return e;
        }
        if (ret)
                *ret = p;
        return 0;
}

int router_stream_open(Router *r, int fd, char *const *patterns, unsigned limit) {
        return router_stream_new(r, fd, patterns, limit, NULL);
}

int router_stream_send(Peer *p, const char *topic, const void *data, size_t len) {
        assert(p->stream);
        Frame f = { .kind = PROTO_INFO, .target = topic, .target_len = strlen(topic), .payload = data,
                    .payload_len = len };
        int e = mailbox_queue(p->mb, &f);
        /* A stream with a hole would mislead its reader: it ends, and the client says so. */
        if (e < 0)
                stream_gone(p);
        return e;
}

void peer_get_stats(Peer *p, MailboxStats *ret) {
        mailbox_get_stats(p->mb, ret);
}

char *const *peer_subscriptions(Peer *p) {
        return p->sub ? broker_subscriber_patterns(p->sub) : NULL;
}

void router_get_stats(const Router *r, RouterStats *ret) {
        MailboxStats m;
        mailbox_group_get_stats(r->mailboxes, &m);
        *ret = (RouterStats) { .in = m.in, .out = m.out, .dropped = m.dropped, .published = broker_published(r->broker) };
}

uint64_t peer_publications_dropped(Peer *p) {
        return p->sub ? broker_subscriber_dropped(p->sub) : 0;
}

int router_new(sd_event *e, Registry *registry, const ProcIndex *procs, const RouterOps *ops, void *ud,
               Router **ret) {
        Router *r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->event = e;
        r->registry = registry;
        r->procs = procs;
        r->ops = *ops;
        r->ud = ud;
        int err = broker_new(&r->broker);
        if (err >= 0)
                err = mailbox_group_new(&r->mailboxes);
        if (err >= 0)
                err = sd_event_add_post(e, &r->flush_source, on_flush, r);
        if (err >= 0)
                err = sd_event_add_defer(e, &r->flush_more, on_flush_more, r);

        if (err >= 0)
                err = sd_event_add_time_relative(e, &r->sweep_source, CLOCK_MONOTONIC, CALL_SWEEP_USEC,
                                                 10 * USEC_PER_MSEC, on_sweep, r);
        if (err < 0) {
                sd_event_source_disable_unref(r->flush_source);
                sd_event_source_disable_unref(r->flush_more);
                broker_free(r->broker);
                mailbox_group_free(r->mailboxes);
                free(r);
                return err;
        }
        sd_event_source_set_enabled(r->sweep_source, SD_EVENT_OFF);
        sd_event_source_set_enabled(r->flush_more, SD_EVENT_OFF);
        /* With the mailboxes: after child exits, timers and control requests. */
        sd_event_source_set_priority(r->flush_more, PRIORITY_MAILBOX);
        *ret = r;
        return 0;
}

void router_flush_streams(Router *r) {
        for (Peer *p = r->streams; p; p = p->streams_next)
                if (!p->gone)
                        (void) mailbox_flush(p->mb);
}

Router *router_free(Router *r) {
        if (!r)
                return NULL;
        /* Peers belong to the tree's nodes, which detach them first; streams are ours. */
        while (r->streams)
                stream_free(r, r->streams);
        /* Calls to other nodes have no callee here to fail them: forgotten with the router. */
        for (Pending *c = r->due, *next; c; c = next) {
                next = c->due_next;
                if (c->remote)
                        pending_free(r, c);
        }
        broker_free(r->broker);
        mailbox_group_free(r->mailboxes);
        sd_event_source_disable_unref(r->flush_source);
        sd_event_source_disable_unref(r->flush_more);
        sd_event_source_disable_unref(r->sweep_source);
        idmap_done(&r->calls);
        return mfree(r);
}
