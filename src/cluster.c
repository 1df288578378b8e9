/* SPDX-License-Identifier: MIT */
/* The node's NATS connections (control and traffic, see Link) and the other nodes'
 * heartbeats (cluster.h).
 *
 * Threads: libnats runs its connection callbacks on its own thread and every subscription's
 * messages on one other (global message delivery, so they keep the server's order); both only post to the loop (nats-loop.h) what they were given, and the
 * state here is changed by the loop thread alone. The first connect is made on a thread of its
 * own, so that a server that does not answer (a black-holed address, a slow resolver) never
 * holds up the start of the tree; libnats' reconnects run on its reconnect thread.
 *
 * The loop never waits for NATS: it publishes (which only appends to libnats' buffer, written
 * when the socket is writable) and never flushes or requests. It publishes only while
 * connected: during a reconnect libnats' reconnect thread holds the connection's lock while it
 * dials and greets a server, and a publish would wait for that (bounded by the connect timeout
 * below). What is left is the instant between the drop and the loop hearing of it. */
#include "cluster.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "array.h"
#include "cluster-pubsub.h"
#include "log.h"
#include "macro.h"
#include "nats-loop.h"
#include "priority.h"
#include "strv.h"

/* Messages from libnats' threads that may wait for the loop: beyond, they are dropped. */
#define QUEUE_LIMIT 4096
/* One dial, on the connect thread or libnats' reconnect thread. */
#define CONNECT_TIMEOUT_MS 1000
/* Between two rounds of the server list when none answered. */
#define RECONNECT_WAIT_MS 250
/* What is published while disconnected waits in libnats' buffer up to this, then is dropped. */
#define RECONNECT_BUFFER_BYTES (1024 * 1024)
/* libnats' threads are waited for this long when the node exits. */
#define CLOSE_WAIT_MS 2000
#define URL_MAX 256
/* The traffic connection pings its server at least this seldom (below). */
#define TRAFFIC_PING_MIN_MS 10000

/* One of the node's two connections to NATS. The control connection carries heartbeats and
 * the global names, the traffic connection calls, casts and publications: a flood of traffic
 * fills the traffic connection's buffers, in libnats, in the kernel and in the servers, and a
 * heartbeat never waits behind it (nor is it lost with the connection when a server drops
 * the node as a slow consumer). */
typedef struct Link {
        Cluster *cluster;
        const char *role;            /* "control", "traffic": in libnats' name of the connection */
        natsOptions *opts;
        /* Written by the connect thread before it posts on_connect_done, read on the loop
         * after it (the queue's lock orders the two). */
        natsConnection *nc;
        natsStatus connect_status;
        /* Pings to its server: every ping_beats heartbeats, ping_min_ms at least, given up after
         * pings_out unanswered (make_options says why the two connections differ). */
        unsigned ping_beats, pings_out;
        uint64_t ping_min_ms;
        bool connected;              /* the traffic connection's state (the control one's: state) */
        uint64_t wire[4];            /* msgs in, bytes in, msgs out, bytes out: the last read */
} Link;

#define FOREACH_LINK(link, c) for (Link *link = &(c)->control; link; link = link == &(c)->control ? &(c)->traffic : NULL)

struct Cluster {
        sd_event *event;             /* borrowed */
        Events *events;              /* borrowed */
        NatsLoop *loop;              /* owned */
        Link control, traffic;
        natsSubscription *sub;       /* the heartbeats, on the control connection */
        char connect_error[URL_MAX];
        pthread_t connector;
        bool connector_started;
        bool connect_done;

        char *node, *prefix;
        char *subject;               /* PREFIX.node.NODE.heartbeat */
        char *pattern;               /* PREFIX.node.*.heartbeat */
        uint64_t heartbeat_ms;
        uint64_t run;                /* this run of the node, in every heartbeat */
        usec_t last_check;           /* when check_silent last ran */
        sd_event_source *timer;

        ClusterState state;
        bool name_clash;             /* another node's heartbeat carried our name */
        char server[URL_MAX];
        uint64_t in, out, dropped, reconnects;
        natsStatistics *stats;       /* libnats' counts of a connection, read while connected */

