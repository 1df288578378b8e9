/* SPDX-License-Identifier: MIT */
/* Durations for people, and the one ISO 8601 stamp of log lines and events, whose second is
 * made once per second: the cache must never show a stale second or the wrong milliseconds. */
#include <string.h>

#include "tests.h"
#include "time-util.h"

/* 2026-11-27T04:05:06Z */
#define T0 UINT64_C(1795752306)

TEST(iso_times_to_the_millisecond) {
        char buf[TIMESTAMP_ISO_MAX];
        ASSERT_EQ(format_time_iso(T0 * USEC_PER_SEC + 789123, buf, sizeof buf), 24u);
        ASSERT_STREQ(buf, "2026-11-27T04:05:06.789Z");
        /* The same second again (cached), other milliseconds. */
        format_time_iso(T0 * USEC_PER_SEC + 5000, buf, sizeof buf);
        ASSERT_STREQ(buf, "2026-11-27T04:05:06.005Z");
        /* The next second, then back to an earlier one: never the cached text. */
        format_time_iso((T0 + 1) * USEC_PER_SEC, buf, sizeof buf);
        ASSERT_STREQ(buf, "2026-11-27T04:05:07.000Z");
        format_time_iso((T0 - 86400) * USEC_PER_SEC + 999999, buf, sizeof buf);
        ASSERT_STREQ(buf, "2026-11-26T04:05:06.999Z");
        /* Cut to the buffer, NUL-terminated. */
        char small[8];
        ASSERT_EQ(format_time_iso(T0 * USEC_PER_SEC, small, sizeof small), 7u);
        ASSERT_STREQ(small, "2026-11");
}

TEST(now_is_now) {
        char buf[TIMESTAMP_ISO_MAX];
        ASSERT_EQ(format_timestamp_iso(buf, sizeof buf), 24u);
        ASSERT_TRUE(buf[10] == 'T' && buf[23] == 'Z');
        ASSERT_TRUE(now_realtime_usec() > T0 * USEC_PER_SEC);
}

TEST(durations) {
        char buf[32];
        format_duration(12300000, buf, sizeof buf);
        ASSERT_STREQ(buf, "12.3s");
        format_duration(245 * USEC_PER_SEC, buf, sizeof buf);
        ASSERT_STREQ(buf, "4m05s");
        format_duration((2 * 3600 + 3 * 60) * USEC_PER_SEC, buf, sizeof buf);
        ASSERT_STREQ(buf, "2h03m");
        format_duration((86400 + 2 * 3600) * USEC_PER_SEC, buf, sizeof buf);
        ASSERT_STREQ(buf, "1d02h");
}

