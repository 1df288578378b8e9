/* SPDX-License-Identifier: MIT */
/* NAME@NODE over NATS (cluster-rpc.h). Four records, each in a list of its own and bounded:
 * OutCall (a call of ours in flight to another node, by the router's reference), Served (a call
 * from another node we make of a local process), WatchOut (a monitor one of our workers holds on
 * another node's process) and WatchIn (a monitor another node holds on one of ours). */
#include "cluster-rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "list.h"
#include "log.h"
#include "macro.h"
#include "proto.h"

typedef struct OutCall OutCall;
typedef struct Served Served;
typedef struct WatchOut WatchOut;
typedef struct WatchIn WatchIn;

struct OutCall {
        uint64_t ref;                      /* the router's */
        char node[CLUSTER_NAME_MAX + 1];
        LIST_FIELDS(OutCall, calls);
};

struct Served {
        ClusterRpc *rpc;
        uint64_t caller_ref, ref;          /* the caller node's reference, ours (router_cancel) */
        char from[CLUSTER_NAME_MAX + 1];
        LIST_FIELDS(Served, served);
};

struct WatchOut {
        uint64_t id;
        pid_t owner;
        char *target;                      /* NAME@NODE, as the worker gave it */
        char node[CLUSTER_NAME_MAX + 1];
        LIST_FIELDS(WatchOut, out);
};

struct WatchIn {
        ClusterRpc *rpc;
        uint64_t id;                       /* the watching node's */
        RouterMonitor *m;
        char from[CLUSTER_NAME_MAX + 1];
        LIST_FIELDS(WatchIn, in);
};

struct ClusterRpc {
        Cluster *cluster;                  /* borrowed */
        Router *router;                    /* borrowed */
        natsSubscription *sub;
        char *subject;                     /* PREFIX.rpc.NODE */
        IdMap out_by_ref;                  /* ref → OutCall */
        OutCall *out;
        size_t n_out;
        Served *served;
        size_t n_served;
        IdMap watch_by_id;                 /* id → WatchOut */
        WatchOut *watch_out;
        WatchIn *watch_in;
        size_t n_watch_out, n_watch_in;
        uint64_t next_id;
};

/* ---- the wire --------------------------------------------------------------------------- */