        ClusterNode *nodes;          /* names owned */
        size_t n_nodes, cap_nodes;

        ClusterPubsub *pubsub;       /* federated pub/sub, once cluster_attach_router() */
        ClusterHooks hooks;
        void *hooks_ud;
};

static const char *const state_table[_CLUSTER_STATE_MAX] = {
        [CLUSTER_CONNECTING] = "connecting",
        [CLUSTER_CONNECTED] = "connected",
        [CLUSTER_DISCONNECTED] = "disconnected",
        [CLUSTER_CLOSED] = "closed",
};

const char *cluster_state_to_string(ClusterState s) {
        return s >= 0 && s < _CLUSTER_STATE_MAX ? state_table[s] : NULL;
}

/* ---- connection state: posted by libnats' threads, applied on the loop ------------------- */

/* Pub/sub publishes and subscribes only while its connection is up, like the heartbeat. */
static void pubsub_sync(Cluster *c) {
        cluster_pubsub_set_connection(c->pubsub, c->connect_done ? c->traffic.nc : NULL, c->traffic.connected);
}

typedef enum ConnEvent {
        CONN_CONNECTED,
        CONN_DISCONNECTED,
        CONN_RECONNECTED,
        CONN_CLOSED,
} ConnEvent;

typedef struct ConnChange {
        Link *link;
        ConnEvent what;
        char url[URL_MAX];      /* the server connected to; for CONN_CLOSED, libnats' last error */
} ConnChange;

/* "MS RUN": how often this node beats, and which run of it this is. */
static void beat(Cluster *c) {
        char b[48];

        if (c->state != CLUSTER_CONNECTED || !c->connect_done || !c->control.nc)
                return;
        int len = snprintf(b, sizeof b, "%" PRIu64 " %" PRIx64, c->heartbeat_ms, c->run);
        if (natsConnection_Publish(c->control.nc, c->subject, b, len) == NATS_OK)
                c->out++;
        else
                c->dropped++;
}

static void set_connected(Cluster *c, const char *url, bool reconnect) {
        if (c->state == CLUSTER_CONNECTED && strcmp(c->server, url) == 0)
                return; /* told twice: the first connect's answer and its callback */
        snprintf(c->server, sizeof c->server, "%s", url);
        c->state = CLUSTER_CONNECTED;
        if (reconnect)
                c->reconnects++;
        log_info("Cluster: node '%s' connected to %s", c->node, c->server);
        events_publish_cluster(c->events, "cluster:connected", c->node, c->server);
        /* The others hear of it now, not a heartbeat later. */
        beat(c);
}

/* The traffic connection's changes: logged, and pub/sub follows them; the node's state is
 * the control connection's. */
static void traffic_change(Cluster *c, const ConnChange *ch) {
        switch (ch->what) {
        case CONN_CONNECTED:
        case CONN_RECONNECTED:
                if (!c->traffic.connected && ch->what == CONN_RECONNECTED)
                        log_info("Cluster: node '%s' reconnected its traffic to %s", c->node, ch->url);
                c->traffic.connected = true;
                break;
        case CONN_DISCONNECTED:
                if (c->traffic.connected)
                        log_warning("Cluster: node '%s' lost its server for traffic (%s), trying the others", c->node,
                                    ch->url[0] ? ch->url : "closed");
                c->traffic.connected = false;
                break;
        case CONN_CLOSED:
                if (ch->url[0])
                        log_error("Cluster: node '%s' gave up on NATS for traffic: %s", c->node, ch->url);
                c->traffic.connected = false;
                break;
        }
}

