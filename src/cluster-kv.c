/* SPDX-License-Identifier: MIT */
/* The KV requests of global names (cluster-kv.h): on cluster-names' KV thread only. */
#include "cluster-kv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kv_status_errno(natsStatus s) {
        switch (s) {
        case NATS_OK:
                return 0;
        case NATS_CONNECTION_CLOSED:
        case NATS_NOT_YET_CONNECTED:
                return -ENOTCONN;
        default:
                /* A timeout, no responders, JetStream unavailable: the name store has no quorum
                 * (or no server) now. Nothing was written that the loop relies on. */
                return -ETIMEDOUT;
        }
}

natsStatus kv_context(natsConnection *nc, int64_t wait_ms, jsCtx **js) {
        jsOptions jo;

        if (*js)
                return NATS_OK;
        jsOptions_Init(&jo);
        jo.Wait = wait_ms;
        return natsConnection_JetStream(js, nc, &jo);
}

static void keep_error(KvJob *j, natsStatus s) {
        snprintf(j->error, sizeof j->error, "%s", nats_GetLastError(NULL) ?: natsStatus_GetText(s));
        /* The bucket's stream is gone (the servers lost their storage): made again next time.
         * A timeout is not that: binding again would only add requests that wait as long. */
        j->gone |= s == NATS_NO_RESPONDERS || s == NATS_NOT_FOUND;
}

/* Made when nobody has made it yet: history 1, keys living ttl_ms, on 3
 * servers when the cluster has 3 or more (so that it survives the loss of one), else on 1. */
natsStatus kv_bind(const char *bucket, uint64_t ttl_ms, natsConnection *nc, jsCtx *js, kvStore **kv, char *why,
                   size_t why_size) {
        natsStatus s;
        char **servers = NULL;
        int count = 0;
        kvConfig cfg;

        if (*kv)
                return NATS_OK;
        s = js_KeyValue(kv, js, bucket);
        if (s != NATS_NOT_FOUND)
                return s;
        if (natsConnection_GetServers(nc, &servers, &count) == NATS_OK) {
                for (int i = 0; i < count; i++)
                        free(servers[i]);
                free(servers);
        }
        kvConfig_Init(&cfg);
        cfg.Bucket = bucket;
        cfg.Description = "forkvisor global names";
        cfg.History = 1;
        cfg.TTL = (int64_t) ttl_ms * 1000000; /* in ns */
        cfg.StorageType = js_FileStorage;
        cfg.Replicas = count >= 3 ? 3 : 1;
        s = js_CreateKeyValue(kv, js, &cfg);
        if (s != NATS_OK) {
                /* Another node made it first? Else why it could not be made is what matters. */
                snprintf(why, why_size, "cannot create the bucket %s: %s", bucket,
                         nats_GetLastError(NULL) ?: natsStatus_GetText(s));
                s = js_KeyValue(kv, js, bucket);
        }
        return s;
}

static bool value_is(kvEntry *e, const char *value, int len) {
        return kvEntry_ValueLen(e) == len && memcmp(kvEntry_Value(e), value, (size_t) len) == 0;
}

/* Create-only: 0 and the revision, -EEXIST (somebody holds it), or why not. */
static int kv_create(kvStore *kv, KvJob *j) {
        kvEntry *e = NULL;
        natsStatus s = kvStore_Create(&j->new_rev, kv, j->key, j->value, j->value_len);

        if (s == NATS_OK)
                return 0;
        keep_error(j, s);
        if (s != NATS_ERR)
                return kv_status_errno(s);
        /* Refused: the key holds a value (libnats' create writes over a deleted one), or
         * something else went wrong. Whose value, if it can be read: an earlier create of ours
         * whose answer was lost is ours. */
        bool held = strstr(j->error, "wrong last sequence");
        s = kvStore_Get(&e, kv, j->key);
        if (s != NATS_OK)
                return held ? -EEXIST : kv_status_errno(s == NATS_NOT_FOUND ? NATS_ERR : s);
        /* Ours already: an earlier create whose answer was lost. */
        int r = value_is(e, j->value, j->value_len) ? 0 : -EEXIST;
        j->new_rev = kvEntry_Revision(e);
        kvEntry_Destroy(e);
        return r;
}

/* An update at the revision we wrote last; when the key moved on: ours still (a write of ours
 * whose answer was lost) is updated there, gone (expired while the servers were away) is
 * created again, another holder's is LOST. */
static int kv_refresh(kvStore *kv, KvJob *j) {
        kvEntry *e = NULL;
        natsStatus s = kvStore_Update(&j->new_rev, kv, j->key, j->value, j->value_len, j->rev);

        if (s == NATS_OK)
                return 0;
        keep_error(j, s);
        if (s != NATS_ERR)
                return kv_status_errno(s);
        s = kvStore_Get(&e, kv, j->key);
        if (s == NATS_NOT_FOUND) {
                int r = kv_create(kv, j);
                return r == -EEXIST ? KV_LOST : r;
        }
        if (s != NATS_OK)
                return kv_status_errno(s);
        bool ours = value_is(e, j->value, j->value_len);
        uint64_t rev = kvEntry_Revision(e);
        kvEntry_Destroy(e);
        if (!ours)
                return KV_LOST;
        s = kvStore_Update(&j->new_rev, kv, j->key, j->value, j->value_len, rev);
        return kv_status_errno(s);
}

/* A delete marker, only if the key is still at the revision we wrote (never another holder's). */
static int kv_delete(const char *bucket, jsCtx *js, KvJob *j) {
        char subject[CLUSTER_BUCKET_MAX + CLUSTER_KEY_MAX + 8];
        natsMsg *m = NULL;
        jsPubAck *ack = NULL;
        jsPubOptions po;
        jsErrCode err = 0;
        natsStatus s;

        snprintf(subject, sizeof subject, "$KV.%s.%s", bucket, j->key);
        s = natsMsg_Create(&m, subject, NULL, NULL, 0);
        if (s == NATS_OK)
                s = natsMsgHeader_Set(m, "KV-Operation", "DEL");
        if (s == NATS_OK) {
                jsPubOptions_Init(&po);
                po.ExpectLastSubjectSeq = j->rev;
                s = js_PublishMsg(&ack, js, m, &po, &err);
        }
        if (s != NATS_OK)
                keep_error(j, s);
        jsPubAck_Destroy(ack);
        natsMsg_Destroy(m);
        return err == JSStreamWrongLastSequenceErr ? -EEXIST : kv_status_errno(s);
}

void kv_job_run(const char *bucket, jsCtx *js, kvStore *kv, KvJob *j) {
        switch (j->type) {
        case KV_CREATE:
                j->result = kv_create(kv, j);
                break;
        case KV_REFRESH:
                j->result = kv_refresh(kv, j);
                break;
        case KV_DELETE:
                j->result = kv_delete(bucket, js, j);
                break;
        }
}
