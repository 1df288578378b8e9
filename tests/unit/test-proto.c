/* SPDX-License-Identifier: MIT */
/* Mailbox frames: round trips, limits, records of several frames, the exact little-endian
 * layout, and every malformed header refused. */
#include "proto.h"
#include "tests.h"

static uint8_t big[PROTO_FRAME_MAX + 64];
static char long_payload[PROTO_PAYLOAD_MAX + 1];
static char long_target[PROTO_TARGET_MAX + 1];

/* A valid CAST frame "web" / "hi" with every header field set, written out by hand. */
static const uint8_t cast_bytes[] = {
        'F',  'V',  0x01, 0x01,              /* magic, version 1, kind CAST */
        0x00, 0x00,                          /* flags */
        0x03, 0x00,                          /* target_len 3 */
        0x02, 0x00, 0x00, 0x00,              /* payload_len 2 */
        0x78, 0x56, 0x34, 0x12,              /* sender 0x12345678 */
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* ref 0x0102030405060708 */
        0x10, 0x27, 0x00, 0x00,              /* timeout_ms 10000 */
        0x00, 0x00, 0x00, 0x00,              /* reserved */
        'w',  'e',  'b',  'h',  'i',
};

static Frame sample(uint8_t kind) {
        return (Frame) {
                .kind = kind,
                .flags = kind == PROTO_CALL    ? PROTO_FLAG_REPLY_FD
                         : kind == PROTO_HELLO ? PROTO_FLAG_BATCH
                                               : 0,
                .sender = 4242,
                .ref = UINT64_C(0xfedcba9876543210),
                .timeout_ms = kind == PROTO_CALL ? 5000 : 0,
                .target = "app/web",
                .target_len = 7,
                .payload = "hello, world",
                .payload_len = 12,
        };
}

/* Copies cast_bytes into buf so that a test can spoil one field. */
static size_t cast_copy(uint8_t *buf) {
        memcpy(buf, cast_bytes, sizeof cast_bytes);
        return sizeof cast_bytes;
}

TEST(round_trip_every_kind) {
        for (unsigned k = PROTO_CAST; k < _PROTO_KIND_MAX; k++) {
                uint8_t buf[128];
                Frame in = sample((uint8_t) k), out;
                size_t consumed = 0;
                int n = proto_encode(&in, buf, sizeof buf);
                ASSERT_EQ(n, PROTO_HEADER_SIZE + 7 + 12);
                ASSERT_OK(proto_decode(buf, (size_t) n, &out, &consumed));
                ASSERT_EQ(consumed, n);
                ASSERT_EQ(out.kind, k);
                ASSERT_EQ(out.flags, in.flags);
                ASSERT_EQ(out.sender, 4242);
                ASSERT_TRUE(out.ref == UINT64_C(0xfedcba9876543210));
                ASSERT_EQ(out.timeout_ms, in.timeout_ms);
                ASSERT_EQ(out.target_len, 7);
                ASSERT_TRUE(memcmp(out.target, "app/web", 7) == 0);
                ASSERT_EQ(out.payload_len, 12);
                ASSERT_TRUE(memcmp(out.payload, "hello, world", 12) == 0);
                /* Decoding points into the record; it copies nothing. */
                ASSERT_TRUE((const uint8_t *) out.target == buf + PROTO_HEADER_SIZE);
                ASSERT_TRUE((const uint8_t *) out.payload == buf + PROTO_HEADER_SIZE + 7);
        }
}

TEST(empty_target_and_payload) {
        uint8_t buf[PROTO_HEADER_SIZE];
        Frame in = { .kind = PROTO_READY }, out;
        size_t consumed;
        ASSERT_EQ(proto_encode(&in, buf, sizeof buf), PROTO_HEADER_SIZE);
        ASSERT_OK(proto_decode(buf, sizeof buf, &out, &consumed));
        ASSERT_EQ(consumed, PROTO_HEADER_SIZE);
        ASSERT_EQ(out.kind, PROTO_READY);
        ASSERT_EQ(out.target_len, 0);
        ASSERT_EQ(out.payload_len, 0);
        ASSERT_EQ(out.ref, 0);
        ASSERT_EQ(out.sender, 0);
}

