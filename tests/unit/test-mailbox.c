/* SPDX-License-Identifier: MIT */
/* One mailbox over a real socketpair and a real sd-event loop, the test playing the worker:
 * records delivered frame by frame and in order (also across wake-ups that run out of work),
 * every bad record refused whole before any of it is delivered (and its fds closed), the queue's
 * limit and drop count, a reader that does not keep up (EAGAIN, then EPOLLOUT), and a worker
 * that goes away. */
#include "tests.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chunk.h"
#include "fake-worker.h"
#include "macro.h"
#include "mailbox.h"
#include "proto.h"

typedef struct Box {
        sd_event *e;
        MailboxGroup *group;
        Mailbox *mb;
        int peer;              /* the worker's end */
        char log[16384];       /* frames the mailbox delivered, as fake-worker.h writes them */
        unsigned frames;
        unsigned work;         /* what the frame handler says each frame cost */
        int fds;               /* fds that came with frames (closed here) */
        const char *broken;    /* why, once broken */
        unsigned hangups;
        unsigned dirty;
} Box;

static unsigned on_frame(void *ud, Mailbox *mb, const Frame *f, int fd) {
        Box *b = ud;
        fw_log_frame(b->log, sizeof b->log, f);
        b->frames++;
        if (fd >= 0) {
                b->fds++;
                safe_close(fd);
        }
        return b->work;
}

static void on_broken(void *ud, Mailbox *mb, const char *why) {
        ((Box *) ud)->broken = why;
}

static void on_dirty(void *ud, Mailbox *mb) {
        ((Box *) ud)->dirty++;
}

static void on_hangup(void *ud, Mailbox *mb) {
        ((Box *) ud)->hangups++;
}

static const MailboxHandlers handlers = { on_frame, on_broken, on_dirty, on_hangup };

/* A mailbox limited to limit frames; the test's end in b->peer. */
static int box_new(Box *b, unsigned limit) {
        int sv[2];
        memset(b, 0, sizeof *b);
        b->work = 1;
        int r = sd_event_new(&b->e);
        if (r < 0)
                return r;
        r = mailbox_group_new(&b->group);
        if (r < 0)
                return r;
        fw_pair(sv);
        b->peer = sv[1];
        return mailbox_new(b->e, b->group, sv[0], limit, &handlers, b, &b->mb);
}

static void box_free(Box *b) {
        mailbox_free(b->mb);
        mailbox_group_free(b->group);
        safe_close(b->peer);
        sd_event_unref(b->e);
}

static bool got_broken(void *ud) {
        return ((Box *) ud)->broken != NULL;
}

static bool got_hangup(void *ud) {
        return ((Box *) ud)->hangups > 0;
}

static unsigned want_frames;
static bool got_frames(void *ud) {
        return ((Box *) ud)->frames >= want_frames;
}

/* Queues a cast whose payload is "%u" of i. */
static int queue_numbered(Mailbox *mb, unsigned i, bool limited, size_t pad) {
        static char payload[PROTO_PAYLOAD_MAX];
        int n = snprintf(payload, sizeof payload, "%u", i);
        if (pad > (size_t) n) {
                memset(payload + n, '.', pad - (size_t) n);
                n = (int) pad;
        }
        Frame f = { .kind = PROTO_CAST, .target = "w", .target_len = 1, .payload = payload, .payload_len = (size_t) n };
        return limited ? mailbox_queue_limited(mb, &f) : mailbox_queue(mb, &f);
}

TEST(frames_of_a_record_delivered_in_order) {
        Box b;
        ASSERT_OK(box_new(&b, 16));
        Frame fr[3] = { fw_frame(PROTO_CAST, 0, "a", "1"), fw_frame(PROTO_CALL, 7, "b", "2"),
                        fw_frame(PROTO_READY, 0, NULL, NULL) };
        ASSERT_TRUE(fw_send(b.peer, fr, 3, -1) > 0);
        ASSERT_TRUE(fw_send1(b.peer, PROTO_CAST, 0, "c", "3") > 0);
        want_frames = 4;
        ASSERT_TRUE(fw_run_until(b.e, got_frames, &b));
        ASSERT_STREQ(b.log, "cast:a=1 call#7:b=2 ready:= cast:c=3 ");
        MailboxStats st;
        mailbox_get_stats(b.mb, &st);
        ASSERT_EQ(st.in, 4);
        ASSERT_TRUE(!b.broken);
        box_free(&b);
}

