/* SPDX-License-Identifier: MIT */
/* The broker over real mailboxes (socketpairs): who receives what, once and in order; limits
 * and drops; subscriptions ending; a blocked subscriber keeping its messages intact while the
 * others go on. */
#include "tests.h"

#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "macro.h"
#include "proto.h"
#include "topic.h"

typedef struct Sub {
        int fd;                /* the worker's end */
        Mailbox *mb;
        Subscriber *s;
} Sub;

static unsigned frames_in; /* frames the mailboxes delivered from their workers */

static unsigned on_frame(void *ud, Mailbox *mb, const Frame *f, int fd) {
        frames_in++;
        return 1;
}
static void on_broken(void *ud, Mailbox *mb, const char *why) {}
static void on_dirty(void *ud, Mailbox *mb) {}
static const MailboxHandlers handlers = { on_frame, on_broken, on_dirty, NULL };

static int sub_new(sd_event *e, MailboxGroup *g, Broker *b, unsigned limit, Sub *ret) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        ret->fd = sv[1];
        int r = mailbox_new(e, g, sv[0], limit, &handlers, NULL, &ret->mb);
        if (r < 0)
                return r;
        mailbox_set_batch(ret->mb, true);
        ret->s = broker_subscriber_new(b, ret->mb);
        return ret->s ? 0 : -ENOMEM;
}

static void sub_free(Sub *x) {
        broker_subscriber_free(x->s);
        mailbox_free(x->mb);
        safe_close(x->fd);
}

/* An event loop, a broker and n subscribers with the given mailbox limits. */
typedef struct World {
        sd_event *e;
        MailboxGroup *g;
        Broker *b;
        Sub sub[3];
        int n;
} World;

static int world_new(World *w, int n, const unsigned *limits) {
        memset(w, 0, sizeof *w);
        int r = sd_event_new(&w->e);
        if (r >= 0)
                r = mailbox_group_new(&w->g);
        if (r >= 0)
                r = broker_new(&w->b);
        for (; r >= 0 && w->n < n; w->n++)
                r = sub_new(w->e, w->g, w->b, limits[w->n], &w->sub[w->n]);
        return r;
}

static void world_free(World *w) {
        for (int i = 0; i < w->n; i++)
                sub_free(&w->sub[i]);
        broker_free(w->b);
        mailbox_group_free(w->g);
        sd_event_unref(w->e);
}

/* Reads everything the worker's end has, as "topic=payload," into buf. Returns frames read. */
static int drain(Sub *x, char *buf, size_t size) {
        static char rec[PROTO_RECORD_MAX];
        int frames = 0;
        size_t len = strlen(buf);
        mailbox_flush(x->mb);
        for (;;) {
                ssize_t n = recv(x->fd, rec, sizeof rec, MSG_DONTWAIT);
                if (n <= 0)
                        return frames;
                for (size_t off = 0; off < (size_t) n;) {
                        Frame f;
                        size_t used;
                        if (proto_decode(rec + off, (size_t) n - off, &f, &used) < 0 || f.kind != PROTO_INFO)
                                return -1;
                        off += used;
                        frames++;
                        int k = snprintf(buf + len, size - len, "%.*s=%.*s,", (int) f.target_len, f.target,
                                         (int) (f.payload_len > 16 ? 16 : f.payload_len), (const char *) f.payload);
                        if (k > 0 && (size_t) k < size - len)
                                len += (size_t) k;
                }
        }
}

#define PUB(b, t, p) broker_publish(b, t, strlen(t), 42, p, strlen(p))

