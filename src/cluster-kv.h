/* SPDX-License-Identifier: MIT */
/* The requests of global names to their JetStream KV bucket (cluster-names.h), as libnats makes
 * them: each waits for the servers' answer, so they run on cluster-names' KV thread, never on the
 * node's loop. One KvJob is one request and its result. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "cluster-key.h"

/* A refresh found the name held by someone else. */
#define KV_LOST (-ENOLINK)
#define KV_ERROR_MAX 128

typedef enum KvJobType {
        KV_CREATE,    /* create-only: the name is ours, or -EEXIST */
        KV_REFRESH,   /* write again at rev (created again if it expired), or KV_LOST */
        KV_DELETE,    /* a delete marker, only while the key is still at rev */
} KvJobType;

typedef struct KvJob {
        struct KvJob *next;
        KvJobType type;
        uint64_t id;                       /* the caller's */
        char key[CLUSTER_KEY_MAX + 1];
        char value[CLUSTER_VALUE_MAX + 1];
        int value_len;
        uint64_t rev;                      /* REFRESH: the last one known; DELETE: the expected one */
        int result;                        /* 0, -EEXIST, KV_LOST, -ETIMEDOUT, -ENOTCONN */
        uint64_t new_rev;
        char error[KV_ERROR_MAX];          /* libnats' words, for the log */
        bool gone;                         /* nobody answers for the bucket: bind it again */
} KvJob;

/* -ENOTCONN for a connection that is closed or not yet made, else -ETIMEDOUT (no answer, no
 * responders, JetStream unavailable: no quorum now). 0 for NATS_OK. */
int kv_status_errno(natsStatus s);
/* *js, made once for nc, its requests waiting at most wait_ms. */
natsStatus kv_context(natsConnection *nc, int64_t wait_ms, jsCtx **js);
/* *kv bound to bucket, which is made when nobody has made it yet: history 1, keys living ttl_ms
 * past their last write, on 3 servers when the cluster has 3 or more, else on 1. why (why_size):
 * why it could not be made. */
natsStatus kv_bind(const char *bucket, uint64_t ttl_ms, natsConnection *nc, jsCtx *js, kvStore **kv, char *why,
                   size_t why_size);
/* Runs j on kv (and js, for a delete, on bucket): sets j->result, j->new_rev, j->error. */
void kv_job_run(const char *bucket, jsCtx *js, kvStore *kv, KvJob *j);
