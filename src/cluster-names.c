/* SPDX-License-Identifier: MIT */
/* Global names (cluster-names.h). Three records: Held (a global name of one of this node's
 * processes, from its request until its key is deleted), Mirror (another node's name, as the
 * bucket says, and whether it is in the registry), and Job (one KV request for the KV thread,
 * which comes back to the loop with its result). The threads share only the job queue, the
 * connection and their stop flags, under one lock; they never touch the registry or the lists. */
#include "cluster-names.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "cluster-key.h"
#include "cluster-kv.h"
#include "list.h"
#include "log.h"
#include "macro.h"
#include "proto.h"
#include "time-util.h"

#define MIRROR_BUCKETS 1024
/* How long the node waits for its KV threads when it exits. */
#define JOIN_WAIT_MS 5000
/* The watcher's wait for a change, between two looks at its flags. */
#define WATCH_POLL_MS 250
/* Past this lag of the mirror, the bucket's changes are read again from the start. */
#define RETRY_MS 500
/* A key lives this many heartbeats past its last write, and at least TTL_MIN_MS, unless refreshed
 * (every third of it). Not shorter: every refresh is a request, and a node that goes down has its
 * keys deleted by the others at once (node:down), so the TTL only bounds what nobody deletes. */
#define TTL_BEATS 3
#define TTL_MIN_MS 30000

typedef enum HeldState {
        HELD_WAITING,                      /* configured (register_global): asked for when connected */
        HELD_ASKING,                       /* its create is in flight */
        HELD_HELD,
        HELD_RELEASED,                     /* let go of while a job was in flight: deleted after it */
} HeldState;

typedef struct Held Held;
struct Held {
        uint64_t id;
        char name[REGISTRY_KEY_MAX + 1];
        pid_t pid;
        uint32_t incarnation;
        HeldState state;
        uint64_t rev;
        usec_t written;                    /* its last create or refresh that the bucket took */
        bool busy;                         /* a job of it is in flight */
        bool shadowed;                     /* the process holds it as a local name too: that
                                            * registry entry is not ours to remove */
        bool asked;                        /* a worker waits for the answer (ref, fd) */
        uint64_t ref;
        int fd;
        LIST_FIELDS(Held, held);
};

typedef struct Mirror Mirror;
struct Mirror {
        Mirror *next;                      /* in its hash chain */
        char name[REGISTRY_KEY_MAX + 1];
        NameValue v;
        uint64_t rev;
        usec_t seen;
        bool in_registry;                  /* not while a process of this node holds the name */
        bool confirmed;                    /* seen since the watch (re)started */
};

typedef enum WatchKind {
        WATCH_RESTART,                     /* what follows is the whole bucket again */
        WATCH_ENTRY,
        WATCH_CAUGHT_UP,                   /* the whole bucket was seen */
} WatchKind;

typedef struct WatchMsg {
        WatchKind kind;
        kvOperation op;
        uint64_t rev;
        char key[CLUSTER_KEY_MAX + 1];
        char value[CLUSTER_VALUE_MAX + 1];
        size_t len;
} WatchMsg;

struct ClusterNames {
        Cluster *cluster;                  /* borrowed */
        Router *router;                    /* borrowed */
        Registry *registry;                /* borrowed */
        NatsLoop *loop;                    /* the cluster's */
        char bucket[CLUSTER_BUCKET_MAX + 1];
        uint64_t heartbeat_ms;
        uint64_t ttl_ms;                   /* of the keys this node writes */
        sd_event_source *timer;

        /* Shared with the threads, under lock. */
        pthread_mutex_t lock;
        pthread_cond_t wake;
        natsConnection *nc;
        KvJob *head, *tail;
        size_t n_jobs;
        bool stop, rewatch;
        pthread_t kv_thread, watch_thread;
        bool threads;

        /* The loop's. */
        Held *held;
        size_t n_held;
        uint64_t next_id;
        Mirror *mirrors[MIRROR_BUCKETS];
        size_t n_mirrors;
        ClusterState last_state;
        bool was_connected;
};

/* ---- on the threads --------------------------------------------------------------------- */

