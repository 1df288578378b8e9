/* SPDX-License-Identifier: MIT */
/* Federated pub/sub (cluster-pubsub.h). */
#include "cluster-pubsub.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "cluster-subject.h"
#include "log.h"
#include "macro.h"
#include "proto.h"
#include "topic.h"

/* What libnats may hold unwritten (the loop writes it when the socket takes it): beyond, a
 * publication is dropped and counted rather than buffered without end. */
#define PUBSUB_BUFFERED_MAX (8 * 1024 * 1024)
/* Other nodes whose publication numbers are remembered; beyond, duplicates get through. */
#define PUBSUB_ORIGINS_MAX 1024
/* The numbers remembered per node, below its highest: one publication two of our patterns
 * match comes once for each subscription, one after the other. */
#define PUBSUB_WINDOW 1024
/* A batch is sent once it holds this much; it has room for one more publication of any size. */
#define BATCH_BYTES (64 * 1024)
#define BATCH_ROOM (CLUSTER_HEADER_MAX + BATCH_BYTES + CLUSTER_RECORD_HEADER + PROTO_PAYLOAD_MAX)
#define RESERVED "forkvisor:"
/* Other nodes' lifecycle events are delivered here on REMOTE_EVENTS + EVENT; a subscriber of
 * REMOTE_EVENTS_PATTERN (`events --cluster`) makes the node subscribe to PREFIX.event.>. */
#define REMOTE_EVENTS "forkvisor-cluster:"
#define REMOTE_EVENTS_PATTERN REMOTE_EVENTS "*"
/* The room for an event and the "node" added to it. */
#define EVENT_SIZE 2048

typedef struct Interest {
        char *pattern;
        size_t len;
        bool wanted;               /* a subscriber here holds it */
        bool events;               /* REMOTE_EVENTS_PATTERN: PREFIX.event.> */
        natsSubscription *sub;     /* NULL until subscribed on NATS */
} Interest;

typedef struct Origin {
        char *node;
        uint64_t boot, top;        /* its run, its highest number seen */
        uint64_t seen[PUBSUB_WINDOW / 64]; /* bit n % PUBSUB_WINDOW: n seen, for n in (top - WINDOW, top] */
} Origin;

struct ClusterPubsub {
        Router *router;            /* borrowed */
        NatsLoop *loop;            /* borrowed */
        natsConnection *nc;        /* borrowed */
        bool connected, hooked;
        char *node, *prefix;
        uint64_t boot, seq;

        Interest *interest;
        size_t n_interest, cap_interest;
        Origin *origins;
        size_t n_origins, cap_origins;

        char *subject;             /* CLUSTER_SUBJECT_SIZE(prefix) bytes */
        size_t subject_size;

        /* The batch being filled: publications of one subject that followed each other, sent
         * as one message when another subject comes, when it is full, or after the loop's
         * iteration (post source). */
        char *batch;               /* BATCH_ROOM bytes */
        size_t batch_len;          /* 0: none */
        uint64_t batch_count;
        char *batch_subject;       /* subject_size bytes */
        sd_event_source *flusher;
        ClusterPubsubCounters k;
};

static bool starts_with(const char *s, size_t len, const char *prefix) {
        return len >= strlen(prefix) && memcmp(s, prefix, strlen(prefix)) == 0;
}

/* The node's own topics, which never cross as publications. */
static bool reserved(const char *s, size_t len) {
        return starts_with(s, len, RESERVED) || starts_with(s, len, REMOTE_EVENTS);
}

/* The events of the tree that cross to `events --cluster` elsewhere (not the cluster's own). */
static bool federated_event(const char *topic, size_t tlen) {
        static const char *const names[] = { "started", "exited", "restarting", "gave_up", "reload" };
        size_t plen = strlen(RESERVED);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (tlen == plen + strlen(names[i]) && memcmp(topic + plen, names[i], tlen - plen) == 0)
                        return true;
        return false;
}

/* ---- in: on the delivery thread, then on the loop ---------------------------------------- */

static Origin *origin_of(ClusterPubsub *ps, const ClusterHeader *h) {
        for (size_t i = 0; i < ps->n_origins; i++)
                if (strlen(ps->origins[i].node) == h->node_len && memcmp(ps->origins[i].node, h->node, h->node_len) == 0)
                        return &ps->origins[i];
        if (ps->n_origins >= PUBSUB_ORIGINS_MAX || ARRAY_GROW(ps->origins, ps->cap_origins, ps->n_origins + 1) < 0)
                return NULL;
        Origin *o = &ps->origins[ps->n_origins];
        *o = (Origin) { .node = strndup(h->node, h->node_len), .boot = h->boot - 1 };
        if (!o->node)
                return NULL;
        ps->n_origins++;
        return o;
}