TEST(maximum_target_and_payload) {
        Frame in = { .kind = PROTO_CAST }, out;
        size_t consumed;
        memset(long_target, 't', sizeof long_target);
        memset(long_payload, 'p', sizeof long_payload);
        long_payload[PROTO_PAYLOAD_MAX - 1] = 'z';
        in.target = long_target;
        in.target_len = PROTO_TARGET_MAX;
        in.payload = long_payload;
        in.payload_len = PROTO_PAYLOAD_MAX;
        ASSERT_EQ(proto_encode(&in, big, PROTO_FRAME_MAX), PROTO_FRAME_MAX);
        ASSERT_OK(proto_decode(big, PROTO_FRAME_MAX, &out, &consumed));
        ASSERT_EQ(consumed, PROTO_FRAME_MAX);
        ASSERT_EQ(out.target_len, PROTO_TARGET_MAX);
        ASSERT_EQ(out.payload_len, PROTO_PAYLOAD_MAX);
        ASSERT_TRUE(memcmp(out.target, long_target, PROTO_TARGET_MAX) == 0);
        ASSERT_TRUE(memcmp(out.payload, long_payload, PROTO_PAYLOAD_MAX) == 0);
}

TEST(over_maximum_refused) {
        Frame in = { .kind = PROTO_CAST };
        in.target = long_target;
        in.target_len = PROTO_TARGET_MAX + 1;
        ASSERT_ERR(proto_encode(&in, big, sizeof big), -EMSGSIZE);
        in.target_len = 0;
        in.payload = long_payload;
        in.payload_len = PROTO_PAYLOAD_MAX + 1;
        ASSERT_ERR(proto_encode(&in, big, sizeof big), -EMSGSIZE);
        /* The size check comes first: a too-small buffer does not hide an over-long payload. */
        ASSERT_ERR(proto_encode(&in, big, 0), -EMSGSIZE);
}

TEST(small_buffer_refused) {
        uint8_t buf[64];
        Frame empty = { .kind = PROTO_READY }, in = sample(PROTO_CAST);
        ASSERT_ERR(proto_encode(&empty, buf, PROTO_HEADER_SIZE - 1), -ENOBUFS);
        ASSERT_ERR(proto_encode(&empty, NULL, 0), -ENOBUFS);
        size_t need = proto_frame_size(in.target_len, in.payload_len);
        ASSERT_ERR(proto_encode(&in, buf, need - 1), -ENOBUFS);
        ASSERT_EQ(proto_encode(&in, buf, need), need);
}

TEST(encode_refuses_unknown_kind_and_flags) {
        uint8_t buf[64];
        Frame in = { .kind = 0 };
        ASSERT_ERR(proto_encode(&in, buf, sizeof buf), -EINVAL);
        in.kind = _PROTO_KIND_MAX;
        ASSERT_ERR(proto_encode(&in, buf, sizeof buf), -EINVAL);
        in.kind = 99;
        ASSERT_ERR(proto_encode(&in, buf, sizeof buf), -EINVAL);
        in.kind = PROTO_CAST;
        in.flags = 0x0008;
        ASSERT_ERR(proto_encode(&in, buf, sizeof buf), -EINVAL);
        in.flags = 0x8000;
        ASSERT_ERR(proto_encode(&in, buf, sizeof buf), -EINVAL);
}

TEST(record_of_several_frames) {
        uint8_t rec[512];
        size_t len = 0, off = 0, consumed;
        Frame in[3] = { sample(PROTO_CAST), sample(PROTO_CALL), { .kind = PROTO_READY } }, out;
        in[1].payload = "x";
        in[1].payload_len = 1;
        for (int i = 0; i < 3; i++) {
                int n = proto_encode(&in[i], rec + len, sizeof rec - len);
                ASSERT_OK(n);
                len += (size_t) n;
        }
        for (int i = 0; i < 3; i++) {
                ASSERT_TRUE(off < len);
                ASSERT_OK(proto_decode(rec + off, len - off, &out, &consumed));
                ASSERT_EQ(out.kind, in[i].kind);
                ASSERT_EQ(out.payload_len, in[i].payload_len);
                ASSERT_EQ(out.ref, in[i].ref);
                off += consumed;
        }
        ASSERT_EQ(off, len);

        /* A record whose last frame is cut short: the whole frames still decode, the rest is
         * refused. */
        len -= 1;
        off = 0;
        for (int i = 0; i < 2; i++) {
                ASSERT_OK(proto_decode(rec + off, len - off, &out, &consumed));
                off += consumed;
        }
        ASSERT_ERR(proto_decode(rec + off, len - off, &out, &consumed), -EBADMSG);
}