static void on_job_done(void *ud, void *payload);

static void drop_payload(void *ud, void *payload) {
        free(payload);
}

static void *kv_main(void *ud) {
        ClusterNames *n = ud;
        jsCtx *js = NULL;
        kvStore *kv = NULL;

        for (;;) {
                pthread_mutex_lock(&n->lock);
                while (!n->stop && (!n->nc || !n->head))
                        pthread_cond_wait(&n->wake, &n->lock);
                if (n->stop) {
                        pthread_mutex_unlock(&n->lock);
                        break;
                }
                KvJob *j = n->head;
                n->head = j->next;
                if (!n->head)
                        n->tail = NULL;
                n->n_jobs--;
                natsConnection *nc = n->nc;
                pthread_mutex_unlock(&n->lock);

                natsStatus s = kv_context(nc, CLUSTER_NAMES_REQUEST_MS, &js);
                if (s == NATS_OK)
                        s = kv_bind(n->bucket, n->ttl_ms, nc, js, &kv, j->error, sizeof j->error);
                if (s != NATS_OK) {
                        if (!j->error[0])
                                snprintf(j->error, sizeof j->error, "%s",
                                         nats_GetLastError(NULL) ?: natsStatus_GetText(s));
                        j->result = kv_status_errno(s);
                } else
                        kv_job_run(n->bucket, js, kv, j);
                /* The bucket may have gone with the servers' storage: bound again next time. */
                if (j->gone) {
                        kvStore_Destroy(kv);
                        kv = NULL;
                }
                /* Not droppable: the loop waits for every answer (the queue bounds them). Never
                 * once stopped: the loop may be gone (see cluster_names_free()). */
                pthread_mutex_lock(&n->lock);
                if (n->stop || nats_loop_post(n->loop, on_job_done, drop_payload, n, j, NATS_LOOP_KEEP) < 0)
                        free(j);
                pthread_mutex_unlock(&n->lock);
        }
        kvStore_Destroy(kv);
        jsCtx_Destroy(js);
        return NULL;
}

static void on_watch(void *ud, void *payload);

static int post_watch(ClusterNames *n, WatchKind kind, kvEntry *e) {
        WatchMsg *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->kind = kind;
        if (e) {
                w->op = kvEntry_Operation(e);
                w->rev = kvEntry_Revision(e);
                snprintf(w->key, sizeof w->key, "%s", kvEntry_Key(e));
                int len = kvEntry_ValueLen(e);
                if (len > 0 && (size_t) len <= CLUSTER_VALUE_MAX) {
                        memcpy(w->value, kvEntry_Value(e), (size_t) len);
                        w->len = (size_t) len;
                }
        }
        /* Changes may be dropped (the loop reads the bucket again then); markers are not. */
        pthread_mutex_lock(&n->lock);
        int r = n->stop ? -ECANCELED : nats_loop_post(n->loop, on_watch, drop_payload, n, w,
                                                    kind == WATCH_ENTRY ? NATS_LOOP_CONTROL : NATS_LOOP_KEEP);
        pthread_mutex_unlock(&n->lock);
        if (r < 0)
                free(w);
        return r;
}

/* Waits up to ms for stop (true) or a request to watch again. */
static bool pause_for(ClusterNames *n, int ms) {
        struct timespec ts = deadline_after_ms(ms);
        pthread_mutex_lock(&n->lock);
        if (!n->stop && !n->rewatch)
                (void) pthread_cond_timedwait(&n->wake, &n->lock, &ts);
        bool stop = n->stop;
        pthread_mutex_unlock(&n->lock);
        return stop;
}