static void on_conn_change(void *ud, void *payload) {
        Cluster *c = ud;
        ConnChange *ch = payload;

        if (ch->link == &c->traffic) {
                traffic_change(c, ch);
                pubsub_sync(c);
                free(ch);
                return;
        }
        switch (ch->what) {
        case CONN_CONNECTED:
        case CONN_RECONNECTED:
                set_connected(c, ch->url, ch->what == CONN_RECONNECTED);
                break;
        case CONN_DISCONNECTED:
                if (c->state == CLUSTER_CONNECTED) {
                        log_warning("Cluster: node '%s' lost its server %s (%s), trying the others", c->node, c->server, ch->url[0] ? ch->url : "closed");
                        c->state = CLUSTER_DISCONNECTED;
                        events_publish_cluster(c->events, "cluster:disconnected", c->node, c->server);
                        c->server[0] = '\0';
                }
                break;
        case CONN_CLOSED:
                /* libnats gives up only on what retrying cannot mend (a server that refuses us),
                 * or when we close at exit. */
                if (c->state == CLUSTER_CONNECTED)
                        events_publish_cluster(c->events, "cluster:disconnected", c->node, c->server);
                if (ch->url[0])
                        log_error("Cluster: node '%s' gave up on NATS: %s", c->node, ch->url);
                c->state = CLUSTER_CLOSED;
                c->server[0] = '\0';
                break;
        }
        pubsub_sync(c);
        free(ch);
}

static void drop_payload(void *ud, void *payload) {
        free(payload);
}

/* On libnats' callback thread. */
static void post_change(natsConnection *nc, void *closure, ConnEvent what) {
        Link *link = closure;
        Cluster *c = link->cluster;
        ConnChange *ch = calloc(1, sizeof *ch);

        if (!ch)
                return; /* the state shown lags until the next change */
        ch->link = link;
        ch->what = what;
        if (what == CONN_CONNECTED || what == CONN_RECONNECTED)
                (void) natsConnection_GetConnectedUrl(nc, ch->url, sizeof ch->url);
        if (what == CONN_CLOSED || what == CONN_DISCONNECTED) {
                const char *e = NULL;
                if (natsConnection_GetLastError(nc, &e) != NATS_OK && e)
                        snprintf(ch->url, sizeof ch->url, "%s", e);
        }
        if (nats_loop_post(c->loop, on_conn_change, drop_payload, c, ch, NATS_LOOP_KEEP) < 0)
                free(ch);
}

static void cb_connected(natsConnection *nc, void *closure) {
        post_change(nc, closure, CONN_CONNECTED);
}

static void cb_disconnected(natsConnection *nc, void *closure) {
        post_change(nc, closure, CONN_DISCONNECTED);
}

static void cb_reconnected(natsConnection *nc, void *closure) {
        post_change(nc, closure, CONN_RECONNECTED);
}

static void cb_closed(natsConnection *nc, void *closure) {
        post_change(nc, closure, CONN_CLOSED);
}

/* ---- heartbeats ------------------------------------------------------------------------- */

/* n is down: silent (restarted NULL) or back as a new run (restarted says so). */
static void node_lost(Cluster *c, ClusterNode *n, const char *restarted) {
        n->up = false;
        if (restarted)
                log_warning("Cluster: node '%s' is down: it %s within its heartbeats", n->name, restarted);
        else
                log_warning("Cluster: node '%s' is down: no heartbeat for %d of its heartbeats (%" PRIu64 " ms)",
                            n->name, CLUSTER_SILENT_BEATS, n->heartbeat_ms);
        events_publish_cluster(c->events, "node:down", n->name, NULL);
        if (c->hooks.node_down)
                c->hooks.node_down(c->hooks_ud, n->name);
}

static ClusterNode *find_node(Cluster *c, const char *name, size_t len) {
        for (size_t i = 0; i < c->n_nodes; i++)
                if (strlen(c->nodes[i].name) == len && memcmp(c->nodes[i].name, name, len) == 0)
                        return &c->nodes[i];
        return NULL;
}

