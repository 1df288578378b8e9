/* SPDX-License-Identifier: MIT */
/* libforkvisor against a fake node on a socketpair: HELLO, batched records in and out, limits,
 * malformed records, calls that keep every other message in order, private-socket calls, and
 * the GenServer loop (replies, get-state, SIGTERM, end of the mailbox). The fake node is this
 * process, or a forked child where the library blocks. */
#include "forkvisor.h"

#include <assert.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"
#include "tests.h"
#include "fake-node.h"

static const char payload64[] = "0123456789012345678901234567890123456789012345678901234567890123";

/* Appends a frame to buf at off; returns the new length. */
static size_t put(char *buf, size_t off, uint8_t kind, uint64_t ref, uint32_t sender, const char *target,
                  const char *payload) {
        Frame f = {
                .kind = kind, .ref = ref, .sender = sender,
                .target = target, .target_len = target ? strlen(target) : 0,
                .payload = payload, .payload_len = payload ? strlen(payload) : 0,
        };
        int n = proto_encode(&f, buf + off, PROTO_RECORD_MAX - off);
        assert(n > 0);
        return off + (size_t) n;
}

/* The node reads one record: returns its number of frames (the first max in frames[], pointing
 * into rec), 0 at EOF, < 0 on error; *ret_fd gets a passed fd or -1. */
