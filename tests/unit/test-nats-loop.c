/* SPDX-License-Identifier: MIT */
/* Unit tests of the libnats event-loop adapter's queue (nats-loop.c): what other threads post
 * runs on the loop thread, in the order each thread posted it; the droppable posts are bounded
 * and counted; what is left at the end is handed to its drop function, never run. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "nats-loop.h"
#include "tests.h"

#define THREADS 4
#define PER_THREAD 2000

typedef struct Ctx {
        sd_event *e;
        NatsLoop *loop;
        pthread_t main;
        unsigned next[THREADS]; /* the next number due from each thread */
        unsigned got, wanted;
        bool off_thread, out_of_order;
        unsigned dropped;
        unsigned got_of[THREADS]; /* items taken from each thread */
        int first;                /* the thread of the first item taken, or -1 */
} Ctx;

typedef struct Item {
        unsigned thread, n;
} Item;

static void on_item(void *ud, void *payload) {
        Ctx *c = ud;
        Item *it = payload;

        if (!pthread_equal(pthread_self(), c->main))
                c->off_thread = true;
        if (it->n != c->next[it->thread])
                c->out_of_order = true;
        c->next[it->thread] = it->n + 1;
        if (c->got == 0)
                c->first = (int) it->thread;
        c->got_of[it->thread]++;
        free(it);
        if (++c->got == c->wanted)
                sd_event_exit(c->e, 0);
}

static void drop_item(void *ud, void *payload) {
        Ctx *c = ud;
        c->dropped++;
        free(payload);
}

typedef struct Poster {
        Ctx *ctx;
        unsigned id;
        int failed;
} Poster;

static void *poster(void *ud) {
        Poster *p = ud;
        for (unsigned i = 0; i < PER_THREAD; i++) {
                Item *it = malloc(sizeof *it);
                if (!it) {
                        p->failed = -ENOMEM;
                        return NULL;
                }
                *it = (Item) { p->id, i };
                /* Not droppable: every one must arrive. */
                int r = nats_loop_post(p->ctx->loop, on_item, drop_item, p->ctx, it, NATS_LOOP_KEEP);
                if (r < 0) {
                        free(it);
                        p->failed = r;
                        return NULL;
                }
        }
        return NULL;
}

TEST(posts_from_threads_run_on_the_loop_in_order) {
        Ctx c = { .main = pthread_self(), .wanted = THREADS * PER_THREAD };
        pthread_t t[THREADS];
        Poster p[THREADS];

        ASSERT_OK(sd_event_new(&c.e));
        ASSERT_OK(nats_loop_new(c.e, 16, &c.loop));
        ASSERT_TRUE(nats_loop_is_loop_thread(c.loop));
        for (unsigned i = 0; i < THREADS; i++) {
                p[i] = (Poster) { &c, i, 0 };
                ASSERT_EQ(pthread_create(&t[i], NULL, poster, &p[i]), 0);
        }
        ASSERT_OK(sd_event_loop(c.e));
        for (unsigned i = 0; i < THREADS; i++) {
                pthread_join(t[i], NULL);
                ASSERT_EQ(p[i].failed, 0);
                ASSERT_EQ(c.next[i], PER_THREAD);
        }
        ASSERT_EQ(c.got, THREADS * PER_THREAD);
        ASSERT_TRUE(!c.off_thread);
        ASSERT_TRUE(!c.out_of_order);
        /* The limit (16) bounds droppable posts only. */
        ASSERT_EQ(nats_loop_dropped(c.loop), 0);
        nats_loop_free(c.loop);
        sd_event_unref(c.e);
}

static void *not_the_loop(void *ud) {
        return (void *) (uintptr_t) nats_loop_is_loop_thread(ud);
}