/* PREFIX.event.NODE.EVENT, its data the event's JSON with "node": to REMOTE_EVENTS + EVENT. */
static void on_event(ClusterPubsub *ps, const char *subject, const char *data, int len) {
        const char *node = subject + strlen(ps->prefix) + strlen(".event."), *ev = strchr(node, '.');
        char topic[TOPIC_MAX + 1];

        if (!ev || ev == node || !data || len <= 0 ||
            snprintf(topic, sizeof topic, "%s%s", REMOTE_EVENTS, ev + 1) >= (int) sizeof topic) {
                ps->k.dropped++;
                return;
        }
        if ((size_t) (ev - node) == strlen(ps->node) && memcmp(node, ps->node, (size_t) (ev - node)) == 0) {
                ps->k.duplicates++;
                return;
        }
        if (router_deliver(ps->router, topic, strlen(topic), data, (size_t) len) < 0)
                ps->k.dropped++;
        else
                ps->k.in++;
}

#define BIT(n) ((n) % PUBSUB_WINDOW)

/* Publication seq of o's run boot is new: remembered, true; had already (or too old to tell),
 * false. */
static bool first_time(Origin *o, uint64_t boot, uint64_t seq) {
        if (o->boot != boot) {
                /* A new run of that node numbers from 1 again. */
                o->boot = boot;
                o->top = 0;
                memset(o->seen, 0, sizeof o->seen);
        }
        if (seq > o->top) {
                if (seq - o->top >= PUBSUB_WINDOW)
                        memset(o->seen, 0, sizeof o->seen);
                else
                        for (uint64_t n = o->top + 1; n < seq; n++)
                                o->seen[BIT(n) / 64] &= ~(UINT64_C(1) << (BIT(n) % 64));
                o->top = seq;
        } else if (o->top - seq >= PUBSUB_WINDOW || (o->seen[BIT(seq) / 64] & (UINT64_C(1) << (BIT(seq) % 64))))
                return false;
        o->seen[BIT(seq) / 64] |= UINT64_C(1) << (BIT(seq) % 64);
        return true;
}

static void on_message(void *ud, void *payload) {
        ClusterPubsub *ps = ud;
        natsMsg *msg = payload;
        const char *data = natsMsg_GetData(msg);
        int len = natsMsg_GetDataLength(msg);
        const char *subject = natsMsg_GetSubject(msg);
        char topic[TOPIC_MAX + 1];
        ClusterHeader h;
        int tlen;

        if (strncmp(subject, ps->prefix, strlen(ps->prefix)) == 0 &&
            strncmp(subject + strlen(ps->prefix), ".event.", strlen(".event.")) == 0) {
                on_event(ps, subject, data, len);
                goto done;
        }
        tlen = cluster_subject_to_topic(ps->prefix, subject, topic, sizeof topic);

        if (tlen < 0 || !data || len < 0 || cluster_header_parse(data, (size_t) len, &h) < 0) {
                ps->k.dropped++; /* not ours to read */
                goto done;
        }
        bool own = h.node_len == strlen(ps->node) && memcmp(h.node, ps->node, h.node_len) == 0;
        Origin *o = own ? NULL : origin_of(ps, &h);
        size_t off = h.data_offset, n;
        const char *p;
        int k;
        for (uint64_t seq = h.seq; (k = cluster_record_next(data, (size_t) len, &off, &p, &n)) > 0; seq++) {
                if (own || (o && !first_time(o, h.boot, seq)))
                        ps->k.duplicates++; /* our own, or had already */
                else if (router_deliver(ps->router, topic, (size_t) tlen, p, n) < 0)
                        ps->k.dropped++;
                else
                        ps->k.in++;
        }
        if (k < 0)
                ps->k.dropped++; /* the rest is not ours to read */
done:
        natsMsg_Destroy(msg);
}


/* ---- interest: the NATS subscriptions follow the patterns held here ---------------------- */