static int node_read(int fd, Frame *frames, int max, int *ret_fd) {
        union {
                struct cmsghdr align;
                char space[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = { rec, sizeof rec };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
        ssize_t n = recvmsg(fd, &mh, 0);
        if (ret_fd) {
                struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
                *ret_fd = -1;
                if (c && c->cmsg_type == SCM_RIGHTS)
                        memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        }
        if (n <= 0)
                return (int) n;
        int k = 0;
        for (size_t off = 0, used; off < (size_t) n; off += used, k++) {
                Frame f;
                if (proto_decode(rec + off, (size_t) n - off, &f, &used) < 0)
                        return -EBADMSG;
                if (k < max)
                        frames[k] = f;
        }
        return k;
}

static bool frame_is(const Frame *f, uint8_t kind, const char *payload) {
        return f->kind == kind && f->payload_len == strlen(payload) && memcmp(f->payload, payload, f->payload_len) == 0;
}

TEST(open_refuses_what_is_not_a_mailbox) {
        struct fv *fv;
        int sv[2], p[2];

        ASSERT_TRUE(pipe(p) == 0);
        ASSERT_ERR(fv_open_fd(p[0], 0, &fv), -ENOTSOCK);
        ASSERT_TRUE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        ASSERT_ERR(fv_open_fd(sv[0], 0, &fv), -EPROTOTYPE);
        ASSERT_ERR(fv_open_fd(-1, 0, &fv), -EBADF);
        close(p[0]);
        close(p[1]);
        close(sv[0]);
        close(sv[1]);
        pair(sv);
        ASSERT_ERR(fv_open_fd(sv[0], 0x100, &fv), -EINVAL);
        close(sv[0]);
        close(sv[1]);

        unsetenv("FORKVISOR_MAILBOX");
        ASSERT_ERR(fv_open(0, &fv), -ENOENT);
        setenv("FORKVISOR_MAILBOX", "3x", 1);
        ASSERT_ERR(fv_open(0, &fv), -EINVAL);
        unsetenv("FORKVISOR_MAILBOX");
}

TEST(hello_then_batched_records_in) {
        struct fv *fv;
        struct fv_message m;
        Frame fr[4];
        char b[1024];
        size_t o = 0;
        int sv[2];

        pair(sv);
        ASSERT_OK(fv_open_fd(sv[0], 0, &fv));
        ASSERT_EQ(fv_fd(fv), sv[0]);
        ASSERT_ERR(fv_recv(fv, 0, &m), -EAGAIN); /* and flushes the HELLO */
        ASSERT_EQ(node_read(sv[1], fr, 4, NULL), 1);
        ASSERT_TRUE(fr[0].kind == PROTO_HELLO && fr[0].flags == PROTO_FLAG_BATCH);
        ASSERT_ERR(fv_recv(fv, 20, &m), -ETIMEDOUT);

        o = put(b, o, PROTO_CAST, 0, 11, "me", "one");
        o = put(b, o, PROTO_INFO, 0, 0, "orders:eu", "two");
        o = put(b, o, PROTO_CALL, 77, 12, "me", "");
        o = put(b, o, PROTO_DOWN, 0, 13, "db", "killed");
        ASSERT_EQ(send(sv[1], b, o, 0), (ssize_t) o);

        ASSERT_OK(fv_recv(fv, -1, &m));
        ASSERT_TRUE(m.kind == FV_CAST && m.sender == 11 && m.ref == 0);
        ASSERT_STREQ(m.target, "me");
        ASSERT_STREQ(m.payload, "one"); /* NUL-terminated in place */
        ASSERT_EQ(m.payload_len, 3);
        ASSERT_EQ(fv_pending(fv), 1);
        ASSERT_OK(fv_recv(fv, -1, &m));
        ASSERT_TRUE(m.kind == FV_INFO && m.target_len == 9);
        ASSERT_STREQ(m.target, "orders:eu");
        ASSERT_STREQ(m.payload, "two");
        ASSERT_OK(fv_recv(fv, 0, &m));
        ASSERT_TRUE(m.kind == FV_CALL && m.ref == 77 && m.payload_len == 0 && m.payload[0] == '\0');
        ASSERT_OK(fv_recv(fv, 0, &m));
        ASSERT_TRUE(m.kind == FV_DOWN && m.sender == 13);
        ASSERT_STREQ(m.target, "db");
        ASSERT_STREQ(m.payload, "killed");
        ASSERT_EQ(fv_pending(fv), 0);
        ASSERT_OK(fv_close(fv));
        ASSERT_EQ(node_read(sv[1], fr, 4, NULL), 0);
        close(sv[1]);
}

TEST(nobatch_sends_no_hello_and_frames_go_out_batched) {
        struct fv *fv;
        Frame fr[64];
        int sv[2], frames = 0, records = 0;

        pair(sv);
        ASSERT_OK(fv_open_fd(sv[0], FV_NOBATCH, &fv));
        ASSERT_OK(fv_reply(fv, 5, "r", 1));
        ASSERT_OK(fv_monitor(fv, "db"));
        for (int i = 0; i < 1000; i++)
                ASSERT_OK(fv_cast(fv, "other", payload64, 64));
        ASSERT_OK(fv_flush(fv));
        while (frames < 1002) {
                int k = node_read(sv[1], fr, 64, NULL);
                ASSERT_TRUE(k > 0);
                if (records == 0) {
                        ASSERT_TRUE(frame_is(&fr[0], PROTO_REPLY, "r") && fr[0].ref == 5 && fr[0].sender == 0);
                        ASSERT_TRUE(fr[1].kind == PROTO_MONITOR && fr[1].target_len == 2);
                        ASSERT_TRUE(frame_is(&fr[2], PROTO_CAST, payload64));
                }
                frames += k;
                records++;
        }
        ASSERT_EQ(frames, 1002);
        ASSERT_TRUE(records <= 2); /* 1002 frames of about 100 bytes: two records of at most 64 KiB */
        ASSERT_OK(fv_ready(fv));   /* READY is flushed at once */
        ASSERT_EQ(node_read(sv[1], fr, 64, NULL), 1);
        ASSERT_EQ(fr[0].kind, PROTO_READY);
        fv_close(fv);
        close(sv[1]);
}

/* fv_watchdog speaks only to a node that asked for keep-alives (WATCHDOG_USEC), and only for
 * the process it means (WATCHDOG_PID): a node that does not know the kind never sees it. */
TEST(watchdog_only_when_asked) {
        struct fv *fv;
        Frame fr[4];
        int sv[2];
        char pid[16];

        pair(sv);
        ASSERT_OK(fv_open_fd(sv[0], FV_NOBATCH, &fv));
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        ASSERT_EQ(fv_watchdog(fv), 0);
        ASSERT_EQ(fv_flush(fv), 0);
        ASSERT_EQ(recv(sv[1], rec, sizeof rec, MSG_DONTWAIT), -1); /* nothing was sent */
        ASSERT_EQ(errno, EAGAIN);
        setenv("WATCHDOG_USEC", "1000000", 1);
        setenv("WATCHDOG_PID", "1", 1); /* not ours */
        ASSERT_EQ(fv_watchdog(fv), 0);
        ASSERT_EQ(recv(sv[1], rec, sizeof rec, MSG_DONTWAIT), -1);
        snprintf(pid, sizeof pid, "%d", (int) getpid());
        setenv("WATCHDOG_PID", pid, 1);
        ASSERT_OK(fv_watchdog(fv)); /* sent at once */
        ASSERT_EQ(node_read(sv[1], fr, 4, NULL), 1);
        ASSERT_EQ(fr[0].kind, PROTO_WATCHDOG);
        ASSERT_EQ(fv_watchdog(NULL), -EINVAL);
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        fv_close(fv);
        close(sv[1]);
}

TEST(limits_and_arguments) {
        static char big[PROTO_PAYLOAD_MAX + 1];
        char name[PROTO_TARGET_MAX + 2];
        struct fv *fv;
        struct fv_message m;
        int sv[2];

        pair(sv);
        ASSERT_OK(fv_open_fd(sv[0], FV_NOBATCH, &fv));
        memset(name, 'n', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        ASSERT_ERR(fv_cast(fv, "x", big, sizeof big), -EMSGSIZE);
        ASSERT_OK(fv_cast(fv, "x", big, sizeof big - 1));
        ASSERT_ERR(fv_cast(fv, name, "", 0), -EMSGSIZE);
        ASSERT_ERR(fv_call(fv, name, "", 0, 10, &m), -EMSGSIZE);
        ASSERT_ERR(fv_cast(fv, "", "", 0), -EINVAL);
        ASSERT_ERR(fv_cast(fv, NULL, "", 0), -EINVAL);
        ASSERT_ERR(fv_cast(fv, "x", NULL, 1), -EINVAL);
        ASSERT_ERR(fv_reply(fv, 0, "", 0), -EINVAL);
        ASSERT_ERR(fv_monitor(fv, ""), -EINVAL);
        ASSERT_ERR(fv_recv(fv, -2, &m), -EINVAL);
        ASSERT_ERR(fv_call(fv, "x", "", 0, -2, &m), -EINVAL);
        ASSERT_STREQ(fv_kind_to_string(FV_GET_STATE), "get_state");
        ASSERT_STREQ(fv_kind_to_string(FV_CAST), "cast");
        fv_close(fv);
        close(sv[1]);
}

TEST(malformed_records_are_refused) {
        struct fv *fv;
        struct fv_message m;
        char b[256];
        size_t o;
        int sv[2], p[2];

        pair(sv);
        ASSERT_OK(fv_open_fd(sv[0], FV_NOBATCH, &fv));
        ASSERT_EQ(send(sv[1], "garbage, not a frame, at all: 32+", 33, 0), 33);
        ASSERT_ERR(fv_recv(fv, -1, &m), -EBADMSG);

        /* A good frame, then a bad one: the whole record goes, nothing of it is delivered. */
        o = put(b, 0, PROTO_CAST, 0, 1, "me", "good");
        memcpy(b + o, "FV\001\001", 4);
        ASSERT_EQ(send(sv[1], b, o + 4, 0), (ssize_t) o + 4);
        ASSERT_ERR(fv_recv(fv, -1, &m), -EBADMSG);

        /* Kinds only a worker sends. */
        o = put(b, 0, PROTO_READY, 0, 0, NULL, NULL);
        ASSERT_EQ(send(sv[1], b, o, 0), (ssize_t) o);
        ASSERT_ERR(fv_recv(fv, -1, &m), -EBADMSG);

        /* A file descriptor is closed and the record refused. */
        ASSERT_TRUE(pipe(p) == 0);
        union {
                struct cmsghdr align;
                char space[CMSG_SPACE(sizeof(int))];
        } control = {};
        o = put(b, 0, PROTO_CAST, 0, 1, "me", "with fd");
        struct iovec iov = { b, o };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &p[1], sizeof(int));
        ASSERT_EQ(sendmsg(sv[1], &mh, 0), (ssize_t) o);
        close(p[1]);
        ASSERT_ERR(fv_recv(fv, -1, &m), -EBADMSG);
        char x;
        ASSERT_EQ(read(p[0], &x, 1), 0); /* the passed write end is closed: EOF */
        close(p[0]);

        /* Still usable afterwards. */
        o = put(b, 0, PROTO_CAST, 0, 1, "me", "fine");
        ASSERT_EQ(send(sv[1], b, o, 0), (ssize_t) o);
        ASSERT_OK(fv_recv(fv, -1, &m));
        ASSERT_STREQ(m.payload, "fine");

        close(sv[1]);
        ASSERT_ERR(fv_recv(fv, -1, &m), -EPIPE);
        ASSERT_OK(fv_cast(fv, "x", "y", 1));
        ASSERT_ERR(fv_flush(fv), -EPIPE);
        fv_close(fv);
}

/* The node of call_keeps_every_other_message: answers the first call amid other traffic, the
 * second with an error, the third not at all. */
static int call_node(int fd) {
        char b[1024];
        Frame fr[8];
        size_t o;

        if (node_read(fd, fr, 8, NULL) != 1 || fr[0].kind != PROTO_CALL || fr[0].timeout_ms != 500 ||
            fr[0].target_len != 3 || memcmp(fr[0].target, "svc", 3) != 0 || fr[0].sender != 0)
                return 1;
        uint64_t ref = fr[0].ref;
        o = put(b, 0, PROTO_CAST, 0, 6, "me", "A");
        send(fd, b, o, 0);
        o = put(b, 0, PROTO_INFO, 0, 0, "t", "B");
        o = put(b, o, PROTO_REPLY, ref + 1, 0, NULL, "stray");
        o = put(b, o, PROTO_REPLY, ref, 0, NULL, "the answer");
        o = put(b, o, PROTO_CAST, 0, 6, "me", "C");
        send(fd, b, o, 0);
        o = put(b, 0, PROTO_CAST, 0, 6, "me", "D");
        send(fd, b, o, 0);

        if (node_read(fd, fr, 8, NULL) != 1 || fr[0].kind != PROTO_CALL || fr[0].ref == ref ||
            fr[0].timeout_ms != UINT32_MAX)
                return 2;
        o = put(b, 0, PROTO_ERROR, fr[0].ref, 0, NULL, "noproc");
        send(fd, b, o, 0);

        if (node_read(fd, fr, 8, NULL) != 1 || fr[0].kind != PROTO_CALL || fr[0].timeout_ms != 1)
                return 3;
        return 0; /* no answer: the caller gives up by itself */
}

TEST(call_keeps_every_other_message_in_order) {
        static const char *const want[] = { "after current", "A", "B", "stray", "C", "D" };
        struct fv_message cur, m, reply;
        struct fv *fv;
        char b[256];
        size_t o;
        int sv[2];

        pair(sv);
        ASSERT_OK(fv_open_fd(sv[0], FV_NOBATCH, &fv));
        /* The message being handled when the call is made must stay valid through it. */
        o = put(b, 0, PROTO_CAST, 0, 5, "me", "current");
        o = put(b, o, PROTO_CAST, 0, 5, "me", "after current");
        send(sv[1], b, o, 0);
        ASSERT_OK(fv_recv(fv, -1, &cur));

        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0)
                _exit(call_node(sv[1]));

        ASSERT_OK(fv_call(fv, "svc", "q", 1, 500, &reply));
        ASSERT_EQ(reply.kind, FV_REPLY);
        ASSERT_STREQ(reply.payload, "the answer");
        ASSERT_STREQ(cur.payload, "current");
        ASSERT_STREQ(cur.target, "me");
        ASSERT_EQ(fv_pending(fv), 1);
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
                ASSERT_OK(fv_recv(fv, 2000, &m));
                ASSERT_STREQ(m.payload, want[i]);
                if (i == 3)
                        ASSERT_EQ(m.kind, FV_REPLY); /* an answer nobody waits for is a message */
        }

        ASSERT_ERR(fv_call(fv, "nobody", "q", 1, FV_INFINITY, &reply), -ESRCH);
        ASSERT_EQ(reply.kind, FV_ERROR);
        ASSERT_STREQ(reply.payload, "noproc");
        ASSERT_ERR(fv_call(fv, "slow", "q", 1, 0, &reply), -ETIMEDOUT);
        ASSERT_EQ(wait_child(pid), 0);
        fv_close(fv);
        close(sv[1]);
}