/* PREFIX.node.NAME.heartbeat, with a payload of the sender's heartbeat in ms. */
static void on_heartbeat(void *ud, void *payload) {
        Cluster *c = ud;
        natsMsg *msg = payload;
        const char *subj = natsMsg_GetSubject(msg);
        size_t plen = strlen(c->prefix);
        const char *name, *end;
        char beat[48] = "";
        ClusterNode *n;

        c->in++;
        if (strncmp(subj, c->prefix, plen) != 0 || strncmp(subj + plen, ".node.", 6) != 0)
                goto done;
        name = subj + plen + 6;
        end = strchr(name, '.');
        if (!end || strcmp(end, ".heartbeat") != 0 || end == name || (size_t) (end - name) > CLUSTER_NAME_MAX)
                goto done;
        if ((size_t) (end - name) == strlen(c->node) && memcmp(name, c->node, end - name) == 0) {
                /* no_echo: the servers never send us our own, so this is another node's. Said
                 * once: the operator has two nodes to rename, not a flood to read. */
                if (!c->name_clash)
                        log_warning("Cluster: another node calls itself '%s' too: node names must be unique in "
                                    "a cluster (set node = in [cluster])", c->node);
                c->name_clash = true;
                goto done;
        }

        n = find_node(c, name, (size_t) (end - name));
        if (!n) {
                if (c->n_nodes >= CLUSTER_NODES_MAX ||
                    ARRAY_GROW(c->nodes, c->cap_nodes, c->n_nodes + 1) < 0) {
                        c->dropped++;
                        goto done;
                }
                n = &c->nodes[c->n_nodes];
                *n = (ClusterNode) { .name = strndup(name, (size_t) (end - name)) };
                if (!n->name) {
                        c->dropped++;
                        goto done;
                }
                c->n_nodes++;
        }
        int len = natsMsg_GetDataLength(msg);
        if (len > 0 && (size_t) len < sizeof beat)
                memcpy(beat, natsMsg_GetData(msg), (size_t) len);
        char *p;
        uint64_t ms = strtoull(beat, &p, 10);
        uint64_t run = *p == ' ' ? strtoull(p + 1, NULL, 16) : 0;
        n->heartbeat_ms = ms >= 10 && ms <= 600000 ? ms : c->heartbeat_ms;
        n->last_heard = now_usec();
        /* Back within its silent beats, the node is another run: what its last run held
         * (processes monitored, calls in flight) is gone as if it had fallen silent. */
        if (n->up && run != n->run)
                node_lost(c, n, "restarted");
        n->run = run;
        if (!n->up) {
                n->up = true;
                log_info("Cluster: node '%s' is up", n->name);
                events_publish_cluster(c->events, "node:up", n->name, NULL);
        }
done:
        natsMsg_Destroy(msg);
}

static void check_silent(Cluster *c, usec_t now) {
        usec_t beat_usec = c->heartbeat_ms * USEC_PER_MSEC;

        /* The loop itself was held up (the node stopped, or starved) for more than two beats:
         * what the others sent meanwhile still waits in the queue, unread, so their silence is
         * ours. Each gets its silent beats again from now. */
        if (c->last_check && now - c->last_check > 2 * beat_usec)
                for (size_t i = 0; i < c->n_nodes; i++)
                        c->nodes[i].last_heard = now;
        c->last_check = now;
        for (size_t i = 0; i < c->n_nodes; i++) {
                ClusterNode *n = &c->nodes[i];
                if (n->up && now - n->last_heard > CLUSTER_SILENT_BEATS * n->heartbeat_ms * USEC_PER_MSEC)
                        node_lost(c, n, NULL);
        }
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Cluster *c = userdata;
        usec_t now = now_usec(), next = usec + c->heartbeat_ms * USEC_PER_MSEC;

        beat(c);
        check_silent(c, now);
        /* After a stall, one beat now and the next a period later, not the missed ones in a
         * burst. */
        (void) sd_event_source_set_time(s, next > now ? next : now + c->heartbeat_ms * USEC_PER_MSEC);
        return 0;
}

/* ---- connecting ------------------------------------------------------------------------- */

