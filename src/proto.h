/* SPDX-License-Identifier: MIT */
/* The mailbox wire format, shared by the node, libforkvisor and the CLI; documented byte by
 * byte in forkvisor-protocol(7). Bytes only: no I/O, no allocation, no logging.
 *
 * A record is one SOCK_SEQPACKET packet holding one or more frames back to back. A frame is a
 * 32-byte header, then `target_len` bytes of target (a name or a topic), then `payload_len`
 * bytes of payload. All integers are little-endian:
 *
 *   0  u8[2] magic "FV"        16 u64 ref         (call reference; 0 when unused)
 *   2  u8    version (1)       24 u32 timeout_ms  (CALL: how long the caller waits; else 0)
 *   3  u8    kind              28 u32 reserved    (0)
 *   4  u16   flags             32 target bytes, then payload bytes
 *   6  u16   target_len
 *   8  u32   payload_len
 *   12 u32   sender            (pid of the sending process, filled in by the node; 0 from workers)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1
#define PROTO_HEADER_SIZE 32
#define PROTO_TARGET_MAX 255
#define PROTO_PAYLOAD_MAX 65536
/* The largest frame, and so the largest record a peer must be ready to receive. Batched
 * records are filled up to this size. */
#define PROTO_FRAME_MAX (PROTO_HEADER_SIZE + PROTO_TARGET_MAX + PROTO_PAYLOAD_MAX)
#define PROTO_RECORD_MAX PROTO_FRAME_MAX

typedef enum ProtoKind {
        PROTO_CAST = 1,        /* one-way message; worker→node: target = name or pid */
        PROTO_CALL = 2,        /* expects one REPLY or ERROR with the same ref */
        PROTO_REPLY = 3,       /* answer to a CALL (or GET_STATE); target empty */
        PROTO_ERROR = 4,       /* a call failed: payload is the reason ("noproc", "timeout", ...) */
        PROTO_INFO = 5,        /* node→worker: anything else (published messages, events) */
        PROTO_DOWN = 6,        /* node→worker: a monitored process terminated; target = its name,
                                * payload = the reason */
        PROTO_READY = 7,       /* worker→node: ready (for ready = mailbox) */
        PROTO_MONITOR = 8,     /* worker→node: send me DOWN when target terminates */
        PROTO_HELLO = 9,       /* worker→node: capabilities in flags (PROTO_FLAG_BATCH) */
        PROTO_GET_STATE = 10,  /* node→worker: answer with REPLY carrying format_state's text */
        PROTO_REGISTER = 11,   /* worker→node: hold target as a name ("+key" for a duplicate key);
                                * answered with REPLY "ok" or ERROR with the reason, same ref */
        PROTO_UNREGISTER = 12, /* worker→node: let go of target; answered like REGISTER */
        PROTO_SUBSCRIBE = 13,  /* worker→node: receive what is published on target (a topic, or a
                                * prefix and '*'); answered like REGISTER */
        PROTO_UNSUBSCRIBE = 14,/* worker→node: end that subscription; answered like REGISTER */
        PROTO_PUBLISH = 15,    /* worker→node: payload to every subscriber of topic target, each
                                * receiving it as INFO with the topic as target */
        PROTO_WATCHDOG = 16,   /* worker→node: a watchdog keep-alive (fv_watchdog; sent only to a
                                * node that gave the worker WATCHDOG_USEC, so never to an older one) */
        _PROTO_KIND_MAX,
} ProtoKind;

/* flags */
#define PROTO_FLAG_REPLY_FD 0x0001 /* CALL, (UN)REGISTER, (UN)SUBSCRIBE: one fd (SCM_RIGHTS) came with this
                                    * record; the answer goes there instead of to the mailbox */
#define PROTO_FLAG_BATCH 0x0002    /* HELLO: this worker reads records of several frames */
#define PROTO_FLAG_GLOBAL 0x0004   /* (UN)REGISTER: a global name of the cluster ([cluster]), answered
                                    * when the cluster's name store has answered */