/* A wake-up does a bounded amount of work: a record whose frames cost more is delivered in
 * parts, on later passes, and the records behind it wait their turn: nothing is reordered. */
TEST(record_delivered_in_parts_keeps_order) {
        Box b;
        ASSERT_OK(box_new(&b, 16));
        b.work = 10000; /* two frames exhaust a wake-up's budget */
        Frame fr[5] = { fw_frame(PROTO_CAST, 0, "a", "1"), fw_frame(PROTO_CAST, 0, "a", "2"),
                        fw_frame(PROTO_CAST, 0, "a", "3"), fw_frame(PROTO_CAST, 0, "a", "4"),
                        fw_frame(PROTO_CAST, 0, "a", "5") };
        ASSERT_TRUE(fw_send(b.peer, fr, 5, -1) > 0);
        ASSERT_TRUE(fw_send1(b.peer, PROTO_CAST, 0, "b", "6") > 0);
        ASSERT_OK(sd_event_run(b.e, 1000 * USEC_PER_MSEC));
        ASSERT_EQ(b.frames, 2); /* one wake-up: the budget ran out after two */
        want_frames = 6;
        ASSERT_TRUE(fw_run_until(b.e, got_frames, &b));
        ASSERT_STREQ(b.log, "cast:a=1 cast:a=2 cast:a=3 cast:a=4 cast:a=5 cast:b=6 ");
        box_free(&b);
}

TEST(reply_fd_handed_to_the_handler) {
        Box b;
        int p[2];
        ASSERT_OK(box_new(&b, 16));
        ASSERT_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
        Frame f = fw_frame(PROTO_CALL, 3, "x", "hi");
        f.flags = PROTO_FLAG_REPLY_FD;
        ASSERT_TRUE(fw_send(b.peer, &f, 1, p[1]) > 0);
        want_frames = 1;
        ASSERT_TRUE(fw_run_until(b.e, got_frames, &b));
        ASSERT_EQ(b.fds, 1);
        ASSERT_TRUE(!b.broken);
        safe_close(p[0]);
        safe_close(p[1]);
        box_free(&b);
}

/* Each bad record breaks the mailbox with its reason, delivers nothing of itself (not even a
 * good frame before the bad one), closes the fds it brought, and closes the worker's line. */
typedef struct BadRecord {
        const char *name;
        const char *why;
        bool with_fd;
} BadRecord;

static size_t bad_record(int i, char *buf, size_t size) {
        Frame good = fw_frame(PROTO_CAST, 0, "a", "ok");
        Frame call = fw_frame(PROTO_CALL, 1, "a", "x");
        call.flags = PROTO_FLAG_REPLY_FD;
        size_t len = (size_t) proto_encode(&good, buf, size);
        switch (i) {
        case 0: /* a good frame, then a bad magic */
                memcpy(buf + len, buf, len);
                buf[len] = 'X';
                return 2 * len;
        case 1: /* another version */
                buf[2] = PROTO_VERSION + 1;
                return len;
        case 2: /* a good frame, then one cut short */
                memcpy(buf + len, buf, len);
                return 2 * len - 1;
        case 3: /* a frame kind nobody knows */
                buf[3] = _PROTO_KIND_MAX;
                return len;
        case 4: /* a cast with an fd */
                return len;
        case 5: /* asks for a reply fd and brings none */
                return (size_t) proto_encode(&call, buf, size);
        case 6: /* two calls and an fd */
                len = (size_t) proto_encode(&call, buf, size);
                return len + (size_t) proto_encode(&call, buf + len, size - len);
        case 7: /* a cast flagged with a reply fd, with an fd */
                good.flags = PROTO_FLAG_REPLY_FD;
                return (size_t) proto_encode(&good, buf, size);
        default: /* longer than any record may be */
                memset(buf + len, 0, PROTO_RECORD_MAX + 1 - len);
                return PROTO_RECORD_MAX + 1;
        }
}

static const BadRecord bad_records[] = {
        { "bad magic", "malformed frame", false },
        { "version", "unsupported protocol version", false },
        { "truncated", "malformed frame", false },
        { "unknown kind", "malformed frame", false },
        { "unasked fd", "file descriptors it was not asked for", true },
        { "reply fd missing", "reply fd flag without exactly one fd on a request", false },
        { "fd with two frames", "file descriptors it was not asked for", true },
        { "reply fd on a cast", "reply fd flag without exactly one fd on a request", true },
        { "too long", "record too long", false },
};