TEST(droppable_posts_are_bounded_and_counted) {
        Ctx c = { .main = pthread_self() };
        unsigned accepted = 0;
        void *other = NULL;
        pthread_t t;

        ASSERT_OK(sd_event_new(&c.e));
        ASSERT_OK(nats_loop_new(c.e, 10, &c.loop));
        ASSERT_EQ(pthread_create(&t, NULL, not_the_loop, c.loop), 0);
        pthread_join(t, &other);
        ASSERT_TRUE(!other);

        for (unsigned i = 0; i < 15; i++) {
                Item *it = malloc(sizeof *it);
                ASSERT_TRUE(it);
                *it = (Item) { 0, accepted };
                int r = nats_loop_post(c.loop, on_item, drop_item, &c, it, NATS_LOOP_BULK);
                if (r == -ENOBUFS) {
                        free(it);
                        continue;
                }
                ASSERT_OK(r);
                accepted++;
        }
        ASSERT_EQ(accepted, 10);
        ASSERT_EQ(nats_loop_dropped(c.loop), 5);
        /* What may not be dropped still goes in, and so does control traffic: a flood of bulk
         * posts never crowds out a heartbeat. Those are taken first, each kind in its order. */
        c.first = -1;
        for (unsigned i = 0; i < 3; i++) {
                Item *it = malloc(sizeof *it);
                ASSERT_TRUE(it);
                *it = (Item) { 1, i };
                ASSERT_OK(nats_loop_post(c.loop, on_item, drop_item, &c, it, i == 1 ? NATS_LOOP_CONTROL : NATS_LOOP_KEEP));
        }
        c.wanted = accepted + 3;
        ASSERT_OK(sd_event_loop(c.e));
        ASSERT_EQ(c.got, 13);
        ASSERT_TRUE(!c.out_of_order);
        ASSERT_EQ(c.first, 1);
        ASSERT_EQ(c.got_of[0], 10u);
        ASSERT_EQ(c.got_of[1], 3u);
        accepted += 3;
        /* Room again once the loop has taken them. */
        Item *it = malloc(sizeof *it);
        ASSERT_TRUE(it);
        *it = (Item) { 0, 13 };
        ASSERT_OK(nats_loop_post(c.loop, on_item, drop_item, &c, it, NATS_LOOP_BULK));
        nats_loop_free(c.loop);
        ASSERT_EQ(c.dropped, 1);
        sd_event_unref(c.e);
}

/* Only the first post of a run writes the eventfd: a run longer than what one wake-up applies
 * (256) is still taken whole, in order (the loop wakes itself for the rest). */
TEST(a_long_run_of_posts_wakes_the_loop_once_and_all_of_it_runs) {
        Ctx c = { .main = pthread_self(), .wanted = 1000 };

        ASSERT_OK(sd_event_new(&c.e));
        ASSERT_OK(nats_loop_new(c.e, 10, &c.loop));
        for (unsigned i = 0; i < c.wanted; i++) {
                Item *it = malloc(sizeof *it);
                ASSERT_TRUE(it);
                *it = (Item) { 0, i };
                ASSERT_OK(nats_loop_post(c.loop, on_item, drop_item, &c, it, NATS_LOOP_KEEP));
        }
        ASSERT_OK(sd_event_loop(c.e));
        ASSERT_EQ(c.got, 1000);
        ASSERT_TRUE(!c.out_of_order);
        nats_loop_free(c.loop);
        ASSERT_EQ(c.dropped, 0);
        sd_event_unref(c.e);
}

TEST(free_drops_what_waits_and_runs_nothing) {
        Ctx c = { .main = pthread_self() };

        ASSERT_OK(sd_event_new(&c.e));
        ASSERT_OK(nats_loop_new(c.e, 10, &c.loop));
        for (unsigned i = 0; i < 3; i++) {
                Item *it = malloc(sizeof *it);
                ASSERT_TRUE(it);
                *it = (Item) { 0, i };
                ASSERT_OK(nats_loop_post(c.loop, on_item, drop_item, &c, it, i % 2 == 0 ? NATS_LOOP_BULK : NATS_LOOP_KEEP));
        }
        nats_loop_free(c.loop);
        ASSERT_EQ(c.dropped, 3);
        ASSERT_EQ(c.got, 0);
        sd_event_unref(c.e);
}

/* At exit the messages still queued are destroyed while libnats is alive (nats_loop_drop_posts):
 * freed after nats_CloseAndWait(), a message crashed the node. The queue works on after it, its
 * bounds given back. */
TEST(drop_posts_drops_what_waits_and_frees_its_room) {
        Ctx c = { .main = pthread_self() };

        ASSERT_OK(sd_event_new(&c.e));
        ASSERT_OK(nats_loop_new(c.e, 2, &c.loop));
        for (unsigned i = 0; i < 3; i++) {
                Item *it = malloc(sizeof *it);
                ASSERT_TRUE(it);
                *it = (Item) { 0, i };
                ASSERT_OK(nats_loop_post(c.loop, on_item, drop_item, &c, it, i < 2 ? NATS_LOOP_BULK : NATS_LOOP_CONTROL));
        }
        nats_loop_drop_posts(c.loop);
        ASSERT_EQ(c.dropped, 3);
        ASSERT_EQ(c.got, 0);
        for (unsigned i = 0; i < 2; i++) {
                Item *it = malloc(sizeof *it);
                ASSERT_TRUE(it);
                *it = (Item) { 1, i };
                ASSERT_OK(nats_loop_post(c.loop, on_item, drop_item, &c, it, NATS_LOOP_BULK));
        }
        c.wanted = 2;
        ASSERT_OK(sd_event_loop(c.e));
        ASSERT_EQ(c.got, 2);
        ASSERT_TRUE(!c.out_of_order);
        nats_loop_free(c.loop);
        ASSERT_EQ(c.dropped, 3);
        sd_event_unref(c.e);
}
