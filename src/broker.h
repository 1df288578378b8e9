/* SPDX-License-Identifier: MIT */
/* The pub/sub broker: subscriptions to topics and topic prefixes, and fan-out. A publication is
 * encoded once, as an INFO frame, into a chunk that every subscriber's mailbox queues by
 * reference; each mailbox bounds its own queue (mailbox_limit), so a slow subscriber only loses
 * its own messages (dropped and counted). Knows mailboxes, not processes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailbox.h"

typedef struct Broker Broker;
typedef struct Subscriber Subscriber;

int broker_new(Broker **ret);
/* Every subscriber must have been freed first. */
Broker *broker_free(Broker *b);

/* A subscriber receiving through mb (borrowed; it outlives the subscriber). NULL on ENOMEM. */
Subscriber *broker_subscriber_new(Broker *b, Mailbox *mb);
/* Ends every subscription of s at once. Returns NULL. */
Subscriber *broker_subscriber_free(Subscriber *s);

/* 0 (also when already subscribed), -EINVAL for a bad pattern, -ENOSPC when s holds
 * TOPIC_SUBSCRIPTIONS_MAX already, -ENOMEM. */
int broker_subscribe(Subscriber *s, const char *pattern, size_t len);
/* 0, or -ENOENT when s has no such subscription. */
int broker_unsubscribe(Subscriber *s, const char *pattern, size_t len);
/* Its patterns, in the order they were subscribed (a NULL-terminated strv, borrowed). */
char *const *broker_subscriber_patterns(const Subscriber *s);
/* Publications it lost to a full mailbox. */
uint64_t broker_subscriber_dropped(const Subscriber *s);

/* Publishes data on topic from sender (a pid, or 0 for the node). Returns how many subscribers
 * it was queued for, -EINVAL for a bad topic, -EMSGSIZE for a payload over the limit, -ENOMEM. */
int broker_publish(Broker *b, const char *topic, size_t tlen, uint32_t sender, const void *data, size_t len);
/* How many publications broker_publish() took (valid topic and size), subscribers or not. */
uint64_t broker_published(const Broker *b);
/* Somebody would receive a publication on topic: lets a publisher skip building it. */
bool broker_has_subscribers(Broker *b, const char *topic, size_t tlen);

/* The cluster (cluster-pubsub.h) hears of every publication made here, and of the patterns
 * subscribed here: interest(pattern, true) when the first subscriber takes a pattern, false
 * when its last leaves. Setting hooks tells of the patterns held already; NULL unsets them.
 * With hooks, broker_has_subscribers() is true for any topic (another node may want it). */
typedef struct BrokerHooks {
        void (*published)(void *ud, const char *topic, size_t tlen, const void *data, size_t len);
        void (*interest)(void *ud, const char *pattern, size_t len, bool on);
} BrokerHooks;
void broker_set_hooks(Broker *b, const BrokerHooks *hooks, void *ud);
/* A publication from another node: to the subscribers here only, as from the node (sender 0). */
int broker_deliver(Broker *b, const char *topic, size_t tlen, const void *data, size_t len);