static void *watch_main(void *ud) {
        ClusterNames *n = ud;
        jsCtx *js = NULL;

        for (;;) {
                kvStore *kv = NULL;
                kvWatcher *w = NULL;
                kvWatchOptions wo;

                pthread_mutex_lock(&n->lock);
                while (!n->stop && !n->nc)
                        pthread_cond_wait(&n->wake, &n->lock);
                bool stop = n->stop;
                natsConnection *nc = n->nc;
                n->rewatch = false;
                pthread_mutex_unlock(&n->lock);
                if (stop)
                        break;

                natsStatus s = kv_context(nc, CLUSTER_NAMES_REQUEST_MS, &js);
                char why[KV_ERROR_MAX] = "";
                if (s == NATS_OK)
                        s = kv_bind(n->bucket, n->ttl_ms, nc, js, &kv, why, sizeof why);
                kvWatchOptions_Init(&wo);
                wo.Timeout = CLUSTER_NAMES_REQUEST_MS;
                if (s == NATS_OK)
                        s = kvStore_WatchAll(&w, kv, &wo);
                if (s == NATS_OK && post_watch(n, WATCH_RESTART, NULL) < 0)
                        s = NATS_NO_MEMORY;
                while (s == NATS_OK && !stop) {
                        kvEntry *e = NULL;
                        s = kvWatcher_Next(&e, w, WATCH_POLL_MS);
                        if (s == NATS_OK) {
                                /* NULL: the bucket's whole state has been delivered. */
                                int r = post_watch(n, e ? WATCH_ENTRY : WATCH_CAUGHT_UP, e);
                                kvEntry_Destroy(e);
                                if (r < 0)
                                        break; /* a change lost: read the bucket again */
                        } else if (s == NATS_TIMEOUT)
                                s = NATS_OK;
                        pthread_mutex_lock(&n->lock);
                        stop = n->stop;
                        if (n->rewatch)
                                s = NATS_ERR;
                        pthread_mutex_unlock(&n->lock);
                }
                kvWatcher_Destroy(w);
                kvStore_Destroy(kv);
                if (stop || pause_for(n, RETRY_MS))
                        break;
        }
        jsCtx_Destroy(js);
        return NULL;
}

/* ---- on the loop: the KV thread's queue ------------------------------------------------- */

static int queue_job(ClusterNames *n, KvJobType type, const Held *h, const char *name, uint64_t rev) {
        KvJob *j = calloc(1, sizeof *j);

        if (!j) {
                cluster_count_dropped(n->cluster);
                return -ENOMEM;
        }
        j->type = type;
        j->id = h ? h->id : 0;
        j->rev = rev;
        if (cluster_key_encode(name, j->key, sizeof j->key) < 0) {
                free(j);
                return -EINVAL;
        }
        if (h) {
                NameValue v = { .pid = h->pid, .incarnation = h->incarnation,
                                .ttl_ms = (uint32_t) n->ttl_ms };
                snprintf(v.node, sizeof v.node, "%s", cluster_node_name(n->cluster));
                j->value_len = cluster_value_encode(&v, j->value, sizeof j->value);
                if (j->value_len < 0) {
                        free(j);
                        return -EINVAL;
                }
        }
        pthread_mutex_lock(&n->lock);
        if (n->n_jobs >= CLUSTER_NAMES_QUEUE_MAX) {
                pthread_mutex_unlock(&n->lock);
                free(j);
                cluster_count_dropped(n->cluster);
                return -EBUSY;
        }
        if (n->tail)
                n->tail->next = j;
        else
                n->head = j;
        n->tail = j;
        n->n_jobs++;
        pthread_cond_broadcast(&n->wake);
        pthread_mutex_unlock(&n->lock);
        return 0;
}

/* ---- on the loop: names held here ------------------------------------------------------- */

static void mirror_relist(ClusterNames *n, const char *name);

static Held *find_held(ClusterNames *n, const char *name) {
        for (Held *h = n->held; h; h = h->held_next)
                if (h->state != HELD_RELEASED && strcmp(h->name, name) == 0)
                        return h;
        return NULL;
}

static Held *held_by_id(ClusterNames *n, uint64_t id) {
        for (Held *h = n->held; h; h = h->held_next)
                if (h->id == id)
                        return h;
        return NULL;
}

static void held_unlist(ClusterNames *n, Held *h) {
        if (!h->shadowed)
                (void) registry_remove(n->registry, h->name, h->pid);
}

static void held_free(ClusterNames *n, Held *h) {
        LIST_REMOVE(held, n->held, h);
        n->n_held--;
        free(h);
}