static void reconcile(ClusterPubsub *ps) {
        size_t j = 0;

        for (size_t i = 0; i < ps->n_interest; i++) {
                Interest *x = &ps->interest[i];
                if (ps->connected && ps->nc) {
                        if (x->wanted && !x->sub) {
                                if (x->events)
                                        snprintf(ps->subject, ps->subject_size, "%s.event.>", ps->prefix);
                                if ((!x->events && cluster_subject_of_pattern(ps->prefix, x->pattern, x->len, ps->subject,
                                                                              ps->subject_size) < 0) ||
                                    nats_loop_subscribe(ps->loop, ps->nc, ps->subject, on_message, ps, NATS_LOOP_BULK, &x->sub) < 0) {
                                        x->sub = NULL; /* tried again at the next change */
                                        log_warning("Cluster: cannot subscribe to '%s' on NATS: %s", x->pattern,
                                                    nats_GetLastError(NULL) ?: "?");
                                }
                        } else if (!x->wanted && x->sub) {
                                (void) natsSubscription_Unsubscribe(x->sub);
                                natsSubscription_Destroy(x->sub);
                                x->sub = NULL;
                        }
                }
                if (!x->wanted && !x->sub)
                        free(x->pattern);
                else
                        ps->interest[j++] = *x;
        }
        ps->n_interest = j;
}

static void hook_interest(void *ud, const char *pattern, size_t len, bool on) {
        ClusterPubsub *ps = ud;
        Interest *x = NULL;

        bool events = len == strlen(REMOTE_EVENTS_PATTERN) && memcmp(pattern, REMOTE_EVENTS_PATTERN, len) == 0;

        if (reserved(pattern, len) && !events)
                return; /* the node's own topics never cross the wire */
        for (size_t i = 0; i < ps->n_interest && !x; i++)
                if (ps->interest[i].len == len && memcmp(ps->interest[i].pattern, pattern, len) == 0)
                        x = &ps->interest[i];
        if (!x && on) {
                if (ARRAY_GROW(ps->interest, ps->cap_interest, ps->n_interest + 1) < 0) {
                        log_error("Cluster: out of memory: a subscription is not federated");
                        return;
                }
                x = &ps->interest[ps->n_interest];
                *x = (Interest) { .pattern = strndup(pattern, len), .len = len, .events = events };
                if (!x->pattern) {
                        log_error("Cluster: out of memory: a subscription is not federated");
                        return;
                }
                ps->n_interest++;
        }
        if (x)
                x->wanted = on;
        reconcile(ps);
}

/* ---- out ---------------------------------------------------------------------------------- */

/* A lifecycle event of this node, for `events --cluster` on the others: on PREFIX.event.NODE.EVENT,
 * with "node" added before "time" (a script matching the start of a line still does). */
static void publish_event(ClusterPubsub *ps, const char *topic, size_t tlen, const char *data, size_t len) {
        const char *at = NULL;
        char ev[EVENT_SIZE];
        int n;

        for (const char *p = data; (p = memmem(p, len - (size_t) (p - data), ", \"time\": ", 10)); p++)
                at = p;
        if (!at || !ps->connected || !ps->nc) {
                ps->k.dropped++;
                return;
        }
        n = snprintf(ev, sizeof ev, "%.*s, \"node\": \"%s\"%.*s", (int) (at - data), data, ps->node,
                     (int) (len - (size_t) (at - data)), at);
        if (n < 0 || (size_t) n >= sizeof ev ||
            snprintf(ps->subject, ps->subject_size, "%s.event.%s.%.*s", ps->prefix, ps->node,
                     (int) (tlen - strlen(RESERVED)), topic + strlen(RESERVED)) >= (int) ps->subject_size) {
                ps->k.dropped++;
                return;
        }
        if (natsConnection_Publish(ps->nc, ps->subject, ev, n) == NATS_OK)
                ps->k.out++;
        else
                ps->k.dropped++;
}

void cluster_pubsub_flush(ClusterPubsub *ps) {
        if (!ps || ps->batch_len == 0)
                return;
        if (ps->connected && ps->nc && natsConnection_Buffered(ps->nc) <= PUBSUB_BUFFERED_MAX &&
            natsConnection_Publish(ps->nc, ps->batch_subject, ps->batch, (int) ps->batch_len) == NATS_OK)
                ps->k.out += ps->batch_count;
        else
                ps->k.dropped += ps->batch_count;
        ps->batch_len = 0;
        ps->batch_count = 0;
}

static int on_flush(sd_event_source *s, void *userdata) {
        cluster_pubsub_flush(userdata);
        return 0;
}

