/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the mailbox frame decoder: the input is one record, decoded frame by
 * frame as the node does; every frame that decodes must re-encode to the same fields. */
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

        for (size_t off = 0; off < size;) {
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
        }
        free(buf);
        return 0;
}