/* The worker waiting for h's REGISTER hears e. */
static void held_answer(ClusterNames *n, Held *h, int e) {
        if (!h->asked) {
                if (e < 0)
                        log_warning("Cluster: global name '%s' of pid %d refused: %s", h->name, (int) h->pid,
                                    proto_refusal(PROTO_REGISTER, e) ?: strerror(-e));
                return;
        }
        h->asked = false;
        router_answer_request(n->router, h->pid, h->incarnation, PROTO_REGISTER, h->ref, h->fd, e);
        h->fd = -1;
}

/* Out of the registry here; its key is deleted (now, or after the job in flight). */
static void held_release(ClusterNames *n, Held *h) {
        held_unlist(n, h);
        router_names_changed(n->router);
        mirror_relist(n, h->name);
        if (h->asked)
                held_answer(n, h, -ENOENT);
        if (h->busy) {
                h->state = HELD_RELEASED;
                return;
        }
        if (h->state == HELD_HELD)
                (void) queue_job(n, KV_DELETE, NULL, h->name, h->rev);
        held_free(n, h);
}

/* asked: a worker waits for the answer (ref, fd); else the name is configured, and waits for the
 * connection, and through the servers' silences, instead of failing. */
static int take(ClusterNames *n, const char *name, pid_t pid, uint32_t incarnation, bool asked, uint64_t ref, int fd) {
        const char *node = cluster_node_name(n->cluster);
        bool connected = cluster_state(n->cluster) == CLUSTER_CONNECTED && cluster_connection(n->cluster);
        Held *h;
        int e;

        if (asked && !connected)
                return -ENOTCONN;
        /* Every other node mirrors it as NAME@NODE, in a registry slot. */
        if (strlen(name) + 1 + strlen(node) > REGISTRY_NAME_MAX)
                return -ENAMETOOLONG;
        if (n->n_held >= CLUSTER_NAMES_HELD_MAX)
                return -EBUSY;
        /* Held here (by anyone) or, as far as this node knows, elsewhere: taken, without asking. */
        e = registry_add(n->registry, name, pid, incarnation, REGISTRY_GLOBAL);
        RegistryEntry held;
        /* Its own local name (a worker [worker:db] with register_global = db): it stays as it is. */
        bool shadowed = e == -EEXIST && registry_lookup(registry_view(n->registry), name, &held) > 0 &&
                        held.pid == pid && !(held.flags & (REGISTRY_REMOTE | REGISTRY_DUPLICATE));
        if (e < 0 && !shadowed)
                return e;
        router_names_changed(n->router);
        /* Not taken twice by one process. */
        if (shadowed && (h = find_held(n, name)) && h->pid == pid)
                return -EEXIST;
        h = calloc(1, sizeof *h);
        if (!h) {
                if (!shadowed)
                        (void) registry_remove(n->registry, name, pid);
                return -ENOMEM;
        }
        *h = (Held) { .id = ++n->next_id, .pid = pid, .incarnation = incarnation, .state = HELD_WAITING,
                      .asked = asked, .ref = ref, .fd = fd, .shadowed = shadowed };
        snprintf(h->name, sizeof h->name, "%s", name);
        e = connected ? queue_job(n, KV_CREATE, h, name, 0) : 0;
        if (e == 0 && connected) {
                h->state = HELD_ASKING;
                h->busy = true;
        }
        if (e < 0) {
                held_unlist(n, h);
                free(h);
                return e;
        }
        LIST_PREPEND(held, n->held, h);
        n->n_held++;
        return 0;
}

static void on_request(void *ud, uint8_t kind, const char *name, pid_t pid, uint32_t incarnation, uint64_t ref,
                       int fd) {
        ClusterNames *n = ud;
        int e;

        if (kind == PROTO_REGISTER) {
                e = take(n, name, pid, incarnation, true, ref, fd);
                if (e >= 0)
                        return; /* answered when the bucket has */
        } else {
                Held *h = find_held(n, name);
                e = h && h->pid == pid ? 0 : -ENOENT;
                if (e == 0)
                        held_release(n, h);
        }
        router_answer_request(n->router, pid, incarnation, kind, ref, fd, e);
}

