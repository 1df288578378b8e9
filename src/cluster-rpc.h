/* SPDX-License-Identifier: MIT */
/* Calls, casts and monitors to NAME@NODE across a cluster (forkvisor-cluster(7)). Every node
 * listens on PREFIX.rpc.NODE; a message names the node it comes from, and whatever answers it
 * (a REPLY, an ERROR, a DOWN) goes to PREFIX.rpc.FROM. The caller's node keeps the call's
 * deadline (router.c) and matches the answer by the call's reference; the callee's node makes
 * an ordinary call of the local process NAME (router_call()) and sends back its answer. A monitor
 * of NAME@NODE is kept on both sides: NODE sends a DOWN with the exit reason, and the caller's
 * node delivers "noconnection" itself when NODE falls silent. Nothing here waits for NATS: a
 * message is only appended to libnats' buffer, and only while connected. Everything is bounded:
 * calls and monitors in flight, per node and in all, are capped (refused, and counted with what
 * could not be sent in the cluster's messages_dropped). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "router.h"

/* Remote calls in flight to one node; beyond, a call is refused ("too many calls"). */
#define CLUSTER_RPC_CALLS_PER_NODE 1024
/* Calls from other nodes being served here, and monitors either way. */
#define CLUSTER_RPC_SERVED_MAX 4096
#define CLUSTER_RPC_MONITORS_MAX 4096

typedef enum RpcKind {
        RPC_CALL = 1,  /* ref: the caller's; name, timeout, data */
        RPC_CAST,      /* name, data */
        RPC_REPLY,     /* ref: the call's; data */
        RPC_ERROR,     /* ref: the call's; data: the reason */
        RPC_MONITOR,   /* ref: the monitor's id on the watching node; name */
        RPC_DOWN,      /* ref: the monitor's id; data: the exit reason */
        RPC_GET_STATE, /* as RPC_CALL, answered by the process's state */
        RPC_DEMONITOR, /* ref: the monitor's id: its owner has ended */
        _RPC_KIND_MAX,
} RpcKind;

typedef struct RpcMsg {
        uint8_t kind;
        uint64_t ref;
        uint32_t timeout_ms;
        const char *from;      /* the sending node */
        size_t from_len;
        const char *name;      /* the process's name on the receiving node */
        size_t name_len;
        const void *data;
        size_t len;
} RpcMsg;

/* Header: version, kind, ref (8, little-endian), timeout (4), from length (1), name length (2). */
#define RPC_HEADER 17
#define RPC_VERSION 1
#define RPC_MSG_MAX (RPC_HEADER + 255 + 65535 + 65536)

/* The bytes of m in buf (size n): their number, or -EINVAL (a length out of range), -ENOBUFS. */
int rpc_encode(const RpcMsg *m, void *buf, size_t n);
/* m points into buf: 0, or -EBADMSG (short, bad version or kind, lengths that do not add up, a
 * sender that is no node name). */
int rpc_decode(const void *buf, size_t n, RpcMsg *m);

typedef struct ClusterRpc ClusterRpc;

/* Listens on c's connection (once it is made) and routes NAME@NODE through r: both borrowed,
 * and must outlive it. */
int cluster_rpc_new(Cluster *c, Router *r, ClusterRpc **ret);
/* Forgets every call and monitor (the router's deadlines end the calls of local callers). */
ClusterRpc *cluster_rpc_free(ClusterRpc *rpc);