TEST(exact_and_prefix_once_in_order) {
        World w;
        char got[512] = "";
        ASSERT_OK(world_new(&w, 3, (unsigned[]) { 100, 100, 100 }));
        Broker *b = w.b;
        Sub x = w.sub[0], y = w.sub[1], z = w.sub[2];
        ASSERT_OK(broker_subscribe(x.s, "orders:eu", 9));
        ASSERT_OK(broker_subscribe(y.s, "orders:*", 8));
        ASSERT_OK(broker_subscribe(y.s, "orders:eu", 9)); /* matched twice: still once */
        ASSERT_OK(broker_subscribe(y.s, "orders:*", 8));  /* again: no second subscription */
        ASSERT_OK(broker_subscribe(z.s, "other", 5));

        ASSERT_EQ(PUB(b, "orders:eu", "1"), 2);
        ASSERT_EQ(PUB(b, "orders:us", "2"), 1);
        ASSERT_EQ(PUB(b, "orders:eu", "3"), 2);
        ASSERT_EQ(PUB(b, "nobody", "4"), 0);
        ASSERT_TRUE(broker_has_subscribers(b, "orders:x", 8));
        ASSERT_TRUE(!broker_has_subscribers(b, "nobody", 6));

        ASSERT_EQ(drain(&x, got, sizeof got), 2);
        ASSERT_STREQ(got, "orders:eu=1,orders:eu=3,");
        got[0] = '\0';
        ASSERT_EQ(drain(&y, got, sizeof got), 3);
        ASSERT_STREQ(got, "orders:eu=1,orders:us=2,orders:eu=3,");
        got[0] = '\0';
        ASSERT_EQ(drain(&z, got, sizeof got), 0);

        char *const *p = broker_subscriber_patterns(y.s);
        ASSERT_STREQ(p[0], "orders:*");
        ASSERT_STREQ(p[1], "orders:eu");
        ASSERT_TRUE(p[2] == NULL);
        world_free(&w);
}

TEST(bad_topics) {
        World w;
        ASSERT_OK(world_new(&w, 1, (unsigned[]) { 10 }));
        Broker *b = w.b;
        Sub x = w.sub[0];
        ASSERT_ERR(broker_subscribe(x.s, "a b", 3), -EINVAL);
        ASSERT_ERR(broker_subscribe(x.s, "a*b", 3), -EINVAL);
        ASSERT_ERR(broker_subscribe(x.s, "", 0), -EINVAL);
        ASSERT_ERR(PUB(b, "a*", "x"), -EINVAL);
        ASSERT_ERR(broker_publish(b, "t", 1, 0, "x", PROTO_PAYLOAD_MAX + 1), -EMSGSIZE);
        ASSERT_ERR(broker_unsubscribe(x.s, "t", 1), -ENOENT);
        world_free(&w);
}

TEST(unsubscribe_and_free_end_delivery) {
        World w;
        char got[256] = "";
        ASSERT_OK(world_new(&w, 2, (unsigned[]) { 100, 100 }));
        Broker *b = w.b;
        Sub *x = &w.sub[0], *y = &w.sub[1];
        ASSERT_OK(broker_subscribe(x->s, "t", 1));
        ASSERT_OK(broker_subscribe(x->s, "u", 1));
        ASSERT_OK(broker_subscribe(y->s, "t", 1));
        ASSERT_EQ(PUB(b, "t", "1"), 2); /* cached: t → x, y */
        ASSERT_OK(broker_unsubscribe(x->s, "t", 1));
        ASSERT_EQ(PUB(b, "t", "2"), 1); /* the cache must have been forgotten */
        ASSERT_EQ(PUB(b, "u", "3"), 1);
        broker_subscriber_free(y->s);
        y->s = NULL;
        ASSERT_EQ(PUB(b, "t", "4"), 0);
        ASSERT_EQ(drain(x, got, sizeof got), 2);
        ASSERT_STREQ(got, "t=1,u=3,");
        got[0] = '\0';
        ASSERT_EQ(drain(y, got, sizeof got), 2);
        ASSERT_STREQ(got, "t=1,t=2,");
        world_free(&w);
}

