/* SPDX-License-Identifier: MIT */
/* The ring of the last events (event-log.c): numbering, replay since a sequence number, the
 * bounds by count and by bytes, entries across the end of the buffer. */
#include "tests.h"

#include "event-log.h"

/* What a replay saw, as "seq topic data;" one after another. */
typedef struct Seen {
        char text[8192];
        size_t len;
        int stop_after; /* > 0: stop with -ECANCELED after this many */
        int calls;
} Seen;

static int see(void *ud, uint64_t seq, const char *topic, const char *data, size_t len) {
        Seen *s = ud;
        int n = snprintf(s->text + s->len, sizeof s->text - s->len, "%" PRIu64 " %s %.*s;", seq, topic, (int) len,
                         data);
        if (n > 0 && (size_t) n < sizeof s->text - s->len)
                s->len += (size_t) n;
        if (s->stop_after > 0 && ++s->calls == s->stop_after)
                return -ECANCELED;
        return 0;
}

static uint64_t add(EventLog *l, const char *data) {
        return event_log_append(l, "t", data, strlen(data));
}

TEST(empty) {
        EventLog *l;
        ASSERT_OK(event_log_new(4, 100, &l));
        ASSERT_EQ(event_log_next_seq(l), 1);
        ASSERT_EQ(event_log_newest(l), 0);
        ASSERT_EQ(event_log_oldest(l), 1);
        ASSERT_EQ(event_log_count_since(l, 0), 0);
        ASSERT_EQ(event_log_count_since(l, 7), 0);
        Seen s = {};
        ASSERT_EQ(event_log_replay(l, 0, see, &s), 0);
        ASSERT_EQ(s.len, 0);
        event_log_free(l);
}

TEST(numbered_from_one_and_replayed_in_order) {
        EventLog *l;
        ASSERT_OK(event_log_new(4, 100, &l));
        ASSERT_EQ(add(l, "a"), 1);
        ASSERT_EQ(event_log_append(l, "forkvisor:exited", "{\"x\": 1}", 8), 2);
        ASSERT_EQ(add(l, ""), 3);
        ASSERT_EQ(event_log_newest(l), 3);
        Seen s = {};
        ASSERT_EQ(event_log_replay(l, 0, see, &s), 3);
        ASSERT_STREQ(s.text, "1 t a;2 forkvisor:exited {\"x\": 1};3 t ;");
        s = (Seen) {};
        ASSERT_EQ(event_log_replay(l, 2, see, &s), 1);
        ASSERT_STREQ(s.text, "3 t ;");
        event_log_free(l);
}

TEST(since_newest_or_later_is_nothing) {
        EventLog *l;
        ASSERT_OK(event_log_new(4, 100, &l));
        add(l, "a");
        add(l, "b");
        Seen s = {};
        ASSERT_EQ(event_log_replay(l, 2, see, &s), 0);
        ASSERT_EQ(event_log_replay(l, 3, see, &s), 0);
        ASSERT_EQ(event_log_replay(l, UINT64_MAX, see, &s), 0);
        ASSERT_EQ(s.len, 0);
        event_log_free(l);
}

TEST(wraps_by_count) {
        EventLog *l;
        char d[16];
        ASSERT_OK(event_log_new(4, 1000, &l));
        for (int i = 1; i <= 10; i++) {
                snprintf(d, sizeof d, "e%d", i);
                ASSERT_EQ(add(l, d), i);
        }
        ASSERT_EQ(event_log_oldest(l), 7);
        ASSERT_EQ(event_log_newest(l), 10);
        Seen s = {};
        ASSERT_EQ(event_log_replay(l, 6, see, &s), 4);
        ASSERT_STREQ(s.text, "7 t e7;8 t e8;9 t e9;10 t e10;");
        s = (Seen) {};
        ASSERT_EQ(event_log_replay(l, 8, see, &s), 2);
        ASSERT_STREQ(s.text, "9 t e9;10 t e10;");
        event_log_free(l);
}