static void put_le(uint8_t *p, uint64_t v, int n) {
        for (int i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n) {
        uint64_t v = 0;
        for (int i = 0; i < n; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

int rpc_encode(const RpcMsg *m, void *buf, size_t n) {
        uint8_t *p = buf;
        size_t total = RPC_HEADER + m->from_len + m->name_len + m->len;

        if (m->kind < RPC_CALL || m->kind >= _RPC_KIND_MAX || m->from_len < 1 || m->from_len > 255 ||
            m->name_len > PROTO_TARGET_MAX || m->len > PROTO_PAYLOAD_MAX)
                return -EINVAL;
        if (total > n)
                return -ENOBUFS;
        p[0] = RPC_VERSION;
        p[1] = m->kind;
        put_le(p + 2, m->ref, 8);
        put_le(p + 10, m->timeout_ms, 4);
        p[14] = (uint8_t) m->from_len;
        put_le(p + 15, m->name_len, 2);
        memcpy(p + RPC_HEADER, m->from, m->from_len);
        if (m->name_len)
                memcpy(p + RPC_HEADER + m->from_len, m->name, m->name_len);
        if (m->len)
                memcpy(p + RPC_HEADER + m->from_len + m->name_len, m->data, m->len);
        return (int) total;
}

int rpc_decode(const void *buf, size_t n, RpcMsg *m) {
        const uint8_t *p = buf;
        char from[256];

        if (n < RPC_HEADER || p[0] != RPC_VERSION || p[1] < RPC_CALL || p[1] >= _RPC_KIND_MAX)
                return -EBADMSG;
        *m = (RpcMsg) {
                .kind = p[1],
                .ref = get_le(p + 2, 8),
                .timeout_ms = (uint32_t) get_le(p + 10, 4),
                .from_len = p[14],
                .name_len = (size_t) get_le(p + 15, 2),
        };
        if (m->name_len > PROTO_TARGET_MAX || RPC_HEADER + m->from_len + m->name_len > n)
                return -EBADMSG;
        m->from = (const char *) p + RPC_HEADER;
        m->name = m->from + m->from_len;
        m->data = m->name + m->name_len;
        m->len = n - RPC_HEADER - m->from_len - m->name_len;
        memcpy(from, m->from, m->from_len);
        from[m->from_len] = '\0';
        if (m->len > PROTO_PAYLOAD_MAX || !cluster_name_is_valid(from) || memchr(m->name, '\0', m->name_len))
                return -EBADMSG;
        return 0;
}

/* ---- sending ---------------------------------------------------------------------------- */

/* Appends m for node to libnats' buffer: never waits. Only while connected (see cluster.c):
 * else, or with no room, it is dropped and counted, and -ENOTCONN. */
static int send_to(ClusterRpc *rpc, const char *node, size_t node_len, RpcMsg *m) {
        static uint8_t buf[RPC_MSG_MAX];
        natsConnection *nc = cluster_traffic_connection(rpc->cluster);
        const char *self = cluster_node_name(rpc->cluster);
        char subject[CLUSTER_NAME_MAX * 2 + 16];
        int n;

        m->from = self;
        m->from_len = strlen(self);
        n = rpc_encode(m, buf, sizeof buf);
        if (n < 0 || !nc || !cluster_traffic_connected(rpc->cluster))
                goto drop;
        snprintf(subject, sizeof subject, "%s.rpc.%.*s", cluster_prefix(rpc->cluster), (int) node_len, node);
        if (natsConnection_Publish(nc, subject, buf, n) != NATS_OK)
                goto drop;
        cluster_count_out(rpc->cluster);
        return 0;
drop:
        cluster_count_dropped(rpc->cluster);
        return -ENOTCONN;
}

static void send_answer(ClusterRpc *rpc, const char *node, uint8_t kind, uint64_t ref, const void *data, size_t len) {
        RpcMsg m = { .kind = kind, .ref = ref, .data = data, .len = len };
        (void) send_to(rpc, node, strlen(node), &m);
}

static bool node_ok(const char *node, size_t len) {
        return len >= 1 && len <= CLUSTER_NAME_MAX;
}

/* ---- the router's side: NAME@NODE from here ---------------------------------------------- */

static const char *remote_node(void *ud) {
        ClusterRpc *rpc = ud;
        return cluster_node_name(rpc->cluster);
}

static size_t calls_to(ClusterRpc *rpc, const char *node, size_t len) {
        size_t n = 0;
        for (OutCall *o = rpc->out; o; o = o->calls_next)
                n += strlen(o->node) == len && memcmp(o->node, node, len) == 0;
        return n;
}

static void remote_done(void *ud, uint64_t ref);

static int remote_call(void *ud, uint8_t kind, uint64_t ref, const char *name, size_t name_len, const char *node, size_t node_len,
                       const void *data, size_t len, uint32_t timeout_ms) {
        ClusterRpc *rpc = ud;
        OutCall *o;

        if (!node_ok(node, node_len) || name_len == 0 || !cluster_node_is_up(rpc->cluster, node, node_len))
                return -ESRCH;
        /* Counted only past the cap of one node: below it no node can be over. */
        if (rpc->n_out >= CLUSTER_RPC_CALLS_PER_NODE &&
            calls_to(rpc, node, node_len) >= CLUSTER_RPC_CALLS_PER_NODE) {
                cluster_count_dropped(rpc->cluster);
                return -EAGAIN;
        }
        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        o->ref = ref;
        memcpy(o->node, node, node_len);
        if (idmap_put(&rpc->out_by_ref, ref, o) < 0) {
                free(o);
                return -ENOMEM;
        }
        LIST_PREPEND(calls, rpc->out, o);
        rpc->n_out++;
        RpcMsg m = { .kind = kind == PROTO_GET_STATE ? RPC_GET_STATE : RPC_CALL, .ref = ref, .timeout_ms = timeout_ms, .name = name, .name_len = name_len,
                     .data = data, .len = len };
        int r = send_to(rpc, node, node_len, &m);
        if (r < 0)
                remote_done(rpc, ref); /* the router fails it at once, without done() */
        return r;
}

static void remote_done(void *ud, uint64_t ref) {
        ClusterRpc *rpc = ud;
        OutCall *o = idmap_remove(&rpc->out_by_ref, ref);
        if (!o)
                return;
        LIST_REMOVE(calls, rpc->out, o);
        rpc->n_out--;
        free(o);
}

static int remote_cast(void *ud, const char *name, size_t name_len, const char *node, size_t node_len,
                       const void *data, size_t len) {
        ClusterRpc *rpc = ud;
        if (!node_ok(node, node_len) || name_len == 0 || !cluster_node_is_up(rpc->cluster, node, node_len))
                return -ESRCH;
        RpcMsg m = { .kind = RPC_CAST, .name = name, .name_len = name_len, .data = data, .len = len };
        return send_to(rpc, node, node_len, &m);
}

static void watch_out_free(ClusterRpc *rpc, WatchOut *w) {
        idmap_remove(&rpc->watch_by_id, w->id);
        LIST_REMOVE(out, rpc->watch_out, w);
        rpc->n_watch_out--;
        free(w->target);
        free(w);
}

/* Kept until NODE says DOWN or falls silent, or the worker ends (remote_forget()). */
static int remote_monitor(void *ud, pid_t owner, const char *target, size_t len) {
        ClusterRpc *rpc = ud;
        const char *at = memchr(target, '@', len);
        size_t name_len = (size_t) (at - target), node_len = len - name_len - 1;
        const char *node = at + 1;
        WatchOut *w;

        if (!node_ok(node, node_len) || name_len == 0 || !cluster_node_is_up(rpc->cluster, node, node_len))
                return -ESRCH;
        if (rpc->n_watch_out >= CLUSTER_RPC_MONITORS_MAX) {
                cluster_count_dropped(rpc->cluster);
                return -EAGAIN;
        }
        w = calloc(1, sizeof *w);
        if (!w || !(w->target = strndup(target, len))) {
                free(w);
                return -ENOMEM;
        }
        w->id = ++rpc->next_id;
        w->owner = owner;
        memcpy(w->node, node, node_len);
        if (idmap_put(&rpc->watch_by_id, w->id, w) < 0) {
                free(w->target);
                free(w);
                return -ENOMEM;
        }
        LIST_PREPEND(out, rpc->watch_out, w);
        rpc->n_watch_out++;
        RpcMsg m = { .kind = RPC_MONITOR, .ref = w->id, .name = target, .name_len = name_len };
        if (send_to(rpc, node, node_len, &m) < 0) {
                watch_out_free(rpc, w);
                return -ESRCH;
        }
        return 0;
}

/* Its monitors end with it: the other nodes forget them too, and their DOWN never comes. */
static void remote_forget(void *ud, pid_t owner) {
        ClusterRpc *rpc = ud;
        for (WatchOut *w = rpc->watch_out, *next; w; w = next) {
                next = w->out_next;
                if (w->owner != owner)
                        continue;
                RpcMsg m = { .kind = RPC_DEMONITOR, .ref = w->id };
                (void) send_to(rpc, w->node, strlen(w->node), &m);
                watch_out_free(rpc, w);
        }
}

static const RouterRemote remote_ops = {
        .node = remote_node,
        .call = remote_call,
        .done = remote_done,
        .cast = remote_cast,
        .monitor = remote_monitor,
        .forget = remote_forget,
};

/* ---- another node's messages ------------------------------------------------------------ */

static void served_free(ClusterRpc *rpc, Served *s) {
        LIST_REMOVE(served, rpc->served, s);
        rpc->n_served--;
        free(s);
}

static void on_served_answer(void *ud, int status, const void *data, size_t len) {
        Served *s = ud;
        send_answer(s->rpc, s->from, status == 0 ? RPC_REPLY : RPC_ERROR, s->caller_ref, data, len);
        served_free(s->rpc, s);
}

static void on_call(ClusterRpc *rpc, const RpcMsg *m, const char *from, const char *name) {
        Served *s;
        int r;

        if (rpc->n_served >= CLUSTER_RPC_SERVED_MAX) {
                cluster_count_dropped(rpc->cluster);
                send_answer(rpc, from, RPC_ERROR, m->ref, "too many calls to that node", strlen("too many calls to that node"));
                return;
        }
        s = calloc(1, sizeof *s);
        if (!s) {
                send_answer(rpc, from, RPC_ERROR, m->ref, "out of memory", strlen("out of memory"));
                return;
        }
        s->rpc = rpc;
        s->caller_ref = m->ref;
        snprintf(s->from, sizeof s->from, "%s", from);
        /* Listed first: the router may answer (and so free s) before it returns. */
        LIST_PREPEND(served, rpc->served, s);
        rpc->n_served++;
        r = router_call(rpc->router, m->kind == RPC_GET_STATE ? PROTO_GET_STATE : PROTO_CALL, name, m->data, m->len, m->timeout_ms, on_served_answer, s, &s->ref);
        if (r < 0) {
                const char *why = r == -ESRCH ? "noproc" : r == -EAGAIN ? "mailbox full" : "out of memory";
                send_answer(rpc, from, RPC_ERROR, m->ref, why, strlen(why));
                served_free(rpc, s);
        }
}

static void watch_in_free(ClusterRpc *rpc, WatchIn *w) {
        LIST_REMOVE(in, rpc->watch_in, w);
        rpc->n_watch_in--;
        free(w);
}

/* The process another node monitors has ended (the router's monitor is gone). */
static void on_local_down(void *ud, const char *reason) {
        WatchIn *w = ud;
        send_answer(w->rpc, w->from, RPC_DOWN, w->id, reason, strlen(reason));
        watch_in_free(w->rpc, w);
}

static void on_monitor(ClusterRpc *rpc, const RpcMsg *m, const char *from, const char *name) {
        const char *why = "out of memory";
        WatchIn *w;
        int r;

        if (rpc->n_watch_in >= CLUSTER_RPC_MONITORS_MAX) {
                cluster_count_dropped(rpc->cluster);
                why = "too many monitors";
                goto refuse;
        }
        w = calloc(1, sizeof *w);
        if (!w)
                goto refuse;
        w->rpc = rpc;
        w->id = m->ref;
        snprintf(w->from, sizeof w->from, "%s", from);
        r = router_monitor(rpc->router, name, on_local_down, w, &w->m);
        if (r < 0) {
                free(w);
                why = r == -ESRCH ? "noproc" : "out of memory";
                goto refuse;
        }
        LIST_PREPEND(in, rpc->watch_in, w);
        rpc->n_watch_in++;
        return;
refuse:
        send_answer(rpc, from, RPC_DOWN, m->ref, why, strlen(why));
}

static void on_msg(void *ud, void *payload) {
        ClusterRpc *rpc = ud;
        natsMsg *msg = payload;
        char from[CLUSTER_NAME_MAX + 1], name[PROTO_TARGET_MAX + 1], reason[256];
        RpcMsg m;

        cluster_count_in(rpc->cluster);
        if (rpc_decode(natsMsg_GetData(msg), (size_t) natsMsg_GetDataLength(msg), &m) < 0 ||
            m.from_len > CLUSTER_NAME_MAX) {
                cluster_count_dropped(rpc->cluster);
                goto done;
        }
        memcpy(from, m.from, m.from_len);
        from[m.from_len] = '\0';
        memcpy(name, m.name, m.name_len);
        name[m.name_len] = '\0';
        switch (m.kind) {
        case RPC_CALL:
        case RPC_GET_STATE:
                /* A name here is a local name: NAME@OTHER is never relayed. */
                if (m.name_len == 0 || strchr(name, '@'))
                        send_answer(rpc, from, RPC_ERROR, m.ref, "noproc", strlen("noproc"));
                else
                        on_call(rpc, &m, from, name);
                break;
        case RPC_CAST:
                if (m.name_len > 0 && !strchr(name, '@'))
                        (void) router_cast(rpc->router, name, m.data, m.len);
                break;
        case RPC_REPLY:
        case RPC_ERROR: {
                OutCall *o = idmap_get(&rpc->out_by_ref, m.ref);
                /* Only the node called answers; a late answer finds no call (dropped). */
                if (o && strcmp(o->node, from) == 0)
                        router_remote_answer(rpc->router, m.ref, m.kind == RPC_REPLY, m.data, m.len);
                break;
        }
        case RPC_MONITOR:
                if (m.name_len == 0 || strchr(name, '@'))
                        send_answer(rpc, from, RPC_DOWN, m.ref, "noproc", strlen("noproc"));
                else
                        on_monitor(rpc, &m, from, name);
                break;
        case RPC_DEMONITOR:
                for (WatchIn *w = rpc->watch_in; w; w = w->in_next)
                        if (w->id == m.ref && strcmp(w->from, from) == 0) {
                                router_demonitor(rpc->router, w->m);
                                watch_in_free(rpc, w);
                                break;
                        }
                break;
        case RPC_DOWN: {
                WatchOut *w = idmap_get(&rpc->watch_by_id, m.ref);
                if (!w || strcmp(w->node, from) != 0)
                        break;
                snprintf(reason, sizeof reason, "%.*s", (int) m.len, (const char *) m.data);
                router_deliver_down(rpc->router, w->owner, w->target, reason);
                watch_out_free(rpc, w);
                break;
        }
        }
done:
        natsMsg_Destroy(msg);
}


/* ---- the cluster's hooks ---------------------------------------------------------------- */

static void on_connection(void *ud) {
        ClusterRpc *rpc = ud;
        natsConnection *nc = cluster_traffic_connection(rpc->cluster);
        /* Once: libnats subscribes again after every reconnect. */
        if (rpc->sub || !nc)
                return;
        if (nats_loop_subscribe(cluster_nats_loop(rpc->cluster), nc, rpc->subject, on_msg, rpc, NATS_LOOP_BULK,
                                &rpc->sub) < 0) {
                rpc->sub = NULL;
                log_error("Cluster: cannot subscribe to %s: %s; calls to this node fail", rpc->subject,
                          nats_GetLastError(NULL) ?: "out of memory");
        }
}

/* As Erlang: what waited on a node that is lost ends with noconnection. */
static void on_node_down(void *ud, const char *node) {
        ClusterRpc *rpc = ud;
        static const char lost[] = "noconnection";

        for (OutCall *o = rpc->out, *next; o; o = next) {
                next = o->calls_next;
                if (strcmp(o->node, node) == 0)
                        router_remote_answer(rpc->router, o->ref, false, lost, strlen(lost)); /* → done() */
        }
        for (WatchOut *w = rpc->watch_out, *next; w; w = next) {
                next = w->out_next;
                if (strcmp(w->node, node) != 0)
                        continue;
                router_deliver_down(rpc->router, w->owner, w->target, lost);
                watch_out_free(rpc, w);
        }
        /* Its calls and monitors here: nobody would hear their answers. */
        for (Served *s = rpc->served, *next; s; s = next) {
                next = s->served_next;
                if (strcmp(s->from, node) != 0)
                        continue;
                router_cancel(rpc->router, s->ref);
                served_free(rpc, s);
        }
        for (WatchIn *w = rpc->watch_in, *next; w; w = next) {
                next = w->in_next;
                if (strcmp(w->from, node) != 0)
                        continue;
                router_demonitor(rpc->router, w->m);
                watch_in_free(rpc, w);
        }
}

static const ClusterHooks hooks = {
        .connection = on_connection,
        .node_down = on_node_down,
};

int cluster_rpc_new(Cluster *c, Router *r, ClusterRpc **ret) {
        ClusterRpc *rpc = calloc(1, sizeof *rpc);
        if (!rpc)
                return -ENOMEM;
        rpc->cluster = c;
        rpc->router = r;
        if (asprintf(&rpc->subject, "%s.rpc.%s", cluster_prefix(c), cluster_node_name(c)) < 0) {
                free(rpc);
                return -ENOMEM;
        }
        cluster_set_hooks(c, &hooks, rpc);
        router_set_remote(r, &remote_ops, rpc);
        /* Connected already (a node made after its cluster's first connect). */
        on_connection(rpc);
        *ret = rpc;
        return 0;
}

ClusterRpc *cluster_rpc_free(ClusterRpc *rpc) {
        if (!rpc)
                return NULL;
        router_set_remote(rpc->router, NULL, NULL);
        cluster_set_hooks(rpc->cluster, NULL, NULL);
        if (rpc->sub) {
                (void) natsSubscription_Unsubscribe(rpc->sub);
                natsSubscription_Destroy(rpc->sub);
        }
        while (rpc->out) {
                OutCall *o = rpc->out;
                LIST_REMOVE(calls, rpc->out, o);
                free(o);
        }
        while (rpc->served) {
                router_cancel(rpc->router, rpc->served->ref);
                served_free(rpc, rpc->served);
        }
        while (rpc->watch_out)
                watch_out_free(rpc, rpc->watch_out);
        while (rpc->watch_in) {
                router_demonitor(rpc->router, rpc->watch_in->m);
                watch_in_free(rpc, rpc->watch_in);
        }
        idmap_done(&rpc->out_by_ref);
        idmap_done(&rpc->watch_by_id);
        free(rpc->subject);
        return mfree(rpc);
}