TEST(limit_drops_only_the_slow_one) {
        World w;
        char got[4096] = "";
        ASSERT_OK(world_new(&w, 2, (unsigned[]) { 3, 1000 }));
        Broker *b = w.b;
        Sub slow = w.sub[0], fast = w.sub[1];
        ASSERT_OK(broker_subscribe(slow.s, "t", 1));
        ASSERT_OK(broker_subscribe(fast.s, "*", 1));
        for (int i = 0; i < 10; i++)
                ASSERT_EQ(PUB(b, "t", "m"), i < 3 ? 2 : 1);
        ASSERT_EQ(broker_subscriber_dropped(slow.s), 7);
        ASSERT_EQ(broker_subscriber_dropped(fast.s), 0);
        MailboxStats st;
        mailbox_get_stats(slow.mb, &st);
        ASSERT_EQ(st.dropped, 7);
        ASSERT_EQ(drain(&fast, got, sizeof got), 10);
        mailbox_flush(slow.mb);
        /* Sent but unread: the limit still counts them. */
        ASSERT_EQ(PUB(b, "t", "m"), 1);
        ASSERT_EQ(broker_subscriber_dropped(slow.s), 8);
        got[0] = '\0';
        ASSERT_EQ(drain(&slow, got, sizeof got), 3);
        world_free(&w);
}

/* A subscriber whose socket is full keeps every queued message intact while the broker goes on
 * publishing (and reusing its chunks) for the others. */
TEST(blocked_subscriber_keeps_its_messages) {
        World w;
        static char payload[8192];
        ASSERT_OK(world_new(&w, 2, (unsigned[]) { 100000, 100000 }));
        Broker *b = w.b;
        Sub slow = w.sub[0], fast = w.sub[1];
        ASSERT_OK(broker_subscribe(slow.s, "t", 1));
        ASSERT_OK(broker_subscribe(fast.s, "t", 1));
        int sent = 0;
        for (int round = 0; round < 40; round++) {
                for (int i = 0; i < 20; i++, sent++) {
                        memset(payload, 'a' + sent % 26, sizeof payload);
                        ASSERT_EQ(broker_publish(b, "t", 1, 0, payload, sizeof payload), 2);
                }
                mailbox_flush(slow.mb); /* blocks after a while: nobody reads */
                char sink[64] = "";
                ASSERT_EQ(drain(&fast, sink, sizeof sink), 20);
        }
        /* Now read the slow one to the end, checking every payload. */
        static char rec[PROTO_RECORD_MAX];
        int got = 0;
        for (int idle = 0; idle < 3;) {
                mailbox_flush(slow.mb);
                ssize_t n = recv(slow.fd, rec, sizeof rec, MSG_DONTWAIT);
                if (n <= 0) {
                        idle++;
                        continue;
                }
                idle = 0;
                for (size_t off = 0; off < (size_t) n;) {
                        Frame f;
                        size_t used;
                        ASSERT_OK(proto_decode(rec + off, (size_t) n - off, &f, &used));
                        off += used;
                        ASSERT_EQ(f.payload_len, sizeof payload);
                        const char *p = f.payload;
                        ASSERT_EQ(p[0], 'a' + got % 26);
                        ASSERT_EQ(p[sizeof payload - 1], 'a' + got % 26);
                        got++;
                }
        }
        ASSERT_EQ(got, sent);
        world_free(&w);
}

TEST(subscriptions_are_bounded) {
        World w;
        char t[16];
        ASSERT_OK(world_new(&w, 1, (unsigned[]) { 10 }));
        for (int i = 0; i < TOPIC_SUBSCRIPTIONS_MAX; i++) {
                int n = snprintf(t, sizeof t, "t%d", i);
                ASSERT_OK(broker_subscribe(w.sub[0].s, t, (size_t) n));
        }
        ASSERT_ERR(broker_subscribe(w.sub[0].s, "one:more", 8), -ENOSPC);
        ASSERT_OK(broker_subscribe(w.sub[0].s, "t7", 2)); /* one it holds: still fine */
        ASSERT_OK(broker_unsubscribe(w.sub[0].s, "t7", 2));
        ASSERT_OK(broker_subscribe(w.sub[0].s, "one:more", 8));
        world_free(&w);
}

/* mailbox_limit counts what the worker has not read, in the node and in the socket, also after
 * it has read part of it: the unread never exceeds the limit. */
