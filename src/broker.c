/* SPDX-License-Identifier: MIT */
/* Subscriptions are a flat list of (pattern, subscriber); which subscribers a topic reaches is
 * worked out once and remembered in a small cache until any subscription changes, so a steady
 * stream of publications costs one lookup each, then one reference per subscriber. */
#include "broker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "macro.h"
#include "proto.h"
#include "strv.h"
#include "topic.h"

/* Publications of one loop pass share a chunk of this size (bigger for one huge frame). */
#define BROKER_CHUNK_SIZE (256u * 1024)
#define BROKER_CACHE_SIZE 64 /* topics whose subscribers are remembered; a power of 2 */

typedef struct Subscription {
        const char *pattern;   /* borrowed from the subscriber's strv */
        size_t len;
        Subscriber *sub;
} Subscription;

typedef struct Resolved {
        uint64_t epoch;        /* valid while the broker's epoch is the same */
        char topic[TOPIC_MAX];
        size_t len;
        Subscriber **subs;
        size_t n, cap;
} Resolved;

struct Subscriber {
        Broker *broker;
        Mailbox *mb;           /* borrowed */
        char **patterns;       /* owned strv */
        uint64_t dropped;
        uint64_t seen;         /* the broker's stamp when last added to a Resolved: once each */
};

struct Broker {
        Subscription *subs;
        size_t n_subs, cap_subs;
        uint64_t epoch;        /* bumped by every change of subscriptions (never 0) */
        uint64_t stamp;
        Resolved cache[BROKER_CACHE_SIZE];
        Chunk *chunk;          /* where publications are encoded */
        const BrokerHooks *hooks;
        void *hooks_ud;
        uint64_t published;    /* broker_publish()'s accepted publications, for metrics */
};

int broker_new(Broker **ret) {
        Broker *b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->epoch = 1;
        *ret = b;
        return 0;
}

Broker *broker_free(Broker *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < BROKER_CACHE_SIZE; i++)
                free(b->cache[i].subs);
        free(b->subs);
        chunk_unref(b->chunk);
        return mfree(b);
}

Subscriber *broker_subscriber_new(Broker *b, Mailbox *mb) {
        Subscriber *s = calloc(1, sizeof *s);
        if (!s)
                return NULL;
        s->patterns = strv_new_empty();
        if (!s->patterns)
                return mfree(s);
        s->broker = b;
        s->mb = mb;
        return s;
}

/* Another subscription to pattern than except: the hooks hear of a pattern's first and last. */
static bool held(Broker *b, const char *pattern, size_t len, const Subscription *except) {
        for (size_t i = 0; i < b->n_subs; i++)
                if (&b->subs[i] != except && b->subs[i].len == len && memcmp(b->subs[i].pattern, pattern, len) == 0)
                        return true;
        return false;
}

static void tell_interest(Broker *b, const char *pattern, size_t len, bool on) {
        if (b->hooks && b->hooks->interest)
                b->hooks->interest(b->hooks_ud, pattern, len, on);
}

void broker_set_hooks(Broker *b, const BrokerHooks *hooks, void *ud) {
        b->hooks = hooks;
        b->hooks_ud = ud;
        for (size_t i = 0; hooks && i < b->n_subs; i++) {
                bool first = true;
                for (size_t j = 0; j < i && first; j++)
                        first = !(b->subs[j].len == b->subs[i].len &&
                                  memcmp(b->subs[j].pattern, b->subs[i].pattern, b->subs[i].len) == 0);
                if (first)
                        tell_interest(b, b->subs[i].pattern, b->subs[i].len, true);
        }
}

static void remove_subscriptions(Subscriber *s, const char *pattern) {
        Broker *b = s->broker;
        for (size_t i = 0; b->hooks && i < b->n_subs; i++)
                if (b->subs[i].sub == s && (!pattern || b->subs[i].pattern == pattern) &&
                    !held(b, b->subs[i].pattern, b->subs[i].len, &b->subs[i]))
                        tell_interest(b, b->subs[i].pattern, b->subs[i].len, false);
        size_t j = 0;
        for (size_t i = 0; i < b->n_subs; i++)
                if (b->subs[i].sub != s || (pattern && b->subs[i].pattern != pattern))
                        b->subs[j++] = b->subs[i];
        b->n_subs = j;
        b->epoch++;
}

Subscriber *broker_subscriber_free(Subscriber *s) {
        if (!s)
                return NULL;
        remove_subscriptions(s, NULL);
        strv_free(s->patterns);
        return mfree(s);
}

int broker_subscribe(Subscriber *s, const char *pattern, size_t len) {
        Broker *b = s->broker;
        if (!topic_pattern_is_valid(pattern, len))
                return -EINVAL;
        size_t n = 0;
        STRV_FOREACH(p, s->patterns) {
                if (strlen(*p) == len && memcmp(*p, pattern, len) == 0)
                        return 0;
                n++;
        }
        /* Bounded, since working out who a topic reaches scans every subscription. */
        if (n >= TOPIC_SUBSCRIPTIONS_MAX)
                return -ENOSPC;
        if (ARRAY_GROW(b->subs, b->cap_subs, b->n_subs + 1) < 0)
                return -ENOMEM;
        char copy[TOPIC_MAX + 1];
        memcpy(copy, pattern, len);
        copy[len] = '\0';
        if (strv_push(&s->patterns, copy) < 0)
                return -ENOMEM;
        if (!held(b, pattern, len, NULL))
                tell_interest(b, pattern, len, true);
        b->subs[b->n_subs++] = (Subscription) { s->patterns[strv_length(s->patterns) - 1], len, s };
        b->epoch++;
        return 0;
}

