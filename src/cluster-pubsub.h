/* SPDX-License-Identifier: MIT */
/* Pub/sub across the cluster (forkvisor-cluster(7)): every publication made on this node (by a
 * worker, `forkvisor publish` or the library) goes out on NATS as well, on the subject of its
 * topic (cluster-subject.h); the node subscribes on NATS to the patterns its own subscribers
 * hold, and only while they hold them, so the servers send it only what somebody here wants.
 * What comes in is delivered to the subscribers here only, never published again. Topics
 * forkvisor:* (the node's own events) stay on their node as publications; the tree's events
 * (started, exited, restarting, gave_up, reload) go out on PREFIX.event.NODE.EVENT with a
 * "node", and come in, while somebody here subscribes to forkvisor-cluster:* (`events
 * --cluster`), on forkvisor-cluster:EVENT.
 *
 * Each publication carries its node, that node's run and a number: a node drops its own (the
 * connection asks the servers for no echo anyway) and what it has had already (two of its
 * patterns match one topic: libnats delivers each subscription's messages on a thread of its
 * own, so the two copies come in either order). A publisher's order holds per pattern.
 * Everything here runs on the loop thread but the message callback, which only posts to the
 * loop (nats-loop.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <nats/nats.h>

#include "nats-loop.h"
#include "router.h"

typedef struct ClusterPubsub ClusterPubsub;

/* Hooks itself on router's broker (borrowed, like loop); node and prefix are copied. */
int cluster_pubsub_new(sd_event *e, Router *router, NatsLoop *loop, const char *node, const char *prefix,
                       ClusterPubsub **ret);
/* Sends the batch being filled (done after every pass of the loop, and before the connection
 * is closed). */
void cluster_pubsub_flush(ClusterPubsub *ps);
/* Unhooks from the broker and ends the NATS subscriptions: before the connection is closed. */
void cluster_pubsub_close(ClusterPubsub *ps);
/* After nats_CloseAndWait(), before nats_loop_free(): nothing may post any more. */
ClusterPubsub *cluster_pubsub_free(ClusterPubsub *ps);

/* The connection (NULL until made) and whether it is up now: publishing, subscribing and
 * unsubscribing happen only while it is (libnats subscribes again after a reconnect). */
void cluster_pubsub_set_connection(ClusterPubsub *ps, natsConnection *nc, bool connected);

typedef struct ClusterPubsubCounters {
        uint64_t in;           /* publications from other nodes delivered here */
        uint64_t out;          /* publications sent to NATS */
        uint64_t dropped;      /* not sent (not connected, libnats' buffer full), or not taken in */
        uint64_t duplicates;   /* had already, or our own: not delivered again */
        uint64_t patterns;     /* patterns subscribed to on NATS now */
} ClusterPubsubCounters;
void cluster_pubsub_counters(const ClusterPubsub *ps, ClusterPubsubCounters *ret);
