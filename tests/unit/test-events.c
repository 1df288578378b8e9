/* SPDX-License-Identifier: MIT */
/* The JSON payload of lifecycle events (SPEC 6.4). */
#include "tests.h"

#include <signal.h>
#include <sys/wait.h>

#include "events.h"

/* 2026-11-27T04:05:06.789Z */
#define T ((uint64_t) 1795752306 * 1000000 + 789123)

TEST(exited_with_status) {
        char buf[512];
        ASSERT_TRUE(events_format(buf, sizeof buf, "exited", 7, "app/web", 1234, CLD_EXITED, 3, NULL, 2, T) > 0);
        ASSERT_STREQ(buf, "{\"event\": \"exited\", \"path\": \"app/web\", \"pid\": 1234, \"status\": 3, "
                          "\"restarts\": 2, \"time\": \"2026-11-27T04:05:06.789Z\", \"seq\": 7}");
}

TEST(killed_and_dumped) {
        char buf[512];
        ASSERT_TRUE(events_format(buf, sizeof buf, "exited", 7, "a", 7, CLD_KILLED, SIGKILL, NULL, 0, T) > 0);
        ASSERT_CONTAINS(buf, "\"signal\": \"KILL\", \"restarts\": 0");
        ASSERT_TRUE(events_format(buf, sizeof buf, "exited", 7, "a", 7, CLD_DUMPED, SIGSEGV, NULL, 0, T) > 0);
        ASSERT_CONTAINS(buf, "\"signal\": \"SEGV\", \"core_dumped\": true");
}

TEST(oom_reason) {
        char buf[512];
        ASSERT_TRUE(events_format(buf, sizeof buf, "exited", 7, "a", 7, CLD_KILLED, SIGKILL, "oom", 1, T) > 0);
        ASSERT_CONTAINS(buf, "\"signal\": \"KILL\", \"reason\": \"oom\", \"restarts\": 1");
}

TEST(no_pid_no_exit) {
        char buf[512];
        ASSERT_TRUE(events_format(buf, sizeof buf, "gave_up", 7, "app/sub", 0, 0, 0, NULL, 5, T) > 0);
        ASSERT_STREQ(buf, "{\"event\": \"gave_up\", \"path\": \"app/sub\", \"pid\": null, \"restarts\": 5, "
                          "\"time\": \"2026-11-27T04:05:06.789Z\", \"seq\": 7}");
}

TEST(path_is_escaped) {
        char buf[512];
        ASSERT_TRUE(events_format(buf, sizeof buf, "started", 7, "a\"b\\c\nd", 1, 0, 0, NULL, 0, T) > 0);
        ASSERT_CONTAINS(buf, "\"path\": \"a\\\"b\\\\c\\u000ad\"");
}

TEST(too_small) {
        char buf[40];
        ASSERT_ERR(events_format(buf, sizeof buf, "started", 7, "app/web", 1, 0, 0, NULL, 0, T), -ENOBUFS);
        ASSERT_TRUE(strlen(buf) < sizeof buf);
        ASSERT_ERR(events_format(buf, 0, "started", 7, "x", 1, 0, 0, NULL, 0, T), -ENOBUFS);
}