/* The node of call_queues_many_records: 40 full records of casts, then the answer. */
#define MANY_RECORDS 40
static int many_node(int fd) {
        static char b[PROTO_RECORD_MAX];
        Frame fr[1];
        char payload[16];
        unsigned k = 0;

        if (node_read(fd, fr, 1, NULL) != 1 || fr[0].kind != PROTO_CALL)
                return 1;
        uint64_t ref = fr[0].ref;
        for (int r = 0; r < MANY_RECORDS; r++) {
                size_t o = 0;
                while (o + proto_frame_size(2, sizeof payload) <= sizeof b) {
                        snprintf(payload, sizeof payload, "%u", k++);
                        o = put(b, o, PROTO_CAST, 0, 6, "me", payload);
                }
                if (send(fd, b, o, 0) != (ssize_t) o)
                        return 2;
        }
        size_t o = put(b, 0, PROTO_REPLY, ref, 0, NULL, "done");
        if (send(fd, b, o, 0) != (ssize_t) o)
                return 3;
        /* How many casts went out, for the test to count. */
        return node_read(fd, fr, 1, NULL) == 1 && fr[0].kind == PROTO_CAST &&
                               (unsigned) strtoul(fr[0].payload, NULL, 10) == k ? 0 : 4;
}

/* A call that waits behind megabytes of other messages keeps them all, in order: the queue grows
 * as far as it has to. */