TEST(bad_records_refused_whole) {
        static char buf[PROTO_RECORD_MAX + 64];
        for (size_t i = 0; i < ELEMENTSOF(bad_records); i++) {
                const BadRecord *t = &bad_records[i];
                Box b;
                int p[2] = { -1, -1 };
                ASSERT_OK(box_new(&b, 16));
                int sndbuf = 4 * PROTO_RECORD_MAX;
                (void) setsockopt(b.peer, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
                if (t->with_fd)
                        ASSERT_OK(pipe2(p, O_CLOEXEC | O_NONBLOCK));
                size_t len = bad_record((int) i, buf, sizeof buf);
                if (fw_send_raw(b.peer, buf, len, p[1]) < 0)
                        FAIL_("%s: send: %m", t->name);
                p[1] = safe_close(p[1]); /* the only copy left is the one in flight */
                if (!fw_run_until(b.e, got_broken, &b))
                        FAIL_("%s: not refused", t->name);
                if (strcmp(b.broken, t->why) != 0)
                        FAIL_("%s: refused as \"%s\", expected \"%s\"", t->name, b.broken, t->why);
                if (b.frames != 0)
                        FAIL_("%s: delivered \"%s\"", t->name, b.log);
                if (p[0] >= 0) {
                        char c;
                        if (read(p[0], &c, 1) != 0) /* every write end closed: end of file */
                                FAIL_("%s: the fd that came with it was kept", t->name);
                }
                /* Closed: the worker reads end of file, and nothing more is queued. */
                ASSERT_EQ(fw_read_record(b.peer, b.log, sizeof b.log), 0);
                Frame f = fw_frame(PROTO_REPLY, 1, NULL, "late");
                ASSERT_ERR(mailbox_queue(b.mb, &f), -ENOBUFS);
                ASSERT_EQ(b.hangups, 0);
                safe_close(p[0]);
                box_free(&b);
        }
}

/* Without HELLO a worker reads one frame per record; with batches, as few records as fit. */
TEST(flush_one_frame_per_record_unless_batched) {
        Box b;
        char got[1024] = "";
        ASSERT_OK(box_new(&b, 64));
        for (unsigned i = 0; i < 5; i++)
                ASSERT_OK(queue_numbered(b.mb, i, false, 0));
        ASSERT_EQ(b.dirty, 1); /* the owner is told once, not per frame */
        ASSERT_EQ(mailbox_flush(b.mb), 5 * proto_frame_size(1, 1));
        for (unsigned i = 0; i < 5; i++)
                ASSERT_EQ(fw_read_record(b.peer, got, sizeof got), 1);
        ASSERT_ERR(fw_read_record(b.peer, got, sizeof got), -EAGAIN);
        ASSERT_STREQ(got, "cast:w=0 cast:w=1 cast:w=2 cast:w=3 cast:w=4 ");

        mailbox_set_batch(b.mb, true);
        got[0] = 0;
        for (unsigned i = 5; i < 10; i++)
                ASSERT_OK(queue_numbered(b.mb, i, false, 0));
        ASSERT_EQ(b.dirty, 2);
        (void) mailbox_flush(b.mb);
        ASSERT_EQ(fw_read_record(b.peer, got, sizeof got), 5);
        ASSERT_STREQ(got, "cast:w=5 cast:w=6 cast:w=7 cast:w=8 cast:w=9 ");
        MailboxStats st;
        mailbox_get_stats(b.mb, &st);
        ASSERT_EQ(st.out, 10);
        ASSERT_EQ(st.depth, 0);
        box_free(&b);
}

/* A batch never exceeds the largest record: big frames are split over several records. */
TEST(batched_records_never_exceed_the_maximum) {
        Box b;
        static char got[1 << 20];
        ASSERT_OK(box_new(&b, 64));
        mailbox_set_batch(b.mb, true);
        for (unsigned i = 0; i < 5; i++)
                ASSERT_OK(queue_numbered(b.mb, i, false, 30000));
        (void) mailbox_flush(b.mb);
        /* Two frames of 30 KiB fit in a record, three do not. */
        got[0] = 0;
        ASSERT_EQ(fw_read_record(b.peer, got, sizeof got), 2);
        ASSERT_EQ(fw_read_record(b.peer, got, sizeof got), 2);
        ASSERT_EQ(fw_read_record(b.peer, got, sizeof got), 1);
        ASSERT_ERR(fw_read_record(b.peer, got, sizeof got), -EAGAIN);
        box_free(&b);
}

/* A limited queue refuses past its limit and counts each refusal; frames the worker has not read
 * from the socket count too, until it reads them. */
TEST(limit_counts_unread_frames_and_drops) {
        Box b;
        char got[1024] = "";
        ASSERT_OK(box_new(&b, 4));
        for (unsigned i = 0; i < 4; i++)
                ASSERT_OK(queue_numbered(b.mb, i, true, 0));
        ASSERT_ERR(queue_numbered(b.mb, 4, true, 0), -EAGAIN);
        ASSERT_TRUE(mailbox_is_full(b.mb));
        /* Answers are not limited. */
        Frame reply = fw_frame(PROTO_REPLY, 9, NULL, "r");
        ASSERT_OK(mailbox_queue(b.mb, &reply));
        MailboxStats st;
        mailbox_get_stats(b.mb, &st);
        ASSERT_EQ(st.dropped, 1);
        ASSERT_EQ(st.depth, 5);

        /* In the socket now, unread: still full. */
        (void) mailbox_flush(b.mb);
        ASSERT_ERR(queue_numbered(b.mb, 5, true, 0), -EAGAIN);
        mailbox_get_stats(b.mb, &st);
        ASSERT_EQ(st.dropped, 2);
        ASSERT_EQ(st.depth, 5);

        /* The worker reads them, and says something (a new turn of the loop): room again. */
        ASSERT_EQ(fw_read_all(b.peer, got, sizeof got), 5);
        ASSERT_STREQ(got, "cast:w=0 cast:w=1 cast:w=2 cast:w=3 reply#9:=r ");
        ASSERT_TRUE(fw_send1(b.peer, PROTO_HELLO, 0, NULL, NULL) > 0);
        want_frames = 1;
        ASSERT_TRUE(fw_run_until(b.e, got_frames, &b));
        ASSERT_TRUE(!mailbox_is_full(b.mb));
        ASSERT_OK(queue_numbered(b.mb, 6, true, 0));
        mailbox_get_stats(b.mb, &st);
        ASSERT_EQ(st.dropped, 2);
        ASSERT_EQ(st.depth, 1);
        box_free(&b);
}

TEST(shared_frames_are_limited_too) {
        Box b;
        char got[256] = "";
        ASSERT_OK(box_new(&b, 2));
        Chunk *c = chunk_new(256);
        ASSERT_TRUE(c);
        Frame f = fw_frame(PROTO_INFO, 0, "t", "pub");
        int n = proto_encode(&f, c->data, c->cap);
        ASSERT_TRUE(n > 0);
        c->len = (size_t) n;
        ASSERT_OK(mailbox_queue_shared(b.mb, c, 0, c->len));
        ASSERT_OK(mailbox_queue_shared(b.mb, c, 0, c->len));
        ASSERT_ERR(mailbox_queue_shared(b.mb, c, 0, c->len), -EAGAIN);
        chunk_unref(c); /* the mailbox holds its own references */
        (void) mailbox_flush(b.mb);
        ASSERT_EQ(fw_read_all(b.peer, got, sizeof got), 2);
        ASSERT_STREQ(got, "info:t=pub info:t=pub ");
        MailboxStats st;
        mailbox_get_stats(b.mb, &st);
        ASSERT_EQ(st.dropped, 1);
        box_free(&b);
}

/* A worker that reads slowly, one record per loop iteration: the socket fills (EAGAIN), the
 * mailbox waits for EPOLLOUT and goes on by itself, and every frame arrives once, whole and in
 * order. */
TEST(slow_reader_gets_everything_in_order) {
        Box b;
        const unsigned total = 600;
        unsigned read_ = 0;
        ASSERT_OK(box_new(&b, 100000));
        for (unsigned i = 0; i < total; i++)
                ASSERT_OK(queue_numbered(b.mb, i, false, 1000));
        size_t sent = mailbox_flush(b.mb);
        ASSERT_TRUE(sent > 0);
        ASSERT_TRUE(sent < total * proto_frame_size(1, 1000)); /* the socket is full */
        MailboxStats st;
        mailbox_get_stats(b.mb, &st);
        ASSERT_EQ(st.depth, total); /* queued or unread, none lost */

        usec_t end = now_usec() + 2 * USEC_PER_SEC;
        while (read_ < total && now_usec() < end) {
                char one[64] = "", want[32];
                int k = fw_read_record(b.peer, one, sizeof one);
                if (k == -EAGAIN) {
                        /* Nothing in the socket: the mailbox must send more by itself. */
                        ASSERT_OK(sd_event_run(b.e, 50 * USEC_PER_MSEC));
                        continue;
                }
                ASSERT_EQ(k, 1);
                snprintf(want, sizeof want, "cast:w=%u.", read_);
                if (strncmp(one, want, strlen(want)) != 0)
                        FAIL_("record %u is \"%.40s\"", read_, one);
                read_++;
                ASSERT_OK(sd_event_run(b.e, 0));
        }
        ASSERT_EQ(read_, total);
        ASSERT_ERR(fw_read_record(b.peer, b.log, sizeof b.log), -EAGAIN);
        mailbox_get_stats(b.mb, &st);
        ASSERT_EQ(st.out, total);
        ASSERT_EQ(st.dropped, 0);
        ASSERT_EQ(st.depth, 0);
        box_free(&b);
}

/* The worker closed its end: what it sent before is delivered, then the owner hears of it once;
 * nothing more is queued. */
TEST(peer_close_delivers_then_hangs_up) {
        Box b;
        ASSERT_OK(box_new(&b, 16));
        ASSERT_TRUE(fw_send1(b.peer, PROTO_CAST, 0, "a", "last") > 0);
        ASSERT_TRUE(fw_send1(b.peer, PROTO_READY, 0, NULL, NULL) > 0);
        b.peer = safe_close(b.peer);
        ASSERT_TRUE(fw_run_until(b.e, got_hangup, &b));
        ASSERT_STREQ(b.log, "cast:a=last ready:= ");
        fw_run_pending(b.e);
        ASSERT_EQ(b.hangups, 1);
        ASSERT_TRUE(!b.broken);
        Frame f = fw_frame(PROTO_CAST, 0, "a", "x");
        ASSERT_ERR(mailbox_queue(b.mb, &f), -ENOBUFS);
        box_free(&b);
}

/* The worker stopped reading (or died with its end still held): what was queued for it is
 * dropped and counted, but what it sent is still read. */
TEST(reader_gone_drops_queue_keeps_reading) {
        Box b;
        ASSERT_OK(box_new(&b, 16));
        ASSERT_OK(shutdown(b.peer, SHUT_RD));
        for (unsigned i = 0; i < 3; i++)
                ASSERT_OK(queue_numbered(b.mb, i, false, 0));
        ASSERT_EQ(mailbox_flush(b.mb), 0);
        MailboxStats st;
        mailbox_get_stats(b.mb, &st);
        ASSERT_EQ(st.dropped, 3);
        ASSERT_EQ(st.depth, 0);
        ASSERT_TRUE(fw_send1(b.peer, PROTO_CAST, 0, "a", "still") > 0);
        want_frames = 1;
        ASSERT_TRUE(fw_run_until(b.e, got_frames, &b));
        ASSERT_STREQ(b.log, "cast:a=still ");
        ASSERT_TRUE(!b.broken);
        box_free(&b);
}

/* Its process is reaped: everything it wrote is delivered at once, without the loop. */
TEST(drain_delivers_what_is_left) {
        Box b;
        ASSERT_OK(box_new(&b, 16));
        b.work = 10000; /* more than one wake-up's worth */
        for (unsigned i = 0; i < 4; i++)
                ASSERT_TRUE(fw_send1(b.peer, PROTO_CAST, 0, "a", i % 2 ? "odd" : "even") > 0);
        mailbox_drain(b.mb);
        ASSERT_STREQ(b.log, "cast:a=even cast:a=odd cast:a=even cast:a=odd ");
        box_free(&b);
}

TEST(oversized_frames_refused) {
        Box b;
        static char big[PROTO_PAYLOAD_MAX + 1];
        ASSERT_OK(box_new(&b, 16));
        Frame f = { .kind = PROTO_CAST, .payload = big, .payload_len = sizeof big };
        ASSERT_ERR(mailbox_queue(b.mb, &f), -EMSGSIZE);
        MailboxStats st;
        mailbox_get_stats(b.mb, &st);
        ASSERT_EQ(st.depth, 0);
        box_free(&b);
}
