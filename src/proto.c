/* SPDX-License-Identifier: MIT */
/* Encoding and decoding of mailbox frames (layout in proto.h and forkvisor-protocol(7)). Bytes
 * only: no I/O, no allocation; the decoder checks every length before it reads past it. */
#include "proto.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

/* proto_encode() returns the frame size as an int, and it always fits. */
_Static_assert(PROTO_FRAME_MAX <= INT_MAX, "a frame size must fit in an int");
_Static_assert(_PROTO_KIND_MAX - 1 <= UINT8_MAX, "a kind must fit in one byte");
_Static_assert(PROTO_TARGET_MAX <= UINT16_MAX && PROTO_PAYLOAD_MAX <= UINT32_MAX,
               "the limits must fit the header's length fields");

/* Little-endian by explicit shifts: no unaligned access, no dependence on the host's byte
 * order. Compilers turn these into single loads and stores on little-endian machines. Every
 * byte is widened to the result type before it is shifted, so no shift overflows an int. */
static inline uint16_t get_le16(const uint8_t *p) {
        return (uint16_t) ((uint16_t) p[0] | (uint16_t) p[1] << 8);
}

static inline uint32_t get_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p) {
        return (uint64_t) get_le32(p) | (uint64_t) get_le32(p + 4) << 32;
}

static inline void put_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

static inline void put_le64(uint8_t *p, uint64_t v) {
        put_le32(p, (uint32_t) v);
        put_le32(p + 4, (uint32_t) (v >> 32));
}

static inline bool kind_is_valid(unsigned kind) {
        return kind >= PROTO_CAST && kind < _PROTO_KIND_MAX;
}

static inline bool flags_are_known(unsigned flags) {
        return (flags & ~(unsigned) PROTO_FLAGS_KNOWN) == 0;
}

int proto_encode(const Frame *f, void *buf, size_t size) {
        uint8_t *p = buf;
        size_t n;

        assert(f);
        assert(f->target || f->target_len == 0);
        assert(f->payload || f->payload_len == 0);

        if (!kind_is_valid(f->kind) || !flags_are_known(f->flags))
                return -EINVAL;
        if (f->target_len > PROTO_TARGET_MAX || f->payload_len > PROTO_PAYLOAD_MAX)
                return -EMSGSIZE;
        n = proto_frame_size(f->target_len, f->payload_len); /* ≤ PROTO_FRAME_MAX */
        if (size < n)
                return -ENOBUFS;
        assert(p);

        p[0] = 'F';
        p[1] = 'V';
        p[2] = PROTO_VERSION;
        p[3] = f->kind;
        put_le16(p + 4, f->flags);
        put_le16(p + 6, (uint16_t) f->target_len);
        put_le32(p + 8, (uint32_t) f->payload_len);
        put_le32(p + 12, f->sender);
        put_le64(p + 16, f->ref);
        put_le32(p + 24, f->timeout_ms);
        put_le32(p + 28, 0);
        /* memcpy() with a NULL pointer is undefined even for 0 bytes. */
        if (f->target_len > 0)
                memcpy(p + PROTO_HEADER_SIZE, f->target, f->target_len);
        if (f->payload_len > 0)
                memcpy(p + PROTO_HEADER_SIZE + f->target_len, f->payload, f->payload_len);
        return (int) n;
}

int proto_decode(const void *buf, size_t len, Frame *f, size_t *consumed) {
        const uint8_t *p = buf;
        size_t target_len, payload_len, n;

        assert(p || len == 0);
        assert(f);
        assert(consumed);

        /* Magic and version are looked at before the header's length, so that a peer speaking
         * another version (whose header may be of another size) is told so. */
        if (len < 3 || p[0] != 'F' || p[1] != 'V')
                return -EBADMSG;
        if (p[2] != PROTO_VERSION)
                return -EPROTONOSUPPORT;
        if (len < PROTO_HEADER_SIZE)
                return -EBADMSG;
        if (!kind_is_valid(p[3]) || !flags_are_known(get_le16(p + 4)) || get_le32(p + 28) != 0)
                return -EBADMSG;

        /* Both lengths are bounded before they are added, so the sum is at most PROTO_FRAME_MAX
         * and cannot wrap, even with a 32-bit size_t. */
        target_len = get_le16(p + 6);
        payload_len = get_le32(p + 8);
        if (target_len > PROTO_TARGET_MAX || payload_len > PROTO_PAYLOAD_MAX)
                return -EBADMSG;
        n = proto_frame_size(target_len, payload_len);
        if (n > len)
                return -EBADMSG;

        *f = (Frame) {
                .kind = p[3],
                .flags = get_le16(p + 4),
                .sender = get_le32(p + 12),
                .ref = get_le64(p + 16),
                .timeout_ms = get_le32(p + 24),
                .target = (const char *) p + PROTO_HEADER_SIZE,
                .target_len = target_len,
                .payload = p + PROTO_HEADER_SIZE + target_len,
                .payload_len = payload_len,
        };
        *consumed = n;
        return 0;
}

static const char *const kind_table[_PROTO_KIND_MAX] = {
        [PROTO_CAST] = "cast",
        [PROTO_CALL] = "call",
        [PROTO_REPLY] = "reply",
        [PROTO_ERROR] = "error",
        [PROTO_INFO] = "info",
        [PROTO_DOWN] = "down",
        [PROTO_READY] = "ready",
        [PROTO_MONITOR] = "monitor",
        [PROTO_HELLO] = "hello",
        [PROTO_GET_STATE] = "get-state",
        [PROTO_REGISTER] = "register",
        [PROTO_UNREGISTER] = "unregister",
        [PROTO_SUBSCRIBE] = "subscribe",
        [PROTO_UNSUBSCRIBE] = "unsubscribe",
        [PROTO_PUBLISH] = "publish",
        [PROTO_WATCHDOG] = "watchdog",
};

