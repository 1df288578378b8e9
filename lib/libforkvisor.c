/* SPDX-License-Identifier: MIT */
/* libforkvisor: the worker's end of its mailbox (see forkvisor.h and forkvisor(3)). Frames out
 * are batched into one record per loop pass; records in are checked whole before any frame of
 * them is delivered. Registry lookups read the node's table (src/registry.c, compiled in) from
 * a read-only mapping of FORKVISOR_REGISTRY. Not thread-safe; no global state except
 * fv_server_run()'s signal pipe. */
#include "forkvisor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "proto.h"
#include "registry.h"
#include "topic.h"

_Static_assert(FV_TARGET_MAX == PROTO_TARGET_MAX && FV_PAYLOAD_MAX == PROTO_PAYLOAD_MAX,
               "forkvisor.h and proto.h agree on the limits");
_Static_assert((int) FV_CAST == PROTO_CAST && (int) FV_CALL == PROTO_CALL && (int) FV_REPLY == PROTO_REPLY &&
               (int) FV_ERROR == PROTO_ERROR && (int) FV_INFO == PROTO_INFO && (int) FV_DOWN == PROTO_DOWN &&
               (int) FV_GET_STATE == PROTO_GET_STATE, "fv_kind is the wire's kind");

/* How long fv_call() waits beyond its timeout for the node's own "timeout" answer before it
 * gives up by itself (a node that died, or a lost answer). */
#define CALL_GRACE_MS 1000
/* How long fv_register() waits for the node, which answers at once unless it is stuck. */
#define REQUEST_TIMEOUT_MS 5000

#define FV_FLAGS_KNOWN (FV_NOBATCH | FV_PRIVATE_CALLS)

struct fv {
        int fd;                      /* owned: the mailbox */
        unsigned flags;
        int term_fd;                 /* borrowed: fv_server_run()'s signal pipe, else -1 */
        bool terminated;             /* term_fd was readable */
        uint64_t next_ref;

        char *out;                   /* frames not sent yet, [0, out_len); PROTO_RECORD_MAX */
        size_t out_len;

        /* The last record read, checked; [in_pos, in_len) not delivered yet. One spare byte at
         * the end: the current message's payload is NUL-terminated in place, and the byte it
         * covers (the next frame's first) is put back by the next fv_recv(). */
        char *in;
        size_t in_pos, in_len;
        char *nul_at;
        char nul_saved;

        /* Frames that arrived while fv_call() waited (checked), delivered after the rest of `in`
         * and before any new record: [q_head, q_len). */
        char *queue;
        size_t q_head, q_len, q_cap;

        char *msg;                   /* the current message when it came from the queue */
        char *reply;                 /* fv_call()'s record; PROTO_RECORD_MAX + 1 */
        char target[PROTO_TARGET_MAX + 1];

        /* The registry, mapped read-only at the first lookup (NULL before) and kept. */
        void *reg_base;
        size_t reg_size;
        RegistryView reg_view;
        /* fv_whereis_all()'s holders, gathered before fn sees any */
        struct holder {
                pid_t pid;
                uint32_t generation;
        } *holders;
        size_t n_holders, holders_cap;
        bool holders_oom;
};

/* ---- small helpers --------------------------------------------------------------------- */

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An absolute deadline in ms, -1 for none. */
static int64_t deadline_after(int timeout_ms) {
        return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Decodes a frame of a record that proto_check_record() accepted. */
static size_t decode_checked(const char *buf, size_t len, Frame *f) {
        size_t used = 0;
        int r = proto_decode(buf, len, f, &used);
        (void) r;
        return used;
}

static size_t target_length(const char *target) {
        return target ? strnlen(target, PROTO_TARGET_MAX + 1) : 0;
}

/* Waits until fd has `events` or the deadline passes. 0 ready, -ETIMEDOUT, -EINTR (a signal
 * outside fv_server_run(), or its SIGTERM/SIGINT). */
static int wait_fd(struct fv *fv, int fd, short events, int64_t deadline) {
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = fd, .events = events },
                        { .fd = fv->term_fd, .events = POLLIN },
                };
                int timeout = -1;
                if (deadline >= 0) {
                        int64_t left = deadline - now_ms();
                        if (left <= 0)
                                return -ETIMEDOUT;
                        timeout = left > INT_MAX ? INT_MAX : (int) left;
                }
                int n = poll(p, fv->term_fd >= 0 ? 2 : 1, timeout);
                if (n < 0) {
                        if (errno != EINTR)
                                return -errno;
                        if (fv->term_fd < 0)
                                return -EINTR;
                        continue; /* the pipe says whether it was SIGTERM */
                }
                if (fv->term_fd >= 0 && (p[1].revents & POLLIN)) {
                        fv->terminated = true;
                        return -EINTR;
                }
                if (p[0].revents)
                        return 0;
                if (n == 0 && deadline >= 0 && now_ms() >= deadline)
                        return -ETIMEDOUT;
        }
}