TEST(call_queues_many_records) {
        struct fv_message reply, m;
        struct fv *fv;
        int sv[2];

        pair(sv);
        ASSERT_OK(fv_open_fd(sv[0], FV_NOBATCH, &fv));
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                /* Blocked in send() when the test fails: it must not outlive it. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                _exit(many_node(sv[1]));
        }

        ASSERT_OK(fv_call(fv, "svc", "q", 1, FV_INFINITY, &reply));
        ASSERT_STREQ(reply.payload, "done");
        unsigned k = 0;
        while (fv_recv(fv, 0, &m) == 0) {
                char want[16];
                snprintf(want, sizeof want, "%u", k++);
                ASSERT_STREQ(m.payload, want);
        }
        ASSERT_TRUE(k > MANY_RECORDS * 1000);
        char count[16];
        int n = snprintf(count, sizeof count, "%u", k);
        ASSERT_OK(fv_cast(fv, "node", count, (size_t) n + 1));
        ASSERT_OK(fv_flush(fv));
        ASSERT_EQ(wait_child(pid), 0);
        fv_close(fv);
        close(sv[1]);
}

TEST(private_call_does_not_read_the_mailbox) {
        struct fv_message reply, m;
        struct fv *fv;
        int sv[2];

        pair(sv);
        ASSERT_OK(fv_open_fd(sv[0], FV_NOBATCH | FV_PRIVATE_CALLS, &fv));
        ASSERT_OK(fv_cast(fv, "x", "before", 6));
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                Frame fr[2];
                char b[256];
                int pfd;
                if (node_read(sv[1], fr, 2, &pfd) != 1 || !frame_is(&fr[0], PROTO_CAST, "before") || pfd != -1)
                        _exit(1);
                if (node_read(sv[1], fr, 2, &pfd) != 1 || fr[0].kind != PROTO_CALL ||
                    fr[0].flags != PROTO_FLAG_REPLY_FD || pfd < 0)
                        _exit(2);
                size_t o = put(b, 0, PROTO_CAST, 0, 1, "me", "for the mailbox");
                send(sv[1], b, o, 0);
                o = put(b, 0, PROTO_REPLY, fr[0].ref, 0, NULL, "private answer");
                send(pfd, b, o, 0);
                _exit(0);
        }
        ASSERT_OK(fv_call(fv, "svc", "q", 1, FV_INFINITY, &reply));
        ASSERT_STREQ(reply.payload, "private answer");
        ASSERT_EQ(fv_pending(fv), 0);
        ASSERT_OK(fv_recv(fv, 2000, &m));
        ASSERT_STREQ(m.payload, "for the mailbox");
        ASSERT_EQ(wait_child(pid), 0);

        /* A node that drops the private socket without answering. */
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                Frame fr[2];
                int pfd;
                _exit(node_read(sv[1], fr, 2, &pfd) == 1 && pfd >= 0 ? 0 : 1);
        }
        ASSERT_ERR(fv_call(fv, "svc", "q", 1, 5000, &reply), -EPIPE);
        ASSERT_EQ(wait_child(pid), 0);
        fv_close(fv);
        close(sv[1]);
}