TEST(little_endian_layout) {
        uint8_t buf[64];
        Frame in = {
                .kind = PROTO_CAST,
                .sender = 0x12345678,
                .ref = UINT64_C(0x0102030405060708),
                .timeout_ms = 10000,
                .target = "web",
                .target_len = 3,
                .payload = "hi",
                .payload_len = 2,
        }, out;
        size_t consumed;
        ASSERT_EQ(proto_encode(&in, buf, sizeof buf), sizeof cast_bytes);
        ASSERT_TRUE(memcmp(buf, cast_bytes, sizeof cast_bytes) == 0);

        ASSERT_OK(proto_decode(cast_bytes, sizeof cast_bytes, &out, &consumed));
        ASSERT_EQ(consumed, sizeof cast_bytes);
        ASSERT_EQ(out.kind, PROTO_CAST);
        ASSERT_EQ(out.flags, 0);
        ASSERT_EQ(out.sender, 0x12345678);
        ASSERT_EQ(out.ref, 0x0102030405060708);
        ASSERT_EQ(out.timeout_ms, 10000);
        ASSERT_EQ(out.target_len, 3);
        ASSERT_TRUE(memcmp(out.target, "web", 3) == 0);
        ASSERT_EQ(out.payload_len, 2);
        ASSERT_TRUE(memcmp(out.payload, "hi", 2) == 0);

        /* Flags, the high bytes of the lengths and u64 ref, all little-endian. */
        uint8_t hdr[PROTO_HEADER_SIZE + 1] = { 'F', 'V', 1, PROTO_HELLO, 0x02, 0x00, 0x01, 0x00 };
        hdr[16 + 7] = 0x80;
        hdr[24 + 3] = 0xff;
        ASSERT_OK(proto_decode(hdr, sizeof hdr, &out, &consumed));
        ASSERT_EQ(consumed, PROTO_HEADER_SIZE + 1);
        ASSERT_EQ(out.flags, PROTO_FLAG_BATCH);
        ASSERT_EQ(out.target_len, 1);
        ASSERT_TRUE(out.ref == UINT64_C(0x8000000000000000));
        ASSERT_TRUE(out.timeout_ms == UINT32_C(0xff000000));
}

TEST(bad_magic) {
        uint8_t buf[64];
        Frame out;
        size_t consumed;
        size_t n = cast_copy(buf);
        buf[0] = 'f';
        ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EBADMSG);
        n = cast_copy(buf);
        buf[1] = 'W';
        ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EBADMSG);
        ASSERT_ERR(proto_decode("XY", 2, &out, &consumed), -EBADMSG);
        ASSERT_ERR(proto_decode(NULL, 0, &out, &consumed), -EBADMSG);
}

TEST(other_versions) {
        uint8_t buf[64];
        Frame out;
        size_t consumed;
        size_t n = cast_copy(buf);
        buf[2] = 2;
        ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EPROTONOSUPPORT);
        buf[2] = 0;
        ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EPROTONOSUPPORT);
        buf[2] = 0xff;
        ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EPROTONOSUPPORT);
        /* Another version's header may be shorter: the version is what the peer is told. */
        buf[2] = 2;
        ASSERT_ERR(proto_decode(buf, 3, &out, &consumed), -EPROTONOSUPPORT);
}

TEST(truncated_header) {
        Frame out;
        size_t consumed;
        for (size_t len = 0; len < PROTO_HEADER_SIZE; len++)
                ASSERT_ERR(proto_decode(cast_bytes, len, &out, &consumed), -EBADMSG);
}

