/* SPDX-License-Identifier: MIT */
/* libFuzzer target for what a node reads from NATS, which any client of the servers can send:
 * the first byte chooses the decoder, the rest is the message.
 *   0: an RPC message (rpc_decode); one that decodes must re-encode to the same bytes' fields.
 *   1: a batch of federated publications (cluster_header_parse, cluster_record_next): the data
 *      and every publication must lie inside it.
 *   2: a subject (cluster_subject_to_topic); a topic it gives must map back to the same subject. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-rpc.h"
#include "cluster-subject.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "fv"

static uint8_t out[RPC_MSG_MAX];

static void rpc(const uint8_t *buf, size_t n) {
        RpcMsg m, m2;
        if (rpc_decode(buf, n, &m) < 0)
                return;
        int k = rpc_encode(&m, out, sizeof out);
        if (k < 0 || rpc_decode(out, (size_t) k, &m2) < 0)
                abort();
        if (m.kind != m2.kind || m.ref != m2.ref || m.timeout_ms != m2.timeout_ms || m.from_len != m2.from_len ||
            m.name_len != m2.name_len || m.len != m2.len || memcmp(m.from, m2.from, m.from_len) != 0 ||
            memcmp(m.name, m2.name, m.name_len) != 0 || (m.len && memcmp(m.data, m2.data, m.len) != 0))
                abort();
}

static void header(const uint8_t *buf, size_t n) {
        ClusterHeader h;
        if (cluster_header_parse((const char *) buf, n, &h) < 0)
                return;
        if (h.data_offset > n || h.node_len == 0 || h.node < (const char *) buf ||
            h.node + h.node_len > (const char *) buf + n)
                abort();
        /* The batch's publications: each inside the message, the offset always moving on. */
        size_t off = h.data_offset, len;
        const char *p;
        int k;
        while ((k = cluster_record_next((const char *) buf, n, &off, &p, &len)) > 0)
                if (p < (const char *) buf || p + len > (const char *) buf + n || off > n)
                        abort();
}

static void subject(const uint8_t *data, size_t n) {
        char topic[TOPIC_MAX + 1], again[CLUSTER_SUBJECT_SIZE(sizeof PREFIX)];
        char *s = malloc(n + 1);
        if (!s)
                return;
        memcpy(s, data, n);
        s[n] = '\0';
        int k = cluster_subject_to_topic(PREFIX, s, topic, sizeof topic);
        if (k >= 0) {
                if ((size_t) k != strlen(topic))
                        abort();
                int j = cluster_subject_of_topic(PREFIX, topic, (size_t) k, again, sizeof again);
                if (j < 0 || strcmp(again, s) != 0)
                        abort();
        }
        free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        /* An exact-size copy, so ASan sees any read past the message. */
        size_t n = size - 1;
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf)
                return 0;
        memcpy(buf, data + 1, n);
        switch (data[0] % 3) {
        case 0:
                rpc(buf, n);
                break;
        case 1:
                header(buf, n);
                break;
        default:
                subject(buf, n);
                break;
        }
        free(buf);
        return 0;
}