#define PROTO_FLAGS_KNOWN (PROTO_FLAG_REPLY_FD | PROTO_FLAG_BATCH | PROTO_FLAG_GLOBAL)

typedef struct Frame {
        uint8_t kind;
        uint16_t flags;
        uint32_t sender;
        uint64_t ref;
        uint32_t timeout_ms;
        const char *target;    /* not NUL-terminated; points into the record */
        size_t target_len;
        const void *payload;   /* points into the record */
        size_t payload_len;
} Frame;

/* The encoded size of a frame with these lengths. */
static inline size_t proto_frame_size(size_t target_len, size_t payload_len) {
        return PROTO_HEADER_SIZE + target_len + payload_len;
}

/* The size of the frame whose header starts at hdr (at least PROTO_HEADER_SIZE readable bytes),
 * from its length fields alone: for walking frames that we encoded ourselves. */
static inline size_t proto_encoded_size(const void *hdr) {
        const unsigned char *h = hdr;
        size_t target_len = (size_t) h[6] | (size_t) h[7] << 8;
        size_t payload_len = (size_t) h[8] | (size_t) h[9] << 8 | (size_t) h[10] << 16 | (size_t) h[11] << 24;
        return PROTO_HEADER_SIZE + target_len + payload_len;
}

/* Writes f at buf. Returns the bytes written, -EMSGSIZE when target or payload is over its
 * maximum, -ENOBUFS when size is too small, -EINVAL for an unknown kind or flag. */
int proto_encode(const Frame *f, void *buf, size_t size);

/* Reads the frame at the start of buf[0..len). On success fills *f (pointing into buf) and
 * *consumed. Errors: -EBADMSG (bad magic, truncated, lengths beyond the record, unknown kind,
 * non-zero reserved, unknown flags, over-long target or payload), -EPROTONOSUPPORT (another
 * version). Never reads outside buf[0..len). */
int proto_decode(const void *buf, size_t len, Frame *f, size_t *consumed);

const char *proto_kind_to_string(uint8_t kind);

/* Which way a frame goes: the direction table of forkvisor-protocol(7) ("Message kinds"). */
typedef enum ProtoDirection {
        PROTO_TO_NODE,         /* from a worker (or a client of the control socket) to the node */
        PROTO_TO_WORKER,       /* from the node to a worker */
} ProtoDirection;

/* Whether a frame of this kind may go that way (CAST, CALL and REPLY go both ways). False for a
 * kind that is not one. */
bool proto_kind_goes(uint8_t kind, ProtoDirection dir);
/* Whether the node answers this kind with a REPLY or an ERROR of the same ref: the kinds that
 * may carry PROTO_FLAG_REPLY_FD (CALL, REGISTER, UNREGISTER, SUBSCRIBE, UNSUBSCRIBE). */
bool proto_kind_is_request(uint8_t kind);

/* Checks a whole record (one packet) going `dir` before any frame of it is acted on: at least
 * one frame, every frame well-formed and of a kind that goes that way. n_fds descriptors came
 * with it: to the node, only with a record of exactly one request carrying PROTO_FLAG_REPLY_FD
 * (and that flag only with exactly one); to a worker, never. Returns the number of frames, or
 * -EPROTONOSUPPORT (a frame of another version) or -EBADMSG, with a static reason in *why. */
int proto_check_record(const void *buf, size_t len, ProtoDirection dir, size_t n_fds, const char **why);

/* Why the node refuses a REGISTER or UNREGISTER (names) or a SUBSCRIBE or UNSUBSCRIBE (topics):
 * the ERROR payload for -err, one text per reason for the node, the library and the CLI alike;
 * NULL for an error that is not one of them. And back: the -errno of such a payload, or
 * -EREMOTEIO for a text this version does not know. */
const char *proto_refusal(uint8_t kind, int err);
int proto_refusal_errno(const void *payload, size_t len);