TEST(limit_holds_while_the_reader_reads_part) {
        World w;
        static char rec[PROTO_RECORD_MAX];
        ASSERT_OK(world_new(&w, 1, (unsigned[]) { 10 }));
        Sub *x = &w.sub[0];
        mailbox_set_batch(x->mb, false); /* one frame per record: the worker reads them one by one */
        Frame f = { .kind = PROTO_CAST, .target = "x", .target_len = 1, .payload = "hello", .payload_len = 5 };
        int ok = 0;
        for (int i = 0; i < 12; i++)
                ok += mailbox_queue_limited(x->mb, &f) >= 0;
        ASSERT_EQ(ok, 10);
        mailbox_flush(x->mb);
        ASSERT_TRUE(recv(x->fd, rec, sizeof rec, MSG_DONTWAIT) > 0); /* reads 1 of 10 */
        for (int round = 0; round < 3; round++) {
                mailbox_group_new_turn(w.g);
                for (int i = 0; i < 12; i++)
                        (void) mailbox_queue_limited(x->mb, &f);
                mailbox_flush(x->mb);
        }
        int unread = 0;
        while (recv(x->fd, rec, sizeof rec, MSG_DONTWAIT) > 0)
                unread++;
        ASSERT_TRUE(unread <= 10);
        ASSERT_TRUE(unread >= 9);
        world_free(&w);
}

/* A worker that closed its end: nothing more reaches it, but what it sent is still delivered. */
TEST(what_a_worker_sent_before_closing_is_delivered) {
        World w;
        char rec[3 * 64];
        size_t len = 0;
        ASSERT_OK(world_new(&w, 1, (unsigned[]) { 10 }));
        Sub *x = &w.sub[0];
        for (int i = 0; i < 3; i++) {
                Frame f = { .kind = PROTO_CAST, .target = "y", .target_len = 1, .payload = "m", .payload_len = 1 };
                int n = proto_encode(&f, rec + len, sizeof rec - len);
                ASSERT_TRUE(n > 0);
                len += (size_t) n;
        }
        ASSERT_TRUE(send(x->fd, rec, len, 0) == (ssize_t) len);
        x->fd = safe_close(x->fd);
        Frame f = { .kind = PROTO_CAST, .target = "x", .target_len = 1, .payload = "late", .payload_len = 4 };
        ASSERT_OK(mailbox_queue(x->mb, &f));
        mailbox_flush(x->mb); /* fails: its end is closed */
        ASSERT_ERR(mailbox_queue(x->mb, &f), -ENOBUFS);
        frames_in = 0;
        mailbox_drain(x->mb);
        ASSERT_EQ(frames_in, 3);
        MailboxStats st;
        mailbox_get_stats(x->mb, &st);
        ASSERT_EQ(st.dropped, 1);
        world_free(&w);
}

/* ---- the flush scheduler: a MailboxGroup per owner ------------------------------------------ */

/* A frame that costs a whole wake-up's work: the mailbox reading it is left with input to read. */
static unsigned on_heavy_frame(void *ud, Mailbox *mb, const Frame *f, int fd) {
        return 1u << 20;
}
static const MailboxHandlers heavy_handlers = { on_heavy_frame, on_broken, on_dirty, NULL };

/* While a mailbox of the group still has input to read, a small queue elsewhere in the group
 * waits a few passes to gather whole records; a mailbox of another group (another owner) does
 * not wait for it: the scheduler's state is its owner's, not the module's. */