/* ---- the server ---- */

typedef struct Counter {
        long n;
        int fail_init;
} Counter;

static int c_init(struct fv *fv, void *state) {
        Counter *c = state;
        return c->fail_init ? -ENOTRECOVERABLE : 0;
}

static ssize_t c_call(struct fv *fv, void *state, const struct fv_message *msg, void *reply, size_t size) {
        Counter *c = state;
        if (strcmp(msg->payload, "later") == 0) {
                fv_reply(fv, msg->ref, "deferred", 8);
                return FV_NOREPLY;
        }
        return snprintf(reply, size, "%ld", c->n);
}

static int c_cast(struct fv *fv, void *state, const struct fv_message *msg) {
        Counter *c = state;
        if (strcmp(msg->payload, "stop") == 0)
                return 1;
        c->n++;
        return 0;
}

static void c_terminate(struct fv *fv, void *state, int reason) {
        Counter *c = state;
        /* The exit status tells the test what terminate saw. */
        fv_cast(fv, "log", reason == 0 ? "terminate 0" : "terminate error", reason == 0 ? 11 : 15);
        c->n = -1;
}

static const struct fv_server_callbacks counter_cb = {
        .init = c_init, .handle_call = c_call, .handle_cast = c_cast, .terminate = c_terminate,
};