TEST(lengths_beyond_the_record) {
        uint8_t buf[64];
        Frame out;
        size_t consumed;
        /* Every cut inside target or payload. */
        for (size_t len = PROTO_HEADER_SIZE; len < sizeof cast_bytes; len++)
                ASSERT_ERR(proto_decode(cast_bytes, len, &out, &consumed), -EBADMSG);

        size_t n = cast_copy(buf);
        buf[8] = 3; /* payload_len one past the record */
        ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EBADMSG);
        n = cast_copy(buf);
        buf[11] = 0xff; /* payload_len huge */
        ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EBADMSG);
        n = cast_copy(buf);
        buf[8] = 0;
        buf[6] = 6; /* target_len one past the record */
        ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EBADMSG);
        n = cast_copy(buf);
        buf[7] = 0xff; /* target_len huge */
        ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EBADMSG);
}

TEST(over_maximum_lengths_refused) {
        /* Lengths over the maximum are refused even when the record really holds them. */
        Frame out;
        size_t consumed;
        memset(big, 0, sizeof big);
        memcpy(big, cast_bytes, PROTO_HEADER_SIZE);
        big[6] = (PROTO_TARGET_MAX + 1) & 0xff;
        big[7] = (PROTO_TARGET_MAX + 1) >> 8;
        big[8] = big[9] = big[10] = big[11] = 0;
        ASSERT_ERR(proto_decode(big, sizeof big, &out, &consumed), -EBADMSG);
        big[6] = big[7] = 0;
        big[8] = (PROTO_PAYLOAD_MAX + 1) & 0xff;
        big[9] = ((PROTO_PAYLOAD_MAX + 1) >> 8) & 0xff;
        big[10] = (PROTO_PAYLOAD_MAX + 1) >> 16;
        ASSERT_ERR(proto_decode(big, sizeof big, &out, &consumed), -EBADMSG);
}

TEST(reserved_must_be_zero) {
        uint8_t buf[64];
        Frame out;
        size_t consumed;
        for (size_t i = 28; i < 32; i++) {
                size_t n = cast_copy(buf);
                buf[i] = 0x01;
                ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EBADMSG);
        }
}

TEST(unknown_kinds) {
        uint8_t buf[64];
        Frame out;
        size_t consumed;
        const uint8_t kinds[] = { 0, _PROTO_KIND_MAX, 99, 0xff };
        for (size_t i = 0; i < sizeof kinds; i++) {
                size_t n = cast_copy(buf);
                buf[3] = kinds[i];
                ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EBADMSG);
        }
}

TEST(unknown_flags) {
        uint8_t buf[64];
        Frame out;
        size_t consumed;
        for (unsigned bit = 0; bit < 16; bit++) {
                uint16_t flag = (uint16_t) (1u << bit);
                size_t n = cast_copy(buf);
                buf[4] = (uint8_t) flag;
                buf[5] = (uint8_t) (flag >> 8);
                if (flag & PROTO_FLAGS_KNOWN)
                        ASSERT_OK(proto_decode(buf, n, &out, &consumed));
                else
                        ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EBADMSG);
        }
}

TEST(failed_decode_writes_nothing) {
        uint8_t buf[64];
        Frame out = { .kind = 77, .ref = 99 };
        size_t consumed = 1234;
        size_t n = cast_copy(buf);
        buf[28] = 1;
        ASSERT_ERR(proto_decode(buf, n, &out, &consumed), -EBADMSG);
        ASSERT_EQ(out.kind, 77);
        ASSERT_EQ(out.ref, 99);
        ASSERT_EQ(consumed, 1234);
}