static void on_connect_done(void *ud, void *payload) {
        Cluster *c = ud;

        c->connect_done = true;
        if (c->connect_error[0])
                log_error("Cluster: node '%s': %s", c->node, c->connect_error);
        if (c->control.connect_status == NATS_OK && c->control.nc) {
                char url[URL_MAX] = "";
                (void) natsConnection_GetConnectedUrl(c->control.nc, url, sizeof url);
                set_connected(c, url, false);
        } else if (!c->control.nc)
                c->state = CLUSTER_CLOSED;
        /* Else NATS_NOT_YET_CONNECTED: libnats goes on trying, cb_connected says when. */
        if (c->traffic.connect_status == NATS_OK && c->traffic.nc)
                c->traffic.connected = true;
        pubsub_sync(c);
        if (c->traffic.nc && c->hooks.connection)
                c->hooks.connection(c->hooks_ud);
}

/* Not on the loop: it logs nothing (the log is the loop's), it leaves what went wrong in
 * c->connect_error for on_connect_done. libnats' last error is per thread: read here or never. */
static natsStatus connect_link(Link *link) {
        Cluster *c = link->cluster;
        natsConnection *nc = NULL;
        natsStatus s = natsConnection_Connect(&nc, link->opts);

        if (s != NATS_NOT_YET_CONNECTED && s != NATS_OK) {
                snprintf(c->connect_error, sizeof c->connect_error, "cannot connect to NATS (%s): %s", link->role,
                         nats_GetLastError(NULL) ?: natsStatus_GetText(s));
                if (nc)
                        natsConnection_Destroy(nc);
                nc = NULL;
        }
        link->nc = nc;
        link->connect_status = s;
        return s;
}

static void *connect_thread(void *ud) {
        Cluster *c = ud;

        if (connect_link(&c->control) != NATS_OK && !c->control.nc)
                goto done;
        /* Subscribed before connecting: libnats sends it once connected, and again after
         * every reconnect. */
        if (nats_loop_subscribe(c->loop, c->control.nc, c->pattern, on_heartbeat, c, NATS_LOOP_CONTROL, &c->sub) < 0)
                snprintf(c->connect_error, sizeof c->connect_error, "cannot subscribe to %s: %s", c->pattern,
                         nats_GetLastError(NULL) ?: "out of memory");
        (void) connect_link(&c->traffic);
done:
        /* Not droppable: the loop must learn of the connection. */
        (void) nats_loop_post(c->loop, on_connect_done, NULL, c, NULL, NATS_LOOP_KEEP);
        return NULL;
}