static void hook_published(void *ud, const char *topic, size_t tlen, const void *data, size_t len) {
        ClusterPubsub *ps = ud;
        int hl, sl;

        if (federated_event(topic, tlen)) {
                publish_event(ps, topic, tlen, data, len);
                return;
        }
        if (reserved(topic, tlen))
                return;
        ps->seq++;
        if (!ps->connected || !ps->nc) {
                ps->k.dropped++;
                return;
        }
        sl = cluster_subject_of_topic(ps->prefix, topic, tlen, ps->subject, ps->subject_size);
        if (sl < 0 || len > PROTO_PAYLOAD_MAX) {
                ps->k.dropped++;
                return;
        }
        /* Another subject, or a full batch: the batch so far goes first, in publish order. */
        if (ps->batch_len > 0 && (ps->batch_len >= BATCH_BYTES || strcmp(ps->subject, ps->batch_subject) != 0))
                cluster_pubsub_flush(ps);
        if (ps->batch_len == 0) {
                hl = cluster_header_format(ps->batch, CLUSTER_HEADER_MAX, ps->node, ps->boot, ps->seq);
                if (hl < 0) {
                        ps->k.dropped++;
                        return;
                }
                ps->batch_len = (size_t) hl;
                memcpy(ps->batch_subject, ps->subject, (size_t) sl + 1);
        }
        cluster_record_put(ps->batch, &ps->batch_len, data, len);
        ps->batch_count++;
}

static const BrokerHooks hooks = {
        .published = hook_published,
        .interest = hook_interest,
};

/* ---- life ----------------------------------------------------------------------------------- */

int cluster_pubsub_new(sd_event *e, Router *router, NatsLoop *loop, const char *node, const char *prefix,
                       ClusterPubsub **ret) {
        ClusterPubsub *ps = calloc(1, sizeof *ps);
        int r;

        if (!ps)
                return -ENOMEM;
        ps->router = router;
        ps->loop = loop;
        ps->node = strdup(node);
        ps->prefix = strdup(prefix);
        ps->subject_size = CLUSTER_SUBJECT_SIZE(strlen(prefix));
        ps->subject = malloc(ps->subject_size);
        ps->batch_subject = malloc(ps->subject_size);
        ps->batch = malloc(BATCH_ROOM);
        if (!ps->node || !ps->prefix || !ps->subject || !ps->batch_subject || !ps->batch) {
                cluster_pubsub_free(ps);
                return -ENOMEM;
        }
        /* After each pass of the loop that did anything: what the mailboxes read in it has
         * been published, and goes out as few messages as its subjects allow. */
        r = sd_event_add_post(e, &ps->flusher, on_flush, ps);
        if (r < 0) {
                cluster_pubsub_free(ps);
                return r;
        }
        /* Tells this run's publications from the last one's, which numbered from 1 too. */
        if (getrandom(&ps->boot, sizeof ps->boot, GRND_NONBLOCK) != sizeof ps->boot)
                ps->boot = (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 32);
        router_set_broker_hooks(router, &hooks, ps);
        ps->hooked = true;
        *ret = ps;
        return 0;
}

void cluster_pubsub_close(ClusterPubsub *ps) {
        if (!ps)
                return;
        ps->flusher = sd_event_source_disable_unref(ps->flusher);
        if (ps->hooked)
                router_set_broker_hooks(ps->router, NULL, NULL);
        ps->hooked = false;
        for (size_t i = 0; i < ps->n_interest; i++) {
                if (ps->interest[i].sub)
                        natsSubscription_Destroy(ps->interest[i].sub);
                free(ps->interest[i].pattern);
        }
        ps->n_interest = 0;
        ps->nc = NULL;
        ps->connected = false;
}

ClusterPubsub *cluster_pubsub_free(ClusterPubsub *ps) {
        if (!ps)
                return NULL;
        cluster_pubsub_close(ps);
        free(ps->interest);
        for (size_t i = 0; i < ps->n_origins; i++)
                free(ps->origins[i].node);
        free(ps->origins);
        free(ps->node);
        free(ps->prefix);
        free(ps->subject);
        free(ps->batch_subject);
        free(ps->batch);
        return mfree(ps);
}

void cluster_pubsub_set_connection(ClusterPubsub *ps, natsConnection *nc, bool connected) {
        if (!ps || !ps->hooked)
                return;
        ps->nc = nc;
        ps->connected = connected && nc;
        reconcile(ps);
}

void cluster_pubsub_counters(const ClusterPubsub *ps, ClusterPubsubCounters *ret) {
        *ret = ps ? ps->k : (ClusterPubsubCounters) {};
        for (size_t i = 0; ps && i < ps->n_interest; i++)
                ret->patterns += ps->interest[i].wanted && ps->interest[i].sub;
}