TEST(kind_names) {
        ASSERT_STREQ(proto_kind_to_string(PROTO_CAST), "cast");
        ASSERT_STREQ(proto_kind_to_string(PROTO_CALL), "call");
        ASSERT_STREQ(proto_kind_to_string(PROTO_REPLY), "reply");
        ASSERT_STREQ(proto_kind_to_string(PROTO_ERROR), "error");
        ASSERT_STREQ(proto_kind_to_string(PROTO_INFO), "info");
        ASSERT_STREQ(proto_kind_to_string(PROTO_DOWN), "down");
        ASSERT_STREQ(proto_kind_to_string(PROTO_READY), "ready");
        ASSERT_STREQ(proto_kind_to_string(PROTO_MONITOR), "monitor");
        ASSERT_STREQ(proto_kind_to_string(PROTO_HELLO), "hello");
        ASSERT_STREQ(proto_kind_to_string(PROTO_GET_STATE), "get-state");
        ASSERT_TRUE(proto_kind_to_string(0) == NULL);
        ASSERT_TRUE(proto_kind_to_string(_PROTO_KIND_MAX) == NULL);
        ASSERT_TRUE(proto_kind_to_string(99) == NULL);
        ASSERT_TRUE(proto_kind_to_string(255) == NULL);
}

TEST(refusal_texts_round_trip) {
        static const struct { uint8_t kind; int err; } cases[] = {
                { PROTO_REGISTER, -EEXIST }, { PROTO_REGISTER, -ENOSPC }, { PROTO_UNREGISTER, -ENOENT },
                { PROTO_REGISTER, -EINVAL }, { PROTO_SUBSCRIBE, -EINVAL }, { PROTO_UNSUBSCRIBE, -ENOENT },
                { PROTO_SUBSCRIBE, -ENOSPC }, { PROTO_SUBSCRIBE, -ENOMEM }, { PROTO_REGISTER, -ENOMEM },
                /* Global names. */
                { PROTO_REGISTER, -EOPNOTSUPP }, { PROTO_REGISTER, -ENOTCONN }, { PROTO_REGISTER, -EHOSTUNREACH },
                { PROTO_REGISTER, -EBUSY }, { PROTO_REGISTER, -ENAMETOOLONG },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const char *t = proto_refusal(cases[i].kind, cases[i].err);
                ASSERT_TRUE(t != NULL);
                ASSERT_EQ(proto_refusal_errno(t, strlen(t)), cases[i].err);
        }
        ASSERT_STREQ(proto_refusal(PROTO_REGISTER, -EINVAL), "bad name: 1-40 printable characters, no whitespace or '@'");
        ASSERT_STREQ(proto_refusal(PROTO_SUBSCRIBE, -ENOENT), "not subscribed to this topic");
        ASSERT_TRUE(proto_refusal(PROTO_REGISTER, -ETIMEDOUT) == NULL);
        ASSERT_EQ(proto_refusal_errno("something else", 14), -EREMOTEIO);
}

/* ---- the direction table and the record check ---------------------------------------------- */

/* forkvisor-protocol(7), "Message kinds", written out again: the table must not drift. */
TEST(direction_table) {
        static const struct { uint8_t kind; bool to_node, to_worker; } table[] = {
                { PROTO_CAST, true, true },        { PROTO_CALL, true, true },
                { PROTO_REPLY, true, true },       { PROTO_ERROR, false, true },
                { PROTO_INFO, false, true },       { PROTO_DOWN, false, true },
                { PROTO_READY, true, false },      { PROTO_MONITOR, true, false },
                { PROTO_HELLO, true, false },      { PROTO_GET_STATE, false, true },
                { PROTO_REGISTER, true, false },   { PROTO_UNREGISTER, true, false },
                { PROTO_SUBSCRIBE, true, false },  { PROTO_UNSUBSCRIBE, true, false },
                { PROTO_PUBLISH, true, false },    { PROTO_WATCHDOG, true, false },
        };
        ASSERT_EQ(sizeof table / sizeof table[0], _PROTO_KIND_MAX - 1);
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
                ASSERT_EQ(proto_kind_goes(table[i].kind, PROTO_TO_NODE), table[i].to_node);
                ASSERT_EQ(proto_kind_goes(table[i].kind, PROTO_TO_WORKER), table[i].to_worker);
        }
        const unsigned bad[] = { 0, _PROTO_KIND_MAX, 99, 255 };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                ASSERT_TRUE(!proto_kind_goes((uint8_t) bad[i], PROTO_TO_NODE));
                ASSERT_TRUE(!proto_kind_goes((uint8_t) bad[i], PROTO_TO_WORKER));
        }
}