static int make_options(Cluster *c, Link *link, const ClusterConfig *cfg) {
        natsOptions *o = NULL;
        natsStatus s = natsOptions_Create(&o);
        size_t n = strv_length(cfg->nats);
        const char **servers = (const char **) cfg->nats;
        char name[CLUSTER_NAME_MAX + 32];

        if (s != NATS_OK)
                return -ENOMEM;
        link->opts = o;
        snprintf(name, sizeof name, "forkvisor:%s:%s", c->node, link->role);
        if (nats_loop_use(c->loop, o) < 0)
                return -EINVAL;
#define SET(call) do { if ((s = (call)) != NATS_OK) goto fail; } while (0)
        SET(natsOptions_SetServers(o, servers, (int) n));
        SET(natsOptions_SetNoRandomize(o, true)); /* the order given: the first is preferred */
        SET(natsOptions_SetName(o, name));
        SET(natsOptions_SetTimeout(o, CONNECT_TIMEOUT_MS));
        SET(natsOptions_SetAllowReconnect(o, true));
        SET(natsOptions_SetMaxReconnect(o, -1)); /* for ever */
        SET(natsOptions_SetReconnectWait(o, RECONNECT_WAIT_MS));
        SET(natsOptions_SetReconnectBufSize(o, RECONNECT_BUFFER_BYTES));
        SET(natsOptions_SetNoEcho(o, true));
        /* A publish asks the loop to write at once (with the loop's hooks libnats only adds the
         * write interest: the loop writes on EPOLLOUT, never waiting). Without it every publish
         * waits for libnats' flusher thread, which yields 1 ms before it flushes: a call to
         * another node took 2.2 ms, a reply's 1 ms on each side. */
        SET(natsOptions_SetSendAsap(o, true));
        /* One delivery thread for every subscription: messages reach the loop in the order
         * the server sent them, whichever subscriptions they came on (nats-loop.h). */
        SET(natsOptions_UseGlobalMessageDelivery(o, true));
        /* The control connection finds a dead server within a few heartbeats. The traffic
         * connection's PONG waits behind what the server has queued for us: under a flood it
         * came seconds late, libnats took the connection for stale and dropped it every 6 s,
         * losing what was in flight. Its server's death is seen by the control connection
         * (the others fall silent) and by TCP; the pings are only the last resort. */
        uint64_t ping_ms = c->heartbeat_ms * link->ping_beats;
        SET(natsOptions_SetPingInterval(o, (int64_t) (ping_ms > link->ping_min_ms ? ping_ms : link->ping_min_ms)));
        SET(natsOptions_SetMaxPingsOut(o, (int) link->pings_out));
        SET(natsOptions_SetRetryOnFailedConnect(o, true, cb_connected, link));
        SET(natsOptions_SetDisconnectedCB(o, cb_disconnected, link));
        SET(natsOptions_SetReconnectedCB(o, cb_reconnected, link));
        SET(natsOptions_SetClosedCB(o, cb_closed, link));
        if (cfg->credentials)
                SET(natsOptions_SetUserCredentialsFromFiles(o, cfg->credentials, NULL));
        if (cfg->tls_ca || cfg->tls_cert) {
                SET(natsOptions_SetSecure(o, true));
                if (cfg->tls_ca)
                        SET(natsOptions_LoadCATrustedCertificates(o, cfg->tls_ca));
                if (cfg->tls_cert)
                        SET(natsOptions_LoadCertificatesChain(o, cfg->tls_cert, cfg->tls_key));
        }
#undef SET
        return 0;
fail:
        log_error("Cluster: cannot set up the NATS connection: %s", nats_GetLastError(NULL) ?: natsStatus_GetText(s));
        return -EINVAL;
}

/* [cluster] node, or the host name up to its first dot. */
static int node_name(const ClusterConfig *cfg, char **ret) {
        char host[256] = "";

        if (cfg->node) {
                *ret = strdup(cfg->node);
                return *ret ? 0 : -ENOMEM;
        }
        if (gethostname(host, sizeof host - 1) < 0)
                return log_error_errno(errno, "Cluster: cannot read the host name: %m; set node = in [cluster]");
        host[strcspn(host, ".")] = '\0';
        if (!cluster_name_is_valid(host)) {
                log_error("Cluster: the host name '%s' is no node name (1-%d of A-Z, a-z, 0-9, '_' and '-'): "
                          "set node = in [cluster]", host, CLUSTER_NAME_MAX);
                return -EINVAL;
        }
        *ret = strdup(host);
        return *ret ? 0 : -ENOMEM;
}