static void on_exited(void *ud, pid_t pid) {
        ClusterNames *n = ud;
        for (Held *h = n->held, *next; h; h = next) {
                next = h->held_next;
                if (h->pid == pid && h->state != HELD_RELEASED)
                        held_release(n, h);
        }
}

void cluster_names_take(ClusterNames *n, const char *name, pid_t pid, uint32_t incarnation) {
        int e = take(n, name, pid, incarnation, false, 0, -1);
        if (e < 0)
                log_warning("Cluster: global name '%s' of pid %d refused: %s", name, (int) pid,
                            proto_refusal(PROTO_REGISTER, e) ?: strerror(-e));
}

static void on_job_done(void *ud, void *payload) {
        ClusterNames *n = ud;
        KvJob *j = payload;
        Held *h = j->id ? held_by_id(n, j->id) : NULL;
        char name[REGISTRY_KEY_MAX + 1] = "";

        (void) cluster_key_decode(j->key, name, sizeof name);
        if (j->type == KV_DELETE || !h) {
                if (j->result < 0 && j->result != -EEXIST)
                        cluster_count_dropped(n->cluster); /* the key expires on its own */
                goto done;
        }
        h->busy = false;
        if (h->state == HELD_RELEASED) {
                if (j->result == 0)
                        (void) queue_job(n, KV_DELETE, NULL, h->name, j->new_rev);
                else if (h->rev)
                        (void) queue_job(n, KV_DELETE, NULL, h->name, h->rev);
                held_free(n, h);
                goto done;
        }
        if (j->result == 0) {
                if (h->state == HELD_ASKING)
                        log_info("Cluster: global name '%s' is held by pid %d", h->name, (int) h->pid);
                h->state = HELD_HELD;
                h->rev = j->new_rev;
                h->written = now_usec();
                held_answer(n, h, 0);
                goto done;
        }
        if (h->state == HELD_ASKING && !h->asked && j->result != -EEXIST) {
                h->state = HELD_WAITING; /* configured: asked again at the next tick */
                goto done;
        }
        if (h->state == HELD_ASKING) {
                if (j->result != -EEXIST)
                        log_warning("Cluster: global name '%s' of pid %d not taken: %s", h->name, (int) h->pid,
                                    j->error[0] ? j->error : strerror(-j->result));
                held_unlist(n, h);
                router_names_changed(n->router);
                /* The winner, heard already, is seen here from now on. */
                mirror_relist(n, h->name);
                held_answer(n, h, j->result == -ENOTCONN ? -ENOTCONN : j->result == -EEXIST ? -EEXIST : -EHOSTUNREACH);
                held_free(n, h);
                goto done;
        }
        if (j->result == KV_LOST) {
                /* Another node took it while this one could not refresh it (cut off from the
                 * bucket for longer than its TTL). The process is not told: whereis says so. */
                log_warning("Cluster: global name '%s' of pid %d was lost: another node holds it now", h->name,
                            (int) h->pid);
                held_unlist(n, h);
                router_names_changed(n->router);
                mirror_relist(n, h->name);
                held_free(n, h);
        }
        /* Else the servers did not answer: the next heartbeat tries again. */
done:
        free(j);
}

/* ---- on the loop: other nodes' names ---------------------------------------------------- */

static uint32_t hash(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 16777619u;
        return h % MIRROR_BUCKETS;
}

static Mirror **mirror_slot(ClusterNames *n, const char *name) {
        Mirror **p = &n->mirrors[hash(name)];
        while (*p && strcmp((*p)->name, name) != 0)
                p = &(*p)->next;
        return p;
}

static void mirror_unlist(ClusterNames *n, Mirror *m) {
        RegistryEntry e;
        /* Only our entry: a local name that took its place may have the same pid. */
        if (m->in_registry && registry_lookup(registry_view(n->registry), m->name, &e) > 0 &&
            (e.flags & REGISTRY_REMOTE) && e.pid == m->v.pid) {
                (void) registry_remove(n->registry, m->name, m->v.pid);
                router_names_changed(n->router);
        }
        m->in_registry = false;
}

