/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the mailbox frame decoder: the input is one record, decoded frame by
 * frame as the node does; every frame that decodes must re-encode to the same fields, and the
 * record check accepts the record exactly when every frame decodes (and goes that way). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[PROTO_FRAME_MAX];

static void check_same(const Frame *a, const Frame *b) {
        if (a->kind != b->kind || a->flags != b->flags || a->sender != b->sender || a->ref != b->ref ||
            a->timeout_ms != b->timeout_ms || a->target_len != b->target_len ||
            a->payload_len != b->payload_len || memcmp(a->target, b->target, a->target_len) != 0 ||
            memcmp(a->payload, b->payload, a->payload_len) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > PROTO_RECORD_MAX)
                return 0;
        /* An exact-size copy, so ASan sees any read past the record. */
        uint8_t *buf = malloc(size ? size : 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);

        const char *why;
        int to_node = proto_check_record(buf, size, PROTO_TO_NODE, 0, &why);
        int to_worker = proto_check_record(buf, size, PROTO_TO_WORKER, 0, &why);
        int frames = 0;
        bool node_ok = true, worker_ok = true;
        size_t off = 0;
        while (off < size) {
                Frame f, g;
                size_t consumed, again;
                if (proto_decode(buf + off, size - off, &f, &consumed) < 0)
                        break;
                if (consumed < PROTO_HEADER_SIZE || consumed > size - off)
                        abort();
                /* Re-encoding reads every byte the frame's pointers claim, so ASan checks them
                 * too; a decoded frame must come out byte for byte as it went in. */
                int n = proto_encode(&f, out, sizeof out);
                if (n < 0 || (size_t) n != consumed || memcmp(out, buf + off, consumed) != 0)
                        abort();
                if (proto_decode(out, (size_t) n, &g, &again) < 0 || again != consumed)
                        abort();
                check_same(&f, &g);
                off += consumed;
                frames++;
                node_ok = node_ok && proto_kind_goes(f.kind, PROTO_TO_NODE) && !(f.flags & PROTO_FLAG_REPLY_FD);
                worker_ok = worker_ok && proto_kind_goes(f.kind, PROTO_TO_WORKER);
        }
        bool whole = off == size && frames > 0;
        if ((to_node >= 0) != (whole && node_ok) || (to_worker >= 0) != (whole && worker_ok) ||
            (to_node >= 0 && to_node != frames) || (to_worker >= 0 && to_worker != frames))
                abort();
        free(buf);
        return 0;
}