static pid_t start_server(int sv[2], int fail_init) {
        pid_t pid = fork();
        if (pid == 0) {
                char e[16];
                Counter c = { .fail_init = fail_init };
                close(sv[1]);
                snprintf(e, sizeof e, "%d", sv[0]);
                setenv("FORKVISOR_MAILBOX", e, 1);
                int r = fv_server_run(&counter_cb, &c);
                _exit(r == 0 ? 0 : r == -ENOTRECOVERABLE ? 3 : 1);
        }
        close(sv[0]);
        return pid;
}

/* Reads the server's HELLO and READY (one record or two). */
static bool server_ready(int fd) {
        Frame fr[4];
        int k = node_read(fd, fr, 4, NULL);
        if (k < 1 || fr[0].kind != PROTO_HELLO)
                return false;
        if (k == 2)
                return fr[1].kind == PROTO_READY;
        return node_read(fd, fr, 4, NULL) == 1 && fr[0].kind == PROTO_READY;
}

TEST(server_answers_and_terminates_on_sigterm) {
        char b[PROTO_RECORD_MAX];
        Frame fr[8];
        size_t o = 0;
        int sv[2];

        pair(sv);
        pid_t pid = start_server(sv, 0);
        ASSERT_TRUE(pid > 0);
        ASSERT_TRUE(server_ready(sv[1]));
        for (int i = 0; i < 5; i++)
                o = put(b, o, PROTO_CAST, 0, 1, "c", "inc");
        o = put(b, o, PROTO_CALL, 9, 1, "c", "get");
        o = put(b, o, PROTO_GET_STATE, 10, 0, "c", NULL);
        o = put(b, o, PROTO_CALL, 11, 1, "c", "later");
        o = put(b, o, PROTO_INFO, 0, 0, "topic", "ignored without handle_info");
        ASSERT_EQ(send(sv[1], b, o, 0), (ssize_t) o);
        /* Three answers, in one record: flushed once, when the server ran out of messages. */
        ASSERT_EQ(node_read(sv[1], fr, 8, NULL), 3);
        ASSERT_TRUE(frame_is(&fr[0], PROTO_REPLY, "5") && fr[0].ref == 9);
        ASSERT_TRUE(frame_is(&fr[1], PROTO_REPLY, "no format_state") && fr[1].ref == 10);
        ASSERT_TRUE(frame_is(&fr[2], PROTO_REPLY, "deferred") && fr[2].ref == 11);
        ASSERT_EQ(kill(pid, SIGTERM), 0);
        ASSERT_EQ(node_read(sv[1], fr, 8, NULL), 1);
        ASSERT_TRUE(frame_is(&fr[0], PROTO_CAST, "terminate 0"));
        ASSERT_EQ(wait_child(pid), 0);
        close(sv[1]);
}