/* NULL for a kind that is not one (0, or _PROTO_KIND_MAX and above); proto_decode() never
 * yields one. */
const char *proto_kind_to_string(uint8_t kind) {
        return kind < _PROTO_KIND_MAX ? kind_table[kind] : NULL;
}

/* The direction table: who may send each kind. */
static const uint8_t kind_directions[_PROTO_KIND_MAX] = {
#define TO_NODE (1u << PROTO_TO_NODE)
#define TO_WORKER (1u << PROTO_TO_WORKER)
        [PROTO_CAST] = TO_NODE | TO_WORKER,
        [PROTO_CALL] = TO_NODE | TO_WORKER,
        [PROTO_REPLY] = TO_NODE | TO_WORKER,
        [PROTO_ERROR] = TO_WORKER,
        [PROTO_INFO] = TO_WORKER,
        [PROTO_DOWN] = TO_WORKER,
        [PROTO_READY] = TO_NODE,
        [PROTO_MONITOR] = TO_NODE,
        [PROTO_HELLO] = TO_NODE,
        [PROTO_GET_STATE] = TO_WORKER,
        [PROTO_REGISTER] = TO_NODE,
        [PROTO_UNREGISTER] = TO_NODE,
        [PROTO_SUBSCRIBE] = TO_NODE,
        [PROTO_UNSUBSCRIBE] = TO_NODE,
        [PROTO_PUBLISH] = TO_NODE,
        [PROTO_WATCHDOG] = TO_NODE,
#undef TO_NODE
#undef TO_WORKER
};

bool proto_kind_goes(uint8_t kind, ProtoDirection dir) {
        return kind < _PROTO_KIND_MAX && (kind_directions[kind] & (1u << dir));
}

bool proto_kind_is_request(uint8_t kind) {
        return kind == PROTO_CALL || kind == PROTO_REGISTER || kind == PROTO_UNREGISTER ||
               kind == PROTO_SUBSCRIBE || kind == PROTO_UNSUBSCRIBE;
}

int proto_check_record(const void *buf, size_t len, ProtoDirection dir, size_t n_fds, const char **why) {
        const uint8_t *p = buf;
        size_t off = 0;
        int frames = 0;
        bool wants_fd = false, wrong_way = false;

        assert(p || len == 0);
        assert(why);

        while (off < len) {
                Frame f;
                size_t used;
                int r = proto_decode(p + off, len - off, &f, &used);
                if (r < 0) {
                        *why = r == -EPROTONOSUPPORT ? "unsupported protocol version" : "malformed frame";
                        return r;
                }
                /* Only the node reads the flag: it asks for the answer on the descriptor. */
                if (dir == PROTO_TO_NODE && (f.flags & PROTO_FLAG_REPLY_FD) &&
                    (!proto_kind_is_request(f.kind) || n_fds != 1)) {
                        *why = "reply fd flag without exactly one fd on a request";
                        return -EBADMSG;
                }
                wants_fd = f.flags & PROTO_FLAG_REPLY_FD;
                wrong_way = wrong_way || !proto_kind_goes(f.kind, dir);
                off += used;
                frames++;
        }
        if (frames == 0) {
                *why = "empty record";
                return -EBADMSG;
        }
        if (n_fds > 0 && (dir == PROTO_TO_WORKER || frames != 1 || !wants_fd)) {
                *why = "file descriptors it was not asked for";
                return -EBADMSG;
        }
        if (wrong_way) {
                *why = dir == PROTO_TO_NODE ? "a frame kind only the node may send"
                                            : "a frame kind only workers send";
                return -EBADMSG;
        }
        return frames;
}

typedef struct Refusal {
        bool topic;            /* (UN)SUBSCRIBE, else (UN)REGISTER; both for out of memory */
        int err;
        const char *text;
} Refusal;

static const Refusal refusals[] = {
        { false, EEXIST, "taken: the name is held by another process" },
        { false, ENOSPC, "registry full (see registry_size)" },
        { false, ENOENT, "not registered by this process" },
        { false, EINVAL, "bad name: 1-40 printable characters, no whitespace or '@'" },
        /* Global names (--global, PROTO_FLAG_GLOBAL) only. */
        { false, EOPNOTSUPP, "no cluster: a global name needs a [cluster] section" },
        { false, ENOTCONN, "not connected to NATS" },
        { false, EHOSTUNREACH, "no quorum: the cluster's name store did not answer" },
        { false, EBUSY, "too many global names waiting for the cluster" },
        { false, ENAMETOOLONG, "too long for a global name: NAME@NODE is at most 48 bytes" },
        { true, EINVAL, "bad topic: 1-255 printable characters, no whitespace, '*' only at the end" },
        { true, ENOENT, "not subscribed to this topic" },
        { true, ENOSPC, "too many subscriptions (at most 1024 per process)" },
};

const char *proto_refusal(uint8_t kind, int err) {
        bool topic = kind == PROTO_SUBSCRIBE || kind == PROTO_UNSUBSCRIBE;
        if (err == -ENOMEM)
                return "out of memory";
        for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
                if (refusals[i].topic == topic && -refusals[i].err == err)
                        return refusals[i].text;
        return NULL;
}

int proto_refusal_errno(const void *payload, size_t len) {
        if (len == 13 && memcmp(payload, "out of memory", 13) == 0)
                return -ENOMEM;
        for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
                if (strlen(refusals[i].text) == len && memcmp(refusals[i].text, payload, len) == 0)
                        return -refusals[i].err;
        return -EREMOTEIO;
}