int cluster_new(sd_event *e, Events *events, const ClusterConfig *cfg, Cluster **ret) {
        Cluster *c = calloc(1, sizeof *c);
        int r;

        if (!c)
                return -ENOMEM;
        c->event = e;
        c->events = events;
        c->heartbeat_ms = cfg->heartbeat_ms ?: CLUSTER_HEARTBEAT_DEFAULT_MS;
        c->state = CLUSTER_CONNECTING;
        /* Tells the other nodes this run from the last one, however soon it follows. */
        if (getrandom(&c->run, sizeof c->run, GRND_NONBLOCK) != sizeof c->run)
                c->run = ((uint64_t) time(NULL) << 20) ^ (uint64_t) getpid();
        r = node_name(cfg, &c->node);
        if (r < 0)
                goto fail;
        c->prefix = strdup(cfg->prefix ?: "forkvisor");
        if (!c->prefix || asprintf(&c->subject, "%s.node.%s.heartbeat", c->prefix, c->node) < 0 ||
            asprintf(&c->pattern, "%s.node.*.heartbeat", c->prefix) < 0) {
                c->subject = c->pattern = NULL;
                r = -ENOMEM;
                goto fail;
        }
        r = nats_loop_new(e, QUEUE_LIMIT, &c->loop);
        if (r < 0)
                goto fail;
        c->control = (Link) { .cluster = c, .role = "control", .ping_beats = 2, .ping_min_ms = 1000, .pings_out = 2 };
        c->traffic = (Link) { .cluster = c, .role = "traffic", .ping_beats = 10, .ping_min_ms = TRAFFIC_PING_MIN_MS,
                              .pings_out = 3 };
        r = make_options(c, &c->control, cfg);
        if (r < 0)
                goto fail;
        r = make_options(c, &c->traffic, cfg);
        if (r < 0)
                goto fail;
        if (natsStatistics_Create(&c->stats) != NATS_OK) {
                r = -ENOMEM;
                goto fail;
        }
        r = sd_event_add_time_relative(e, &c->timer, CLOCK_MONOTONIC, c->heartbeat_ms * USEC_PER_MSEC,
                                       USEC_PER_MSEC, on_timer, c);
        if (r < 0)
                goto fail;
        sd_event_source_set_priority(c->timer, PRIORITY_MAILBOX);
        (void) sd_event_source_set_enabled(c->timer, SD_EVENT_ON);
        r = -pthread_create(&c->connector, NULL, connect_thread, c);
        if (r < 0)
                goto fail;
        c->connector_started = true;
        log_info("Cluster: node '%s' connecting to %s", c->node, cfg->nats[0]);
        *ret = c;
        return 0;
fail:
        if (r == -ENOMEM)
                log_error("Cluster: out of memory");
        else if (r != -EINVAL)
                log_error_errno(r, "Cluster: cannot start: %m");
        cluster_free(c);
        return r;
}

void cluster_close(Cluster *c) {
        if (!c)
                return;
        if (c->connector_started) {
                (void) pthread_join(c->connector, NULL);
                c->connector_started = false;
        }
        c->timer = sd_event_source_disable_unref(c->timer);
        /* What libnats has buffered is written now, as far as the socket takes it: the loop no
         * longer runs, and Close would wait half a second for a buffer only the loop empties. */
        cluster_pubsub_flush(c->pubsub);
        if (c->traffic.nc) {
                if (c->traffic.connected)
                        natsConnection_ProcessWriteEvent(c->traffic.nc);
                natsConnection_Close(c->traffic.nc);
        }
        if (c->control.nc && c->state != CLUSTER_CLOSED) {
                if (c->state == CLUSTER_CONNECTED)
                        natsConnection_ProcessWriteEvent(c->control.nc);
                natsConnection_Close(c->control.nc);
        }
        c->traffic.connected = false;
        c->state = CLUSTER_CLOSED;
}

Cluster *cluster_free(Cluster *c) {
        bool waited = true;

        if (!c)
                return NULL;
        cluster_close(c);
        cluster_pubsub_close(c->pubsub);
        if (c->sub)
                natsSubscription_Destroy(c->sub);
        bool used = c->control.opts || c->control.nc || c->traffic.opts || c->traffic.nc;
        FOREACH_LINK(link, c) {
                if (link->nc)
                        natsConnection_Destroy(link->nc);
                natsOptions_Destroy(link->opts);
        }
        natsStatistics_Destroy(c->stats);
        /* libnats' threads may still hold callbacks that post to our loop: they are done when
         * this returns. Its delivery thread first finishes with the subscriptions closed above:
         * stopped before, it would leave what it had queued for them. */
        if (used) {
                waited = nats_loop_wait_subscriptions(c->loop, CLOSE_WAIT_MS);
                /* The messages still queued for the loop go while libnats can free them. */
                if (waited)
                        nats_loop_drop_posts(c->loop);
                waited = waited && nats_CloseAndWait(CLOSE_WAIT_MS) == NATS_OK;
        }
        if (!waited) {
                /* A thread of libnats may yet post to c->loop: leave it (the node is exiting). */
                log_warning("Cluster: libnats did not stop within %d ms", CLOSE_WAIT_MS);
                return NULL;
        }
        cluster_pubsub_free(c->pubsub);
        nats_loop_free(c->loop);
        for (size_t i = 0; i < c->n_nodes; i++)
                free((char *) c->nodes[i].name);
        free(c->nodes);
        free(c->node);
        free(c->prefix);
        free(c->subject);
        free(c->pattern);
        return mfree(c);
}

