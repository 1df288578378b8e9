/* SPDX-License-Identifier: MIT */
/* Global names of a cluster (forkvisor-cluster(7), "GLOBAL NAMES"): NAME → (node, pid,
 * incarnation) in the JetStream KV bucket PREFIX-names (cluster-key.h), written create-only so
 * that one process of the cluster holds a name, and mirrored by every node into its registry
 * ("NAME@NODE", REGISTRY_REMOTE), where whereis, the router and the library find it without a
 * message to anyone.
 *
 * libnats' KV calls wait for the server's answer: they run on a thread of this file (one request
 * at a time, from a bounded queue), and their results are handed to the loop through the
 * cluster's nats-loop queue, like every other thing libnats does. A second thread watches the
 * bucket and hands every change to the loop the same way. Everything else (the names held here,
 * the mirror, the registry) is the loop's alone.
 *
 * A holder refreshes its keys every heartbeat; the bucket forgets a key 3 heartbeats after its
 * last write (its TTL), and the mirrors drop a name when its node goes down or its key has not
 * been refreshed for as long. A process that ends or unregisters deletes its keys at once. */
#pragma once

#include <stdint.h>

#include "cluster.h"
#include "registry.h"
#include "router.h"

/* Global names held by this node's processes (waiting for the cluster included). */
#define CLUSTER_NAMES_HELD_MAX 1024
/* Other nodes' names mirrored here; beyond, a name is not mirrored and counted as dropped. */
#define CLUSTER_NAMES_MIRRORED_MAX 4096
/* Requests waiting for the KV thread. */
#define CLUSTER_NAMES_QUEUE_MAX 4096
/* How long one KV request may wait for the servers. */
#define CLUSTER_NAMES_REQUEST_MS 2000

typedef struct ClusterNames ClusterNames;

/* Global names on c's connection, through r (its RouterGlobal hooks are set), written into reg,
 * ticking on e every heartbeat: all borrowed, and must outlive it. */
int cluster_names_new(sd_event *e, Cluster *c, Router *r, Registry *reg, ClusterNames **ret);
/* Stops its threads (a KV request in flight is waited for, at most CLUSTER_NAMES_REQUEST_MS). */
ClusterNames *cluster_names_free(ClusterNames *n);

/* The worker pid (incarnation) takes name, from its configuration (register_global): nobody waits
 * for the answer; a refusal is logged. */
void cluster_names_take(ClusterNames *n, const char *name, pid_t pid, uint32_t incarnation);