TEST(backlog_delays_flushes_of_its_own_group_only) {
        World w, other;
        ASSERT_OK(world_new(&w, 1, (unsigned[]) { 100 }));
        ASSERT_OK(world_new(&other, 1, (unsigned[]) { 100 }));
        int sv[2];
        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
        Mailbox *reader;
        ASSERT_OK(mailbox_new(w.e, w.g, sv[0], 100, &heavy_handlers, NULL, &reader));
        /* Two records, one frame each: the first uses up the wake-up, the second waits. */
        for (int i = 0; i < 2; i++) {
                char rec[64];
                Frame f = { .kind = PROTO_CAST, .target = "y", .target_len = 1, .payload = "m", .payload_len = 1 };
                int n = proto_encode(&f, rec, sizeof rec);
                ASSERT_TRUE(n > 0);
                ASSERT_TRUE(send(sv[1], rec, (size_t) n, 0) == n);
        }
        ASSERT_TRUE(sd_event_run(w.e, 0) > 0);

        Frame f = { .kind = PROTO_CAST, .target = "x", .target_len = 1, .payload = "hi", .payload_len = 2 };
        ASSERT_OK(mailbox_queue(w.sub[0].mb, &f));
        ASSERT_OK(mailbox_queue(other.sub[0].mb, &f));
        ASSERT_TRUE(mailbox_flush_due(other.sub[0].mb));
        mailbox_group_next_pass(w.g);
        ASSERT_TRUE(!mailbox_flush_due(w.sub[0].mb));
        int passes = 1;
        while (!mailbox_flush_due(w.sub[0].mb) && passes < 100) {
                mailbox_group_next_pass(w.g);
                passes++;
        }
        ASSERT_TRUE(passes > 1 && passes < 100); /* bounded: never more than a few passes */

        mailbox_free(reader);
        safe_close(sv[1]);
        world_free(&w);
        world_free(&other);
}

/* The cluster's hooks (cluster-pubsub.h): each publication made here, none delivered from
 * another node; a pattern's first subscriber and its last, the ones held when hooked. */
static char hook_log[512];

static void hook_published(void *ud, const char *topic, size_t tlen, const void *data, size_t len) {
        snprintf(hook_log + strlen(hook_log), sizeof hook_log - strlen(hook_log), "pub %.*s %.*s;", (int) tlen, topic,
                 (int) len, (const char *) data);
}

static void hook_interest(void *ud, const char *pattern, size_t len, bool on) {
        snprintf(hook_log + strlen(hook_log), sizeof hook_log - strlen(hook_log), "%c%.*s;", on ? '+' : '-', (int) len,
                 pattern);
}

TEST(broker_hooks) {
        static const BrokerHooks hooks = { hook_published, hook_interest };
        Broker *b = NULL;
        ASSERT_OK(broker_new(&b));
        Subscriber *x = broker_subscriber_new(b, NULL), *y = broker_subscriber_new(b, NULL);
        ASSERT_TRUE(x && y);
        ASSERT_OK(broker_subscribe(x, "a*", 2));
        ASSERT_TRUE(!broker_has_subscribers(b, "b", 1));

        hook_log[0] = '\0';
        broker_set_hooks(b, &hooks, NULL);
        ASSERT_STREQ(hook_log, "+a*;");
        ASSERT_TRUE(broker_has_subscribers(b, "b", 1)); /* another node may want it */

        hook_log[0] = '\0';
        ASSERT_OK(broker_subscribe(y, "a*", 2));  /* held already */
        ASSERT_OK(broker_subscribe(y, "b", 1));
        ASSERT_OK(broker_subscribe(y, "b", 1));   /* again: nothing */
        ASSERT_OK(broker_unsubscribe(x, "a*", 2)); /* y holds it still */
        ASSERT_EQ(broker_publish(b, "c", 1, 0, "hi", 2), 0);
        ASSERT_EQ(broker_deliver(b, "c", 1, "no", 2), 0);
        ASSERT_EQ(broker_publish(b, "c*", 2, 0, "no", 2), -EINVAL);
        y = broker_subscriber_free(y);             /* the last of a* and of b */
        ASSERT_STREQ(hook_log, "+b;pub c hi;-a*;-b;");

        broker_set_hooks(b, NULL, NULL);
        hook_log[0] = '\0';
        ASSERT_OK(broker_subscribe(x, "z", 1));
        ASSERT_EQ(broker_publish(b, "c", 1, 0, "hi", 2), 0);
        ASSERT_STREQ(hook_log, "");
        broker_subscriber_free(x);
        broker_free(b);
}