TEST(since_before_oldest_is_refused) {
        EventLog *l;
        ASSERT_OK(event_log_new(4, 1000, &l));
        for (int i = 1; i <= 6; i++)
                add(l, "x");
        ASSERT_EQ(event_log_oldest(l), 3);
        ASSERT_EQ(event_log_count_since(l, 2), 4);
        ASSERT_ERR(event_log_count_since(l, 1), -ESRCH);
        ASSERT_ERR(event_log_count_since(l, 0), -ESRCH);
        Seen s = {};
        ASSERT_ERR(event_log_replay(l, 0, see, &s), -ESRCH);
        ASSERT_EQ(s.len, 0);
        /* Since the newest, nothing is missing even though event 1 is gone. */
        ASSERT_EQ(event_log_count_since(l, 6), 0);
        event_log_free(l);
}

TEST(wraps_by_bytes_across_the_end) {
        EventLog *l;
        char d[16];
        /* Entries of "t\0" and 8 bytes: 10 bytes each, 32 bytes hold 3, and they keep moving
         * across the end of the buffer (32 is no multiple of 10). */
        ASSERT_OK(event_log_new(100, 32, &l));
        for (int i = 1; i <= 50; i++) {
                snprintf(d, sizeof d, "%08d", i);
                ASSERT_EQ(add(l, d), i);
                ASSERT_EQ(event_log_oldest(l), i > 3 ? i - 2 : 1);
                Seen s = {};
                char want[128] = "";
                for (int k = (int) event_log_oldest(l); k <= i; k++)
                        snprintf(want + strlen(want), sizeof want - strlen(want), "%d t %08d;", k, k);
                ASSERT_EQ(event_log_replay(l, event_log_oldest(l) - 1, see, &s), i - (int) event_log_oldest(l) + 1);
                ASSERT_STREQ(s.text, want);
        }
        event_log_free(l);
}

TEST(entries_of_mixed_sizes) {
        EventLog *l;
        char d[64];
        ASSERT_OK(event_log_new(8, 100, &l));
        for (int i = 1; i <= 200; i++) {
                int n = 1 + (i * 7) % 40;
                memset(d, 'a' + i % 26, (size_t) n);
                d[n] = '\0';
                add(l, d);
                /* Every kept entry reads back as written. */
                for (uint64_t k = event_log_oldest(l); k <= event_log_newest(l); k++) {
                        Seen s = { .stop_after = 1 };
                        int m = 1 + ((int) k * 7) % 40;
                        char want[80];
                        int w = snprintf(want, sizeof want, "%" PRIu64 " t ", k);
                        memset(want + w, 'a' + (int) (k % 26), (size_t) m);
                        snprintf(want + w + m, sizeof want - (size_t) (w + m), ";");
                        ASSERT_ERR(event_log_replay(l, k - 1, see, &s), -ECANCELED);
                        ASSERT_STREQ(s.text, want);
                }
                ASSERT_TRUE(event_log_newest(l) - event_log_oldest(l) + 1 <= 8);
        }
        event_log_free(l);
}

TEST(too_long_empties_the_ring) {
        EventLog *l;
        char big[200];
        memset(big, 'x', sizeof big);
        ASSERT_OK(event_log_new(8, 100, &l));
        add(l, "a");
        add(l, "b");
        ASSERT_EQ(event_log_append(l, "t", big, sizeof big), 3);
        ASSERT_EQ(event_log_newest(l), 3);
        ASSERT_EQ(event_log_oldest(l), 4);
        ASSERT_ERR(event_log_count_since(l, 1), -ESRCH);
        ASSERT_ERR(event_log_count_since(l, 2), -ESRCH);
        ASSERT_EQ(event_log_count_since(l, 3), 0);
        ASSERT_EQ(add(l, "c"), 4);
        Seen s = {};
        ASSERT_EQ(event_log_replay(l, 3, see, &s), 1);
        ASSERT_STREQ(s.text, "4 t c;");
        event_log_free(l);
}

TEST(bad_bounds) {
        EventLog *l;
        ASSERT_ERR(event_log_new(0, 100, &l), -EINVAL);
        ASSERT_ERR(event_log_new(4, 0, &l), -EINVAL);
}