TEST(requests) {
        for (unsigned k = 0; k <= 255; k++) {
                bool want = k == PROTO_CALL || k == PROTO_REGISTER || k == PROTO_UNREGISTER ||
                            k == PROTO_SUBSCRIBE || k == PROTO_UNSUBSCRIBE;
                ASSERT_EQ(proto_kind_is_request((uint8_t) k), want);
        }
}

/* A record of n frames of these kinds (flags[i] on frame i, when flags is given). */
static size_t record_of(uint8_t *rec, size_t size, const uint8_t *kinds, const uint16_t *flags, size_t n) {
        size_t len = 0;
        for (size_t i = 0; i < n; i++) {
                Frame f = { .kind = kinds[i], .flags = flags ? flags[i] : 0, .target = "t", .target_len = 1 };
                int r = proto_encode(&f, rec + len, size - len);
                if (r < 0)
                        abort();
                len += (size_t) r;
        }
        return len;
}

static const char *check(const uint8_t *rec, size_t len, ProtoDirection dir, size_t n_fds, int *ret) {
        const char *why = "untouched";
        *ret = proto_check_record(rec, len, dir, n_fds, &why);
        return *ret >= 0 ? NULL : why;
}

TEST(check_counts_frames) {
        uint8_t rec[1024];
        int r;
        const uint8_t to_node[] = { PROTO_HELLO, PROTO_CAST, PROTO_CALL, PROTO_REPLY, PROTO_READY, PROTO_PUBLISH };
        size_t len = record_of(rec, sizeof rec, to_node, NULL, 6);
        ASSERT_TRUE(check(rec, len, PROTO_TO_NODE, 0, &r) == NULL);
        ASSERT_EQ(r, 6);
        const uint8_t to_worker[] = { PROTO_INFO, PROTO_DOWN, PROTO_CAST, PROTO_ERROR, PROTO_GET_STATE };
        len = record_of(rec, sizeof rec, to_worker, NULL, 5);
        ASSERT_TRUE(check(rec, len, PROTO_TO_WORKER, 0, &r) == NULL);
        ASSERT_EQ(r, 5);
}

TEST(check_refuses_wrong_direction) {
        uint8_t rec[1024];
        int r;
        /* A node-only kind after good frames: the whole record is refused, none of it is acted
         * on (forkvisor-protocol(7), "Protocol violations"). */
        const uint8_t a[] = { PROTO_CAST, PROTO_CAST, PROTO_DOWN };
        size_t len = record_of(rec, sizeof rec, a, NULL, 3);
        ASSERT_STREQ(check(rec, len, PROTO_TO_NODE, 0, &r), "a frame kind only the node may send");
        ASSERT_EQ(r, -EBADMSG);
        ASSERT_TRUE(check(rec, len, PROTO_TO_WORKER, 0, &r) == NULL);

        const uint8_t b[] = { PROTO_INFO, PROTO_SUBSCRIBE };
        len = record_of(rec, sizeof rec, b, NULL, 2);
        ASSERT_STREQ(check(rec, len, PROTO_TO_WORKER, 0, &r), "a frame kind only workers send");
        ASSERT_EQ(r, -EBADMSG);

        /* Every kind alone, each way, as the table says. */
        for (unsigned k = PROTO_CAST; k < _PROTO_KIND_MAX; k++) {
                uint8_t kind = (uint8_t) k;
                len = record_of(rec, sizeof rec, &kind, NULL, 1);
                ASSERT_EQ(check(rec, len, PROTO_TO_NODE, 0, &r) == NULL, proto_kind_goes(kind, PROTO_TO_NODE));
                ASSERT_EQ(check(rec, len, PROTO_TO_WORKER, 0, &r) == NULL, proto_kind_goes(kind, PROTO_TO_WORKER));
        }
}