static void mirror_remove(ClusterNames *n, Mirror **p) {
        Mirror *m = *p;
        mirror_unlist(n, m);
        *p = m->next;
        n->n_mirrors--;
        free(m);
}

/* Into the registry unless a process of this node holds the name (then later, at a tick). */
static void mirror_list(ClusterNames *n, Mirror *m) {
        char full[REGISTRY_NAME_MAX + 1];
        RegistryEntry e;

        /* A local name may have taken its place (router.c): listed again once it has gone. */
        if (m->in_registry && registry_lookup(registry_view(n->registry), m->name, &e) > 0 &&
            (e.flags & REGISTRY_REMOTE) && e.pid == m->v.pid)
                return;
        m->in_registry = false;
        if (snprintf(full, sizeof full, "%s@%s", m->name, m->v.node) >= (int) sizeof full)
                return;
        if (registry_add(n->registry, full, m->v.pid, m->v.incarnation, REGISTRY_REMOTE) == 0) {
                m->in_registry = true;
                router_names_changed(n->router);
        }
}

static void mirror_relist(ClusterNames *n, const char *name) {
        Mirror *m = *mirror_slot(n, name);
        if (m)
                mirror_list(n, m);
}

static const ClusterNode *heard_node(const Cluster *c, const char *node);

static void mirror_put(ClusterNames *n, const char *name, const NameValue *v, uint64_t rev) {
        Mirror **p = mirror_slot(n, name), *m = *p;

        if (!m) {
                if (n->n_mirrors >= CLUSTER_NAMES_MIRRORED_MAX || !(m = calloc(1, sizeof *m))) {
                        cluster_count_dropped(n->cluster);
                        return;
                }
                snprintf(m->name, sizeof m->name, "%s", name);
                *p = m;
                n->n_mirrors++;
        } else if (rev < m->rev)
                return; /* older than what we have (a watch read again) */
        if (strcmp(m->v.node, v->node) != 0 || m->v.pid != v->pid || m->v.incarnation != v->incarnation)
                mirror_unlist(n, m);
        m->v = *v;
        m->rev = rev;
        m->seen = now_usec();
        m->confirmed = true;
        const ClusterNode *cn = heard_node(n->cluster, v->node);
        if (!cn || cn->up)
                mirror_list(n, m);
}

/* A key of this node's: one of its holders' (its revision), or left over (an earlier run of this
 * node, a create whose answer never came): deleted. */
static void own_put(ClusterNames *n, const char *name, const NameValue *v, uint64_t rev) {
        Held *h = find_held(n, name);
        if (h && h->pid == v->pid && h->incarnation == v->incarnation) {
                if (h->state == HELD_HELD && !h->busy && rev > h->rev)
                        h->rev = rev;
                return;
        }
        (void) queue_job(n, KV_DELETE, NULL, name, rev);
}

static void on_watch(void *ud, void *payload) {
        ClusterNames *n = ud;
        WatchMsg *w = payload;
        char name[REGISTRY_KEY_MAX + 1];
        NameValue v;

        switch (w->kind) {
        case WATCH_RESTART:
                for (size_t i = 0; i < MIRROR_BUCKETS; i++)
                        for (Mirror *m = n->mirrors[i]; m; m = m->next)
                                m->confirmed = false;
                break;
        case WATCH_CAUGHT_UP:
                /* What the bucket no longer has (expired, deleted while we did not watch) goes. */
                for (size_t i = 0; i < MIRROR_BUCKETS; i++)
                        for (Mirror **p = &n->mirrors[i]; *p;)
                                if (!(*p)->confirmed)
                                        mirror_remove(n, p);
                                else
                                        p = &(*p)->next;
                break;
        case WATCH_ENTRY:
                if (cluster_key_decode(w->key, name, sizeof name) < 0)
                        break; /* no key of ours */
                if (w->op != kvOp_Put) {
                        Mirror **p = mirror_slot(n, name);
                        Held *h = find_held(n, name);
                        if (*p)
                                mirror_remove(n, p);
                        /* Ours, deleted by a node that saw this one down for a while: written
                         * again at the next tick (taken again, unless another took it first). */
                        if (h && h->state == HELD_HELD)
                                h->written = 0;
                        break;
                }
                if (cluster_value_decode(w->value, w->len, &v) < 0)
                        break;
                if (strcmp(v.node, cluster_node_name(n->cluster)) == 0)
                        own_put(n, name, &v, w->rev);
                else
                        mirror_put(n, name, &v, w->rev);
                break;
        }
        free(w);
}