TEST(server_stops_at_eof_and_on_request) {
        char stop[256];
        Frame fr[4];
        int sv[2];
        size_t n = put(stop, 0, PROTO_CAST, 0, 1, "c", "stop");
        /* What the node sends (NULL: it shuts its end for writing), the server's last word, and
         * its exit. A malformed record: terminate with the error, and a failure exit. */
        const struct {
                const char *rec;
                size_t len;
                const char *last;
                int code;
        } ends[] = {
                { NULL, 0, "terminate 0", 0 },
                { stop, n, "terminate 0", 0 },
                { "FVgarbage", 9, "terminate error", 1 },
        };

        for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
                pair(sv);
                pid_t pid = start_server(sv, 0);
                ASSERT_TRUE(server_ready(sv[1]));
                if (ends[i].rec)
                        send(sv[1], ends[i].rec, ends[i].len, 0);
                else
                        shutdown(sv[1], SHUT_WR);
                ASSERT_EQ(node_read(sv[1], fr, 4, NULL), 1);
                ASSERT_TRUE(frame_is(&fr[0], PROTO_CAST, ends[i].last));
                ASSERT_EQ(wait_child(pid), ends[i].code);
                close(sv[1]);
        }
}

TEST(server_init_failure_is_not_ready) {
        Frame fr[4];
        int sv[2];

        pair(sv);
        pid_t pid = start_server(sv, 1);
        ASSERT_EQ(wait_child(pid), 3);
        /* Only the HELLO was flushed (at close); no READY, no terminate. */
        ASSERT_EQ(node_read(sv[1], fr, 4, NULL), 1);
        ASSERT_EQ(fr[0].kind, PROTO_HELLO);
        ASSERT_EQ(node_read(sv[1], fr, 4, NULL), 0);
        close(sv[1]);
}