/* Sends one record, blocking if the socket is full (the node never blocks; workers may). With
 * pass_fd >= 0, that fd goes along (SCM_RIGHTS). */
static int send_record(struct fv *fv, int fd, const void *buf, size_t len, int pass_fd) {
        union {
                struct cmsghdr align;
                char space[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = { (void *) buf, len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (pass_fd >= 0) {
                memset(&control, 0, sizeof control);
                mh.msg_control = &control;
                mh.msg_controllen = sizeof control;
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
        }
        for (;;) {
                ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
                if (n >= 0)
                        return (size_t) n == len ? 0 : -EIO;
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                        return errno == ECONNRESET ? -EPIPE : -errno;
                /* The caller made the fd non-blocking: wait for room, whatever signals come. */
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                        return -errno;
        }
}

/* Reads one record from fd into buf (PROTO_RECORD_MAX + 1 bytes) and checks it. Before waiting
 * it flushes the mailbox: the one flush per loop pass. Returns its length, -EPIPE at the end of
 * the stream, -ETIMEDOUT, -EINTR, -EBADMSG (the record is dropped), or another -errno. */
static ssize_t read_record(struct fv *fv, int fd, char *buf, int64_t deadline) {
        for (;;) {
                union {
                        struct cmsghdr align;
                        char space[CMSG_SPACE(sizeof(int) * 4)];
                } control;
                struct iovec iov = { buf, PROTO_RECORD_MAX + 1 };
                struct msghdr mh = {
                        .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = &control, .msg_controllen = sizeof control,
                };
                ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                return errno == ECONNRESET ? -EPIPE : -errno;
                        int r = fv_flush(fv);
                        if (r < 0)
                                return r;
                        r = wait_fd(fv, fd, POLLIN, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* The node passes no fds on a mailbox: any that came are closed, and the record
                 * is refused. */
                size_t n_fds = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                                for (size_t j = 0; j < k; j++) {
                                        int x;
                                        memcpy(&x, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
                                        close(x);
                                }
                                n_fds += k;
                        }
                if (n == 0)
                        return -EPIPE; /* SOCK_SEQPACKET: the peer closed (the node sends no empty record) */
                const char *why;
                if ((mh.msg_flags & MSG_CTRUNC) || n > PROTO_RECORD_MAX ||
                    proto_check_record(buf, (size_t) n, PROTO_TO_WORKER, n_fds, &why) < 0)
                        return -EBADMSG;
                return n;
        }
}

/* Appends a frame to the outgoing record, flushing first when it would not fit. */
static int append(struct fv *fv, const Frame *f) {
        if (f->target_len > PROTO_TARGET_MAX || f->payload_len > PROTO_PAYLOAD_MAX)
                return -EMSGSIZE;
        if (fv->out_len + proto_frame_size(f->target_len, f->payload_len) > PROTO_RECORD_MAX) {
                int r = fv_flush(fv);
                if (r < 0)
                        return r;
        }
        int n = proto_encode(f, fv->out + fv->out_len, PROTO_RECORD_MAX - fv->out_len);
        if (n < 0)
                return n;
        fv->out_len += (size_t) n;
        return 0;
}

static int queue_append(struct fv *fv, const char *frame, size_t size) {
        if (fv->q_head == fv->q_len)
                fv->q_head = fv->q_len = 0;
        if (fv->q_len + size > fv->q_cap) {
                if (fv->q_head > 0) {
                        memmove(fv->queue, fv->queue + fv->q_head, fv->q_len - fv->q_head);
                        fv->q_len -= fv->q_head;
                        fv->q_head = 0;
                }
                if (ARRAY_GROW(fv->queue, fv->q_cap, fv->q_len + size) < 0)
                        return -ENOMEM;
        }
        memcpy(fv->queue + fv->q_len, frame, size);
        fv->q_len += size;
        return 0;
}

static void to_message(const Frame *f, const char *target, const void *payload, struct fv_message *ret) {
        *ret = (struct fv_message) {
                .kind = (enum fv_kind) f->kind,
                .ref = f->ref,
                .sender = (pid_t) f->sender,
                .target = target,
                .target_len = f->target_len,
                .payload = payload,
                .payload_len = f->payload_len,
        };
}

static void restore_nul(struct fv *fv) {
        if (fv->nul_at) {
                *fv->nul_at = fv->nul_saved;
                fv->nul_at = NULL;
        }
}

static uint64_t new_ref(struct fv *fv) {
        if (fv->next_ref == 0)
                fv->next_ref++;
        return fv->next_ref++;
}

/* The CALL's timeout on the wire, where 0 means the node's default (5000 ms): FV_INFINITY is the
 * longest the field holds (49 days), and 0 the shortest that is not the default. */
static uint32_t wire_timeout(int timeout_ms) {
        return timeout_ms < 0 ? UINT32_MAX : timeout_ms == 0 ? 1 : (uint32_t) timeout_ms;
}

static int error_from_reason(const char *reason, size_t len) {
        static const struct {
                const char *text;
                int err;
        } table[] = {
                { "noproc", ESRCH },
                { "timeout", ETIMEDOUT },
                { "mailbox full", EAGAIN },
                { "callee exited", ECONNRESET },
        };
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
                if (strlen(table[i].text) == len && memcmp(table[i].text, reason, len) == 0)
                        return -table[i].err;
        return -EREMOTEIO;
}

/* ---- opening and closing ------------------------------------------------------------------ */

int fv_open_fd(int fd, unsigned flags, struct fv **ret) {
        int type;
        socklen_t sl = sizeof type;

        if (fd < 0 || !ret || (flags & ~FV_FLAGS_KNOWN))
                return fd < 0 ? -EBADF : -EINVAL;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0)
                return errno == ENOTSOCK ? -ENOTSOCK : -errno;
        if (type != SOCK_SEQPACKET)
                return -EPROTOTYPE;

        struct fv *fv = calloc(1, sizeof *fv);
        if (!fv)
                return -ENOMEM;
        fv->out = malloc(PROTO_RECORD_MAX);
        fv->in = malloc(PROTO_RECORD_MAX + 1);
        if (!fv->out || !fv->in) {
                free(fv->out);
                free(fv->in);
                free(fv);
                return -ENOMEM;
        }
        fv->fd = fd;
        fv->flags = flags;
        fv->term_fd = -1;
        /* Unique per caller: the pid in the high half keeps the refs of the forkvisor commands a
         * worker runs apart from its own. */
        fv->next_ref = (uint64_t) getpid() << 32 | 1;
        if (!(flags & FV_NOBATCH)) {
                int r = append(fv, &(Frame) { .kind = PROTO_HELLO, .flags = PROTO_FLAG_BATCH });
                if (r < 0) {
                        fv->fd = -1;
                        fv_close(fv);
                        return r;
                }
        }
        *ret = fv;
        return 0;
}

int fv_open(unsigned flags, struct fv **ret) {
        const char *e = getenv("FORKVISOR_MAILBOX");
        char *end;

        if (!ret)
                return -EINVAL;
        if (!e || !*e)
                return -ENOENT;
        errno = 0;
        long fd = strtol(e, &end, 10);
        if (errno || *end || fd < 0 || fd > INT_MAX)
                return -EINVAL;
        return fv_open_fd((int) fd, flags, ret);
}

int fv_close(struct fv *fv) {
        int r = 0;
        if (!fv)
                return 0;
        if (fv->fd >= 0) {
                r = fv_flush(fv);
                close(fv->fd);
        }
        free(fv->out);
        free(fv->in);
        free(fv->queue);
        free(fv->msg);
        free(fv->reply);
        free(fv->holders);
        if (fv->reg_base)
                munmap(fv->reg_base, fv->reg_size);
        free(fv);
        return r;
}

int fv_fd(const struct fv *fv) {
        return fv ? fv->fd : -EINVAL;
}

/* ---- receiving ------------------------------------------------------------------------------ */

int fv_pending(const struct fv *fv) {
        if (!fv)
                return -EINVAL;
        return fv->in_pos < fv->in_len || fv->q_head < fv->q_len;
}

int fv_recv(struct fv *fv, int timeout_ms, struct fv_message *ret) {
        if (!fv || !ret || timeout_ms < -1)
                return -EINVAL;
        restore_nul(fv);
        int64_t deadline = deadline_after(timeout_ms);
        for (;;) {
                Frame f;
                if (fv->in_pos < fv->in_len) {
                        fv->in_pos += decode_checked(fv->in + fv->in_pos, fv->in_len - fv->in_pos, &f);
                        memcpy(fv->target, f.target, f.target_len);
                        fv->target[f.target_len] = '\0';
                        /* The byte after the payload is the next frame's first, or the spare. */
                        fv->nul_at = (char *) f.payload + f.payload_len;
                        fv->nul_saved = *fv->nul_at;
                        *fv->nul_at = '\0';
                        to_message(&f, fv->target, f.payload, ret);
                        return 0;
                }
                if (fv->q_head < fv->q_len) {
                        if (!fv->msg) {
                                fv->msg = malloc(PROTO_TARGET_MAX + 1 + PROTO_PAYLOAD_MAX + 1);
                                if (!fv->msg)
                                        return -ENOMEM;
                        }
                        fv->q_head += decode_checked(fv->queue + fv->q_head, fv->q_len - fv->q_head, &f);
                        char *t = fv->msg, *p = fv->msg + f.target_len + 1;
                        if (f.target_len)
                                memcpy(t, f.target, f.target_len);
                        t[f.target_len] = '\0';
                        if (f.payload_len)
                                memcpy(p, f.payload, f.payload_len);
                        p[f.payload_len] = '\0';
                        to_message(&f, t, p, ret);
                        return 0;
                }
                ssize_t n = read_record(fv, fv->fd, fv->in, deadline);
                if (n < 0)
                        return n == -ETIMEDOUT && timeout_ms == 0 ? -EAGAIN : (int) n;
                fv->in_pos = 0;
                fv->in_len = (size_t) n;
        }
}

/* ---- sending -------------------------------------------------------------------------------- */

int fv_flush(struct fv *fv) {
        if (!fv)
                return -EINVAL;
        if (fv->out_len == 0)
                return 0;
        int r = send_record(fv, fv->fd, fv->out, fv->out_len, -1);
        fv->out_len = 0; /* sent, or undeliverable for good */
        return r;
}

int fv_ready(struct fv *fv) {
        if (!fv)
                return -EINVAL;
        int r = append(fv, &(Frame) { .kind = PROTO_READY });
        return r < 0 ? r : fv_flush(fv);
}

int fv_watchdog(struct fv *fv) {
        if (!fv)
                return -EINVAL;
        /* As sd_watchdog_enabled(3): only a node that set WATCHDOG_USEC knows the kind, and a
         * process forked by the worker is not the one watched. */
        const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
        if (!usec || !*usec)
                return 0;
        if (pid && *pid && strtol(pid, NULL, 10) != (long) getpid())
                return 0;
        int r = append(fv, &(Frame) { .kind = PROTO_WATCHDOG });
        return r < 0 ? r : fv_flush(fv);
}

int fv_cast(struct fv *fv, const char *target, const void *data, size_t len) {
        size_t tl = target_length(target);
        if (!fv || tl == 0 || (!data && len > 0))
                return -EINVAL;
        return append(fv, &(Frame) { .kind = PROTO_CAST, .target = target, .target_len = tl,
                                     .payload = data, .payload_len = len });
}

int fv_reply(struct fv *fv, uint64_t ref, const void *data, size_t len) {
        if (!fv || ref == 0 || (!data && len > 0))
                return -EINVAL;
        return append(fv, &(Frame) { .kind = PROTO_REPLY, .ref = ref, .payload = data, .payload_len = len });
}

int fv_monitor(struct fv *fv, const char *name) {
        size_t tl = target_length(name);
        if (!fv || tl == 0)
                return -EINVAL;
        return append(fv, &(Frame) { .kind = PROTO_MONITOR, .target = name, .target_len = tl });
}

/* Looks for the answer to `ref` in the record reply[0..n); every other frame is queued for
 * fv_recv(). Returns the call's result, or 1 when the answer was not there. */
static int take_answer(struct fv *fv, size_t n, uint64_t ref, struct fv_message *ret) {
        Frame answer = {};
        bool found = false;

        for (size_t off = 0; off < n;) {
                Frame f;
                size_t used = decode_checked(fv->reply + off, n - off, &f);
                if (!found && (f.kind == PROTO_REPLY || f.kind == PROTO_ERROR) && f.ref == ref) {
                        answer = f;
                        found = true;
                } else {
                        int r = queue_append(fv, fv->reply + off, used);
                        if (r < 0)
                                return r;
                }
                off += used;
        }
        if (!found)
                return 1;
        /* Everything after it was copied out: its NUL may cover the next frame's first byte. */
        char *end = (char *) answer.payload + answer.payload_len;
        *end = '\0';
        to_message(&answer, "", answer.payload, ret);
        return answer.kind == PROTO_REPLY ? 0 : error_from_reason(ret->payload, ret->payload_len);
}

/* The answer comes on a socket of our own, passed with the CALL: the mailbox is not read. */
static int call_private(struct fv *fv, const Frame *call, int64_t deadline, struct fv_message *ret) {
        int sv[2];
        int r = fv_flush(fv); /* what was sent before the call arrives before it */
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        r = proto_encode(call, fv->reply, PROTO_RECORD_MAX);
        if (r >= 0)
                r = send_record(fv, fv->fd, fv->reply, (size_t) r, sv[1]);
        close(sv[1]);
        while (r >= 0) {
                ssize_t n = read_record(fv, sv[0], fv->reply, deadline);
                if (n == -EINTR && !fv->terminated)
                        continue;
                if (n < 0) {
                        r = (int) n;
                        break;
                }
                /* Only the answer may come this way. */
                Frame f;
                size_t used = decode_checked(fv->reply, (size_t) n, &f);
                if ((size_t) n != used || (f.kind != PROTO_REPLY && f.kind != PROTO_ERROR) ||
                    f.ref != call->ref) {
                        r = -EBADMSG;
                        break;
                }
                r = take_answer(fv, (size_t) n, call->ref, ret);
                break;
        }
        close(sv[0]);
        return r;
}

/* Sends req (a CALL, REGISTER or UNREGISTER with a fresh ref) and waits for its answer until
 * deadline: on a private socket with FV_PRIVATE_CALLS, else through the mailbox, queueing every
 * other frame for fv_recv(). 0 for a REPLY, a -errno of the reason for an ERROR (both in *ret),
 * or another -errno. */
static int request(struct fv *fv, Frame *req, int64_t deadline, struct fv_message *ret) {
        if (!fv->reply) {
                fv->reply = malloc(PROTO_RECORD_MAX + 1);
                if (!fv->reply)
                        return -ENOMEM;
        }
        if (fv->flags & FV_PRIVATE_CALLS) {
                req->flags |= PROTO_FLAG_REPLY_FD;
                return call_private(fv, req, deadline, ret);
        }

        /* Sent at once, whatever waits to be read: under a flood, read_record() would not need to
         * wait (and flush) before the mailbox has been drained into the queue. */
        int r = append(fv, req);
        if (r >= 0)
                r = fv_flush(fv);
        if (r < 0)
                return r;
        /* The answer cannot have come yet: wait before the first read instead of paying a
         * read that would only say EAGAIN. */
        r = wait_fd(fv, fv->fd, POLLIN, deadline);
        if (r < 0 && !(r == -EINTR && !fv->terminated))
                return r;
        /* Records are read into fv->reply, not fv->in: the message the caller is handling (in
         * fv->in or fv->msg) stays valid, and whatever is not our answer is queued behind the
         * rest of fv->in, so fv_recv() sees every message in the order it arrived. */
        for (;;) {
                ssize_t n = read_record(fv, fv->fd, fv->reply, deadline);
                if (n == -EINTR && !fv->terminated)
                        continue;
                if (n < 0)
                        return (int) n;
                r = take_answer(fv, (size_t) n, req->ref, ret);
                if (r != 1)
                        return r;
        }
}

int fv_call(struct fv *fv, const char *target, const void *data, size_t len, int timeout_ms,
            struct fv_message *ret) {
        size_t tl = target_length(target);
        if (!fv || !ret || tl == 0 || (!data && len > 0) || timeout_ms < -1)
                return -EINVAL;
        if (tl > PROTO_TARGET_MAX || len > PROTO_PAYLOAD_MAX)
                return -EMSGSIZE;

        Frame call = {
                .kind = PROTO_CALL, .ref = new_ref(fv), .timeout_ms = wire_timeout(timeout_ms),
                .target = target, .target_len = tl, .payload = data, .payload_len = len,
        };
        int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms + CALL_GRACE_MS;
        return request(fv, &call, deadline, ret);
}

/* ---- the registry ------------------------------------------------------------------------- */

/* A request the node answers at once with "ok" or a reason. */
static int node_request_flags(struct fv *fv, uint8_t kind, const char *name, uint16_t flags, int timeout_ms) {
        size_t tl = target_length(name);
        if (!fv || tl == 0 || tl > PROTO_TARGET_MAX)
                return -EINVAL;
        Frame req = { .kind = kind, .flags = flags, .ref = new_ref(fv), .target = name, .target_len = tl };
        struct fv_message m = { .kind = 0 };
        int r = request(fv, &req, now_ms() + timeout_ms, &m);
        if (r < 0 && m.kind == FV_ERROR)
                return proto_refusal_errno(m.payload, m.payload_len);
        return r;
}

static int node_request(struct fv *fv, uint8_t kind, const char *name) {
        return node_request_flags(fv, kind, name, 0, REQUEST_TIMEOUT_MS);
}

int fv_register(struct fv *fv, const char *name) {
        return node_request(fv, PROTO_REGISTER, name);
}

int fv_unregister(struct fv *fv, const char *name) {
        return node_request(fv, PROTO_UNREGISTER, name);
}

/* The node answers when the cluster's name store has (its own wait for it is shorter). */
int fv_register_global(struct fv *fv, const char *name) {
        return node_request_flags(fv, PROTO_REGISTER, name, PROTO_FLAG_GLOBAL, FV_GLOBAL_TIMEOUT_MS);
}

int fv_unregister_global(struct fv *fv, const char *name) {
        return node_request_flags(fv, PROTO_UNREGISTER, name, PROTO_FLAG_GLOBAL, FV_GLOBAL_TIMEOUT_MS);
}

/* ---- pub/sub ------------------------------------------------------------------------------ */

int fv_subscribe(struct fv *fv, const char *topic) {
        return node_request(fv, PROTO_SUBSCRIBE, topic);
}

int fv_unsubscribe(struct fv *fv, const char *topic) {
        return node_request(fv, PROTO_UNSUBSCRIBE, topic);
}

int fv_publish(struct fv *fv, const char *topic, const void *data, size_t len) {
        size_t tl = target_length(topic);
        /* The node would drop it silently, as a cast to nobody: say so here instead. */
        if (!fv || !topic_is_valid(topic ? topic : "", tl) || (!data && len > 0))
                return -EINVAL;
        return append(fv, &(Frame) { .kind = PROTO_PUBLISH, .target = topic, .target_len = tl,
                                     .payload = data, .payload_len = len });
}

/* Maps the table of FORKVISOR_REGISTRY read-only, once: a worker that never looks a name up
 * never pays for its page faults. */
static int registry_map(struct fv *fv) {
        const char *e = getenv("FORKVISOR_REGISTRY");
        struct stat st;
        char *end;

        if (fv->reg_base)
                return 0;
        if (!e || !*e)
                return -ENXIO;
        errno = 0;
        long fd = strtol(e, &end, 10);
        if (errno || *end || fd < 0 || fd > INT_MAX)
                return -EBADF; /* not a descriptor (-EINVAL is for the caller's arguments) */
        if (fstat((int) fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -ENODEV;
        if (st.st_size < REGISTRY_SLOT_SIZE || (uintmax_t) st.st_size > SIZE_MAX)
                return -EBADMSG;
        void *p = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, (int) fd, 0);
        if (p == MAP_FAILED)
                return -errno;
        int r = registry_view_init(&fv->reg_view, p, (size_t) st.st_size);
        if (r < 0) {
                munmap(p, (size_t) st.st_size);
                return r;
        }
        fv->reg_base = p;
        fv->reg_size = (size_t) st.st_size;
        return 0;
}

/* The table's key for name: "+key" and "key" are the same entry. */
static const char *registry_key(const char *name) {
        return name && name[0] == '+' ? name + 1 : name;
}

/* The first holder of name in the node's table: 0 and *e, -ENOENT, or another -errno. */
static int lookup_one(struct fv *fv, const char *name, RegistryEntry *e) {
        const char *key = registry_key(name);

        if (!fv || !key || !*key)
                return -EINVAL;
        int r = registry_map(fv);
        if (r < 0)
                return r;
        r = registry_lookup(&fv->reg_view, key, e);
        return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int fv_whereis(struct fv *fv, const char *name, pid_t *ret_pid) {
        RegistryEntry e;
        int r = lookup_one(fv, name, &e);

        if (r < 0)
                return r;
        /* Another node's pid: never handed out as one of this machine's. */
        if (e.flags & REGISTRY_REMOTE)
                return -EREMOTE;
        if (ret_pid)
                *ret_pid = e.pid;
        return 0;
}

int fv_whereis_node(struct fv *fv, const char *name, pid_t *ret_pid, char *node, size_t node_size) {
        RegistryEntry e;
        int r = !node || node_size == 0 ? -EINVAL : lookup_one(fv, name, &e);

        if (r < 0)
                return r;
        const char *at = e.flags & REGISTRY_REMOTE ? strchr(e.name, '@') : NULL;
        const char *n = at ? at + 1 : "";
        if (strlen(n) >= node_size)
                return -ENOBUFS;
        strcpy(node, n);
        if (ret_pid)
                *ret_pid = e.pid;
        return 0;
}

static void gather(const RegistryEntry *e, void *ud) {
        struct fv *fv = ud;
        if (e->flags & REGISTRY_REMOTE)
                return; /* another node's: fv_whereis_node() */
        if (ARRAY_GROW(fv->holders, fv->holders_cap, fv->n_holders + 1) < 0) {
                fv->holders_oom = true;
                return;
        }
        fv->holders[fv->n_holders++] = (struct holder) { e->pid, e->generation };
}

int fv_whereis_all(struct fv *fv, const char *name, fv_whereis_fn fn, void *userdata) {
        const char *key = registry_key(name);

        if (!fv || !key || !*key)
                return -EINVAL;
        int r = registry_map(fv);
        if (r < 0)
                return r;
        /* A walk that a rebuild of the table tore may have seen holders twice or missed some:
         * gather first, retry such a walk, and show fn only a consistent one. */
        r = -EBUSY;
        for (int tries = 0; tries < REGISTRY_READ_RETRIES && r == -EBUSY; tries++) {
                fv->n_holders = 0;
                fv->holders_oom = false;
                r = registry_lookup_all(&fv->reg_view, key, gather, fv);
        }
        if (r < 0)
                return r;
        if (fv->holders_oom)
                return -ENOMEM;
        /* fn may look names up again with this handle: it gets a buffer of its own meanwhile. */
        struct holder *h = fv->holders;
        size_t n = fv->n_holders, cap = fv->holders_cap;
        fv->holders = NULL;
        fv->n_holders = fv->holders_cap = 0;
        for (size_t i = 0; fn && i < n; i++)
                fn(h[i].pid, h[i].generation, userdata);
        if (!fv->holders) {
                fv->holders = h;
                fv->holders_cap = cap;
        } else
                free(h);
        return (int) n;
}

const char *fv_kind_to_string(enum fv_kind kind) {
        switch (kind) {
        case FV_CAST:
                return "cast";
        case FV_CALL:
                return "call";
        case FV_REPLY:
                return "reply";
        case FV_ERROR:
                return "error";
        case FV_INFO:
                return "info";
        case FV_DOWN:
                return "down";
        case FV_GET_STATE:
                return "get_state";
        }
        return NULL;
}

/* ---- the GenServer-style loop ----------------------------------------------------------------- */

/* SIGTERM and SIGINT write a byte here: poll() sees it, with no window between a check of a flag
 * and going to sleep. One server per process, so one pipe. */
static int term_pipe[2] = { -1, -1 };
static volatile sig_atomic_t term_requested;

static void on_term(int sig) {
        int saved = errno;
        term_requested = 1;
        if (term_pipe[1] >= 0) {
                ssize_t n = write(term_pipe[1], "", 1);
                (void) n; /* a full pipe already says it */
        }
        errno = saved;
}

/* Runs one callback for msg; returns 0 to go on, > 0 to stop normally, < 0 to stop with that. */
static int dispatch(struct fv *fv, const struct fv_server_callbacks *cb, void *state, char *buf,
                    const struct fv_message *msg) {
        static const char no_call[] = "no handle_call", no_state[] = "no format_state";
        uint64_t ref = msg->ref; /* msg may change under a callback that calls fv_recv() */
        ssize_t n;

        switch (msg->kind) {
        case FV_CALL:
                if (!cb->handle_call)
                        return fv_reply(fv, ref, no_call, sizeof no_call - 1);
                n = cb->handle_call(fv, state, msg, buf, FV_PAYLOAD_MAX);
                if (n == FV_NOREPLY)
                        return 0;
                if (n < 0)
                        return (int) n;
                return n > FV_PAYLOAD_MAX ? -EMSGSIZE : fv_reply(fv, ref, buf, (size_t) n);
        case FV_GET_STATE:
                if (!cb->format_state)
                        return fv_reply(fv, ref, no_state, sizeof no_state - 1);
                n = cb->format_state(fv, state, buf, FV_PAYLOAD_MAX);
                if (n < 0)
                        return (int) n;
                return n > FV_PAYLOAD_MAX ? -EMSGSIZE : fv_reply(fv, ref, buf, (size_t) n);
        case FV_CAST:
                return cb->handle_cast ? cb->handle_cast(fv, state, msg) : 0;
        case FV_INFO:
        case FV_DOWN:
        case FV_REPLY:
        case FV_ERROR:
                return cb->handle_info ? cb->handle_info(fv, state, msg) : 0;
        }
        return 0;
}

int fv_server_run(const struct fv_server_callbacks *cb, void *state) {
        struct sigaction sa = { .sa_handler = on_term, .sa_flags = SA_RESTART }, old_term, old_int;
        struct fv *fv = NULL;
        char *buf = NULL;
        int r, reason = 0;

        if (!cb || term_pipe[0] >= 0)
                return -EINVAL; /* no callbacks, or a server already running */
        buf = malloc(FV_PAYLOAD_MAX);
        if (!buf)
                return -ENOMEM;
        r = fv_open(0, &fv);
        if (r < 0) {
                free(buf);
                return r;
        }
        if (pipe2(term_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                fv_close(fv);
                free(buf);
                return r;
        }
        term_requested = 0;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, &old_term);
        sigaction(SIGINT, &sa, &old_int);
        fv->term_fd = term_pipe[0];

        r = cb->init ? cb->init(fv, state) : 0;
        if (r < 0)
                goto out; /* as in OTP: a failed init is not followed by terminate */
        r = fv_ready(fv);
        while (r == 0 && !term_requested) {
                struct fv_message msg;
                r = fv_recv(fv, FV_INFINITY, &msg);
                if (r == -EINTR && !fv->terminated)
                        r = 0;
                else if (r >= 0)
                        r = dispatch(fv, cb, state, buf, &msg);
        }
        /* SIGTERM/SIGINT, the end of the mailbox, or a callback that stopped normally. */
        if (r == -EINTR || r == -EPIPE || r > 0)
                r = 0;
        reason = r;
        if (cb->terminate)
                cb->terminate(fv, state, reason);
        r = reason;
out:
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
        fv->term_fd = -1;
        close(term_pipe[0]);
        close(term_pipe[1]);
        term_pipe[0] = term_pipe[1] = -1;
        int k = fv_close(fv);
        if (r == 0 && k < 0 && k != -EPIPE)
                r = k;
        free(buf);
        return r;
}