/* The node as this node heard it, or NULL (never heard). */
static const ClusterNode *heard_node(const Cluster *c, const char *node) {
        const ClusterNode *nodes = cluster_nodes(c);
        for (size_t i = 0; i < cluster_n_nodes(c); i++)
                if (strcmp(nodes[i].name, node) == 0)
                        return &nodes[i];
        return NULL;
}

/* ---- the heartbeat tick ----------------------------------------------------------------- */

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        ClusterNames *n = userdata;
        ClusterState state = cluster_state(n->cluster);
        natsConnection *nc = cluster_connection(n->cluster);
        usec_t now = now_usec();

        pthread_mutex_lock(&n->lock);
        if (!n->nc && nc) {
                n->nc = nc;
                pthread_cond_broadcast(&n->wake);
        }
        /* Back after a disconnection: the bucket is read again (what changed meanwhile, and a
         * watch that may have died with its server). */
        if (state == CLUSTER_CONNECTED && n->last_state != CLUSTER_CONNECTED && n->was_connected) {
                /* Seen by the watcher within WATCH_POLL_MS. Never kvWatcher_Stop() here: it
                 * deletes its consumer with a request whose answer only this loop can read. */
                n->rewatch = true;
                pthread_cond_broadcast(&n->wake);
        }
        pthread_mutex_unlock(&n->lock);
        /* ... and this node's names are written again at once: their keys may have expired,
         * or been deleted by nodes that saw this one down. */
        if (state == CLUSTER_CONNECTED && n->last_state != CLUSTER_CONNECTED && n->was_connected)
                for (Held *h = n->held; h; h = h->held_next)
                        h->written = 0;
        if (state == CLUSTER_CONNECTED)
                n->was_connected = true;
        n->last_state = state;

        /* Configured names are asked for; each key is written again a third of its TTL after
         * its last write. */
        for (Held *h = state == CLUSTER_CONNECTED ? n->held : NULL; h; h = h->held_next) {
                bool due = h->state == HELD_HELD && !h->busy && now - h->written >= n->ttl_ms * USEC_PER_MSEC / 3;
                if (h->state == HELD_WAITING && queue_job(n, KV_CREATE, h, h->name, 0) == 0) {
                        h->state = HELD_ASKING;
                        h->busy = true;
                } else if (due && queue_job(n, KV_REFRESH, h, h->name, h->rev) == 0)
                        h->busy = true;
        }

        for (size_t i = 0; i < MIRROR_BUCKETS; i++)
                for (Mirror **p = &n->mirrors[i]; *p;) {
                        Mirror *m = *p;
                        usec_t ttl = (m->v.ttl_ms + n->heartbeat_ms) * USEC_PER_MSEC;
                        const ClusterNode *cn = heard_node(n->cluster, m->v.node);
                        bool down = cn && !cn->up;
                        if (now - m->seen > ttl) {
                                mirror_remove(n, p);
                                continue;
                        }
                        /* A node that went down lets go of the names it held then: their keys
                         * are deleted (at the revision seen: never a new holder's), so that
                         * another node may take them now, not at their TTL. Every node that saw
                         * it down tries; the first delete wins. A key read after the node fell
                         * silent (a watch read again) is only hidden: it may be back. */
                        if (down && m->seen <= cn->last_heard + n->heartbeat_ms * USEC_PER_MSEC) {
                                if (state == CLUSTER_CONNECTED)
                                        (void) queue_job(n, KV_DELETE, NULL, m->name, m->rev);
                                mirror_remove(n, p);
                                continue;
                        }
                        if (down)
                                mirror_unlist(n, m);
                        else
                                mirror_list(n, m);
                        p = &m->next;
                }
        (void) sd_event_source_set_time(s, usec + n->heartbeat_ms * USEC_PER_MSEC);
        return 0;
}