int broker_unsubscribe(Subscriber *s, const char *pattern, size_t len) {
        for (size_t i = 0; s->patterns[i]; i++)
                if (strlen(s->patterns[i]) == len && memcmp(s->patterns[i], pattern, len) == 0) {
                        remove_subscriptions(s, s->patterns[i]);
                        strv_remove_at(s->patterns, i);
                        return 0;
                }
        return -ENOENT;
}

char *const *broker_subscriber_patterns(const Subscriber *s) {
        return s->patterns;
}

uint64_t broker_subscriber_dropped(const Subscriber *s) {
        return s->dropped;
}

static uint64_t hash_topic(const char *s, size_t len) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char) s[i]) * UINT64_C(0x100000001b3);
        return h;
}

/* The subscribers topic reaches, each once, in subscription order; NULL on ENOMEM. */
static const Resolved *resolve(Broker *b, const char *topic, size_t tlen) {
        Resolved *r = &b->cache[hash_topic(topic, tlen) & (BROKER_CACHE_SIZE - 1)];
        if (r->epoch == b->epoch && r->len == tlen && memcmp(r->topic, topic, tlen) == 0)
                return r;
        r->epoch = 0;
        r->n = 0;
        b->stamp++;
        for (size_t i = 0; i < b->n_subs; i++) {
                Subscription *x = &b->subs[i];
                if (x->sub->seen == b->stamp || !topic_matches(x->pattern, x->len, topic, tlen))
                        continue;
                if (ARRAY_GROW(r->subs, r->cap, r->n + 1) < 0)
                        return NULL;
                x->sub->seen = b->stamp;
                r->subs[r->n++] = x->sub;
        }
        memcpy(r->topic, topic, tlen);
        r->len = tlen;
        r->epoch = b->epoch;
        return r;
}

bool broker_has_subscribers(Broker *b, const char *topic, size_t tlen) {
        if (b->hooks && b->hooks->published && topic_is_valid(topic, tlen))
                return true;
        if (b->n_subs == 0 || !topic_is_valid(topic, tlen))
                return false;
        const Resolved *r = resolve(b, topic, tlen);
        return !r || r->n > 0; /* out of memory: let the publication find out */
}

/* Room for size bytes in the broker's chunk: reused from the start once no mailbox holds a
 * reference (they all flushed), else a new one. */
static Chunk *chunk_for(Broker *b, size_t size) {
        if (b->chunk && b->chunk->refs == 1)
                b->chunk->len = 0;
        if (b->chunk && b->chunk->len + size > b->chunk->cap)
                b->chunk = chunk_unref(b->chunk);
        if (!b->chunk)
                b->chunk = chunk_new(size > BROKER_CHUNK_SIZE ? size : BROKER_CHUNK_SIZE);
        return b->chunk;
}

static int deliver(Broker *b, const char *topic, size_t tlen, uint32_t sender, const void *data, size_t len);

int broker_publish(Broker *b, const char *topic, size_t tlen, uint32_t sender, const void *data, size_t len) {
        if (!topic_is_valid(topic, tlen))
                return -EINVAL;
        if (len > PROTO_PAYLOAD_MAX)
                return -EMSGSIZE;
        b->published++;
        if (b->hooks && b->hooks->published)
                b->hooks->published(b->hooks_ud, topic, tlen, data, len);
        return deliver(b, topic, tlen, sender, data, len);
}

int broker_deliver(Broker *b, const char *topic, size_t tlen, const void *data, size_t len) {
        if (!topic_is_valid(topic, tlen))
                return -EINVAL;
        if (len > PROTO_PAYLOAD_MAX)
                return -EMSGSIZE;
        return deliver(b, topic, tlen, 0, data, len);
}

uint64_t broker_published(const Broker *b) {
        return b->published;
}

static int deliver(Broker *b, const char *topic, size_t tlen, uint32_t sender, const void *data, size_t len) {
        if (b->n_subs == 0)
                return 0;
        const Resolved *r = resolve(b, topic, tlen);
        if (!r)
                return -ENOMEM;
        if (r->n == 0)
                return 0;
        size_t size = proto_frame_size(tlen, len);
        Chunk *c = chunk_for(b, size);
        if (!c)
                return -ENOMEM;
        Frame f = { .kind = PROTO_INFO, .sender = sender, .target = topic, .target_len = tlen,
                    .payload = data, .payload_len = len };
        int n = proto_encode(&f, c->data + c->len, c->cap - c->len);
        if (n < 0)
                return n;
        size_t off = c->len;
        c->len += (size_t) n;
        int queued = 0;
        for (size_t i = 0; i < r->n; i++) {
                Subscriber *s = r->subs[i];
                int e = mailbox_queue_shared(s->mb, c, off, (size_t) n);
                if (e >= 0)
                        queued++;
                else if (e != -ENOBUFS)
                        s->dropped++; /* full, or out of memory: lost for this one, and counted */
        }
        return queued;
}
