/* SPDX-License-Identifier: MIT */
/* The node in a cluster over NATS ([cluster], forkvisor-cluster(7)): its two connections
 * (control and traffic), which never block the loop (made on a thread of its own, then driven
 * by the loop through nats-loop.h), reconnect for ever across the listed servers, a heartbeat
 * on PREFIX.node.NODE.heartbeat, and the other nodes heard on PREFIX.node.*.heartbeat: up at
 * their first heartbeat, down when silent for CLUSTER_SILENT_BEATS of their heartbeats. Events cluster:connected,
 * cluster:disconnected, node:up and node:down (events.h). Everything here runs on the loop
 * thread. A node without [cluster] makes no Cluster: libnats is never started. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>
#include <systemd/sd-event.h>

#include "events.h"
#include "nats-loop.h"
#include "router.h"
#include "spec.h"
#include "time-util.h"

#define CLUSTER_SILENT_BEATS 3
/* Nodes remembered: a heartbeat of a node beyond them is counted as dropped. */
#define CLUSTER_NODES_MAX 1024

typedef enum ClusterState {
        CLUSTER_CONNECTING,    /* no server reached yet since start */
        CLUSTER_CONNECTED,
        CLUSTER_DISCONNECTED,  /* lost its server, trying the others */
        CLUSTER_CLOSED,        /* given up for good (a bad credential), or shut down */
        _CLUSTER_STATE_MAX,
} ClusterState;

const char *cluster_state_to_string(ClusterState s);

typedef struct Cluster Cluster;

/* Starts connecting (in the background) with cfg (copied); events (borrowed) publishes what
 * happens. -EINVAL (logged) when the node has no valid name. */
int cluster_new(sd_event *e, Events *events, const ClusterConfig *cfg, Cluster **ret);
/* Federates router's pub/sub (borrowed; it outlives c) across the cluster. */
int cluster_attach_router(Cluster *c, Router *router);
/* Once the loop has finished: writes what libnats holds for the server, as far as the socket
 * takes it, and closes the connection, so that whatever still waits for an answer from NATS on
 * another thread (a global name's request) gets its error at once. Idempotent. */
void cluster_close(Cluster *c);
/* Closes the connection and waits for libnats' threads (bounded). */
Cluster *cluster_free(Cluster *c);

typedef struct ClusterCounters {
        uint64_t in;           /* messages received */
        uint64_t out;          /* messages published */
        uint64_t dropped;      /* not published (no room in the reconnect buffer) or not taken in */
        uint64_t reconnects;
        /* Federated pub/sub (cluster-pubsub.h): publications delivered here from other nodes,
         * sent out, dropped, not delivered twice; the patterns subscribed to on NATS. */
        uint64_t pub_in, pub_out, pub_dropped, pub_duplicates, pub_patterns;
        /* All the connection carried (heartbeats, calls, publications, events), as libnats
         * counts it; what was counted up to the last time it was connected. */
        uint64_t wire_msgs_in, wire_msgs_out, wire_bytes_in, wire_bytes_out;
} ClusterCounters;

typedef struct ClusterNode {
        const char *name;
        bool up;
        usec_t last_heard;     /* CLOCK_MONOTONIC */
        uint64_t heartbeat_ms; /* as the node says it beats */
        uint64_t run;          /* its run, as its heartbeat says (0: a node that does not say) */
} ClusterNode;

const char *cluster_node_name(const Cluster *c);
ClusterState cluster_state(const Cluster *c);
/* The URL of the server in use, or NULL when not connected. */
const char *cluster_server(const Cluster *c);
uint64_t cluster_heartbeat_ms(const Cluster *c);
void cluster_counters(const Cluster *c, ClusterCounters *ret);
/* The other nodes heard, in the order first heard. */
size_t cluster_n_nodes(const Cluster *c);
const ClusterNode *cluster_nodes(const Cluster *c);

/* For what rides on the node's connection (cluster-rpc.c): called on the loop thread. */
typedef struct ClusterHooks {
        /* The first connect has returned: cluster_connection() and cluster_traffic_connection()
         * are set (they may still be trying). */
        void (*connection)(void *ud);
        /* A node fell silent (node:down). */
        void (*node_down)(void *ud, const char *node);
} ClusterHooks;

void cluster_set_hooks(Cluster *c, const ClusterHooks *hooks, void *ud);
/* The control connection (heartbeats, global names), or NULL until the first connect has
 * returned (or when it failed for good). Its state is cluster_state(). */
natsConnection *cluster_connection(const Cluster *c);
/* The traffic connection (calls, casts, replies, monitors, publications), the same way: a
 * flood of traffic never delays what the control connection carries. */
natsConnection *cluster_traffic_connection(const Cluster *c);
/* The traffic connection is up. */
bool cluster_traffic_connected(const Cluster *c);
NatsLoop *cluster_nats_loop(const Cluster *c);
const char *cluster_prefix(const Cluster *c);
/* Node name (len bytes) is heard and not silent. */
bool cluster_node_is_up(const Cluster *c, const char *name, size_t len);
/* Counts a message not published or not taken in. */
void cluster_count_dropped(Cluster *c);
/* Counts a message published / received. */
void cluster_count_out(Cluster *c);
void cluster_count_in(Cluster *c);