/* ---- life ------------------------------------------------------------------------------- */

int cluster_names_new(sd_event *ev, Cluster *c, Router *r, Registry *reg, ClusterNames **ret) {
        static const RouterGlobal hooks = { .request = on_request, .exited = on_exited };
        ClusterNames *n = calloc(1, sizeof *n);
        int e;

        if (!n)
                return -ENOMEM;
        n->cluster = c;
        n->router = r;
        n->registry = reg;
        n->loop = cluster_nats_loop(c);
        n->heartbeat_ms = cluster_heartbeat_ms(c);
        n->ttl_ms = TTL_BEATS * n->heartbeat_ms > TTL_MIN_MS ? TTL_BEATS * n->heartbeat_ms : TTL_MIN_MS;
        n->last_state = CLUSTER_CONNECTING;
        pthread_mutex_init(&n->lock, NULL);
        pthread_cond_init(&n->wake, NULL);
        e = cluster_bucket_name(cluster_prefix(c), n->bucket, sizeof n->bucket);
        if (e < 0)
                goto fail;
        e = sd_event_add_time_relative(ev, &n->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_tick, n);
        if (e < 0)
                goto fail;
        (void) sd_event_source_set_enabled(n->timer, SD_EVENT_ON);
        e = -pthread_create(&n->kv_thread, NULL, kv_main, n);
        if (e < 0)
                goto fail;
        e = -pthread_create(&n->watch_thread, NULL, watch_main, n);
        if (e < 0) {
                pthread_mutex_lock(&n->lock);
                n->stop = true;
                pthread_cond_broadcast(&n->wake);
                pthread_mutex_unlock(&n->lock);
                pthread_join(n->kv_thread, NULL);
                goto fail;
        }
        n->threads = true;
        router_set_global(r, &hooks, n);
        *ret = n;
        return 0;
fail:
        log_error_errno(e, "Cluster: cannot start global names: %m");
        n->timer = sd_event_source_disable_unref(n->timer);
        pthread_cond_destroy(&n->wake);
        pthread_mutex_destroy(&n->lock);
        free(n);
        return e;
}

ClusterNames *cluster_names_free(ClusterNames *n) {
        if (!n)
                return NULL;
        router_set_global(n->router, NULL, NULL);
        n->timer = sd_event_source_disable_unref(n->timer);
        if (n->threads) {
                struct timespec until = deadline_after_ms(JOIN_WAIT_MS);
                pthread_mutex_lock(&n->lock);
                n->stop = true; /* the watcher sees it within WATCH_POLL_MS */
                pthread_cond_broadcast(&n->wake);
                pthread_mutex_unlock(&n->lock);
                /* A request in flight waits for its answer, which only the loop (stopped now)
                 * would read: at most CLUSTER_NAMES_REQUEST_MS, a few times over. Beyond
                 * JOIN_WAIT_MS the node exits without them: they post nothing once stopped, and
                 * what they use is left allocated. */
                if (pthread_timedjoin_np(n->watch_thread, NULL, &until) != 0 ||
                    pthread_timedjoin_np(n->kv_thread, NULL, &until) != 0) {
                        log_warning("Cluster: global names' threads did not stop within %d ms", JOIN_WAIT_MS);
                        return NULL;
                }
        }
        /* What the threads still posted is dropped by the cluster's loop (drop_payload): it
         * never runs on_job_done or on_watch with n any more. */
        for (KvJob *j = n->head, *next; j; j = next) {
                next = j->next;
                free(j);
        }
        while (n->held) {
                Held *h = n->held;
                if (h->asked)
                        safe_close(h->fd);
                held_free(n, h);
        }
        for (size_t i = 0; i < MIRROR_BUCKETS; i++)
                while (n->mirrors[i])
                        mirror_remove(n, &n->mirrors[i]);
        pthread_cond_destroy(&n->wake);
        pthread_mutex_destroy(&n->lock);
        return mfree(n);
}