TEST(check_refuses_bad_records) {
        uint8_t rec[1024] = { 0 };
        int r;
        ASSERT_STREQ(check(rec, 0, PROTO_TO_NODE, 0, &r), "empty record");
        ASSERT_EQ(r, -EBADMSG);
        ASSERT_STREQ(check(NULL, 0, PROTO_TO_WORKER, 0, &r), "empty record");

        const uint8_t k[] = { PROTO_CAST, PROTO_CAST };
        size_t len = record_of(rec, sizeof rec, k, NULL, 2);
        ASSERT_STREQ(check(rec, len - 1, PROTO_TO_NODE, 0, &r), "malformed frame");
        ASSERT_EQ(r, -EBADMSG);
        ASSERT_STREQ(check(rec, len + 1, PROTO_TO_WORKER, 0, &r), "malformed frame");
        rec[len / 2 + 2] = 2; /* the second frame's version */
        ASSERT_STREQ(check(rec, len, PROTO_TO_NODE, 0, &r), "unsupported protocol version");
        ASSERT_EQ(r, -EPROTONOSUPPORT);
}

TEST(check_reply_fd) {
        uint8_t rec[1024];
        int r;
        /* One request asking for its answer on the descriptor that came with it. */
        const uint8_t requests[] = { PROTO_CALL, PROTO_REGISTER, PROTO_UNREGISTER, PROTO_SUBSCRIBE, PROTO_UNSUBSCRIBE };
        const uint16_t fd_flag[] = { PROTO_FLAG_REPLY_FD, PROTO_FLAG_REPLY_FD };
        for (size_t i = 0; i < sizeof requests; i++) {
                size_t len = record_of(rec, sizeof rec, &requests[i], fd_flag, 1);
                ASSERT_TRUE(check(rec, len, PROTO_TO_NODE, 1, &r) == NULL);
                ASSERT_EQ(r, 1);
                ASSERT_STREQ(check(rec, len, PROTO_TO_NODE, 0, &r), "reply fd flag without exactly one fd on a request");
                ASSERT_STREQ(check(rec, len, PROTO_TO_NODE, 2, &r), "reply fd flag without exactly one fd on a request");
        }
        /* The flag on a kind that is not answered. */
        const uint8_t cast = PROTO_CAST;
        size_t len = record_of(rec, sizeof rec, &cast, fd_flag, 1);
        ASSERT_STREQ(check(rec, len, PROTO_TO_NODE, 1, &r), "reply fd flag without exactly one fd on a request");
        /* A descriptor nobody asked for: without the flag, or with a frame beside the request. */
        const uint8_t call = PROTO_CALL;
        len = record_of(rec, sizeof rec, &call, NULL, 1);
        ASSERT_STREQ(check(rec, len, PROTO_TO_NODE, 1, &r), "file descriptors it was not asked for");
        const uint8_t two[] = { PROTO_CAST, PROTO_CALL };
        const uint16_t second[] = { 0, PROTO_FLAG_REPLY_FD };
        len = record_of(rec, sizeof rec, two, second, 2);
        ASSERT_STREQ(check(rec, len, PROTO_TO_NODE, 1, &r), "file descriptors it was not asked for");
        /* The node never passes a descriptor to a worker, and a worker does not read the flag. */
        len = record_of(rec, sizeof rec, &call, fd_flag, 1);
        ASSERT_STREQ(check(rec, len, PROTO_TO_WORKER, 1, &r), "file descriptors it was not asked for");
        ASSERT_TRUE(check(rec, len, PROTO_TO_WORKER, 0, &r) == NULL);
}

/* Where a record breaks several rules, the reason is the one the node always gave: a frame's
 * own fault first, then the record's (empty, descriptors), then the direction. */
TEST(check_reason_order) {
        uint8_t rec[1024];
        int r;
        const uint8_t k[] = { PROTO_ERROR, PROTO_CAST };
        size_t len = record_of(rec, sizeof rec, k, NULL, 2);
        ASSERT_STREQ(check(rec, len - 1, PROTO_TO_NODE, 0, &r), "malformed frame");
        ASSERT_STREQ(check(rec, len, PROTO_TO_NODE, 1, &r), "file descriptors it was not asked for");
        ASSERT_STREQ(check(rec, len, PROTO_TO_NODE, 0, &r), "a frame kind only the node may send");
}