const char *cluster_node_name(const Cluster *c) {
        return c->node;
}

ClusterState cluster_state(const Cluster *c) {
        return c->state;
}

const char *cluster_server(const Cluster *c) {
        return c->state == CLUSTER_CONNECTED && c->server[0] ? c->server : NULL;
}

uint64_t cluster_heartbeat_ms(const Cluster *c) {
        return c->heartbeat_ms;
}

int cluster_attach_router(Cluster *c, Router *router) {
        int r = cluster_pubsub_new(c->event, router, c->loop, c->node, c->prefix, &c->pubsub);
        if (r < 0)
                return log_error_errno(r, "Cluster: cannot federate pub/sub: %m");
        pubsub_sync(c);
        return 0;
}

/* Only while connected: libnats' reconnect thread holds the connection's lock while it dials. */
static void read_wire(const Cluster *c, Link *link, bool connected) {
        if (connected && c->connect_done && link->nc && c->stats && natsConnection_GetStats(link->nc, c->stats) == NATS_OK)
                (void) natsStatistics_GetCounts(c->stats, &link->wire[0], &link->wire[1], &link->wire[2],
                                                &link->wire[3], NULL);
}

void cluster_counters(const Cluster *c, ClusterCounters *ret) {
        ClusterPubsubCounters p;

        Cluster *m = (Cluster *) c; /* the last counts read are kept */
        read_wire(c, &m->control, c->state == CLUSTER_CONNECTED);
        read_wire(c, &m->traffic, c->traffic.connected);
        cluster_pubsub_counters(c->pubsub, &p);
        *ret = (ClusterCounters) {
                .pub_in = p.in,
                .pub_out = p.out,
                .pub_dropped = p.dropped,
                .pub_duplicates = p.duplicates,
                .pub_patterns = p.patterns,
                .in = c->in,
                .out = c->out,
                .dropped = c->dropped + nats_loop_dropped(c->loop),
                .reconnects = c->reconnects,
                .wire_msgs_in = c->control.wire[0] + c->traffic.wire[0],
                .wire_bytes_in = c->control.wire[1] + c->traffic.wire[1],
                .wire_msgs_out = c->control.wire[2] + c->traffic.wire[2],
                .wire_bytes_out = c->control.wire[3] + c->traffic.wire[3],
        };
}

size_t cluster_n_nodes(const Cluster *c) {
        return c->n_nodes;
}

const ClusterNode *cluster_nodes(const Cluster *c) {
        return c->nodes;
}

void cluster_set_hooks(Cluster *c, const ClusterHooks *hooks, void *ud) {
        c->hooks = hooks ? *hooks : (ClusterHooks) {};
        c->hooks_ud = hooks ? ud : NULL;
}

natsConnection *cluster_connection(const Cluster *c) {
        return c->connect_done ? c->control.nc : NULL;
}

natsConnection *cluster_traffic_connection(const Cluster *c) {
        return c->connect_done ? c->traffic.nc : NULL;
}

bool cluster_traffic_connected(const Cluster *c) {
        return c->connect_done && c->traffic.nc && c->traffic.connected;
}

NatsLoop *cluster_nats_loop(const Cluster *c) {
        return c->loop;
}

const char *cluster_prefix(const Cluster *c) {
        return c->prefix;
}

bool cluster_node_is_up(const Cluster *c, const char *name, size_t len) {
        const ClusterNode *n = find_node((Cluster *) c, name, len);
        return n && n->up;
}

void cluster_count_dropped(Cluster *c) {
        c->dropped++;
}

void cluster_count_out(Cluster *c) {
        c->out++;
}

void cluster_count_in(Cluster *c) {
        c->in++;
}
