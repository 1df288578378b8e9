/* SPDX-License-Identifier: MIT */
/* Exit descriptions: every text the node prints about how a child ended, byte for byte (the
 * logs, status, status --json and the events are compared by the bats tests and read by
 * people and programs), in every style. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "exitdesc.h"
#include "tests.h"

static const char *describe(int code, int status, bool oom, ExitStyle style) {
        static char buf[128];
        int n = exit_describe(&(ExitHow) { code, status, oom }, style, buf, sizeof buf);
        if (n < 0 || (size_t) n != strlen(buf))
                return "(bad length)";
        return buf;
}

TEST(reason) {
        ASSERT_STREQ(describe(CLD_EXITED, 3, false, EXIT_STYLE_REASON), "exit status 3");
        ASSERT_STREQ(describe(CLD_EXITED, 0, false, EXIT_STYLE_REASON), "exit status 0");
        ASSERT_STREQ(describe(CLD_KILLED, SIGKILL, false, EXIT_STYLE_REASON), "signal KILL");
        ASSERT_STREQ(describe(CLD_DUMPED, SIGSEGV, false, EXIT_STYLE_REASON), "signal SEGV (core dumped)");
        /* The reason does not know of the OOM killer: what the process itself saw. */
        ASSERT_STREQ(describe(CLD_KILLED, SIGKILL, true, EXIT_STYLE_REASON), "signal KILL");
        ASSERT_STREQ(describe(CLD_KILLED, 999, false, EXIT_STYLE_REASON), "signal ?");
}

TEST(log) {
        ASSERT_STREQ(describe(CLD_EXITED, 3, false, EXIT_STYLE_LOG), "exited with status 3");
        ASSERT_STREQ(describe(CLD_KILLED, SIGTERM, false, EXIT_STYLE_LOG), "killed by signal TERM");
        ASSERT_STREQ(describe(CLD_DUMPED, SIGABRT, false, EXIT_STYLE_LOG), "killed by signal ABRT (core dumped)");
        /* The OOM killer is named, whatever the process's own end. */
        ASSERT_STREQ(describe(CLD_KILLED, SIGKILL, true, EXIT_STYLE_LOG), "killed by the OOM killer (memory_max)");
        ASSERT_STREQ(describe(CLD_DUMPED, SIGSEGV, true, EXIT_STYLE_LOG), "killed by the OOM killer (memory_max)");
        ASSERT_STREQ(describe(CLD_EXITED, 1, true, EXIT_STYLE_LOG), "killed by the OOM killer (memory_max)");
}

TEST(status_column) {
        ASSERT_STREQ(describe(0, 0, false, EXIT_STYLE_STATUS), "-");
        ASSERT_STREQ(describe(EXIT_START_FAILED, ENOENT, false, EXIT_STYLE_STATUS), "start failed (ENOENT)");
        ASSERT_STREQ(describe(EXIT_START_FAILED, 99999, false, EXIT_STYLE_STATUS), "start failed (?)");
        ASSERT_STREQ(describe(CLD_EXITED, 42, false, EXIT_STYLE_STATUS), "status 42");
        /* An exit status beats the OOM killer (it struck another process of the worker's). */
        ASSERT_STREQ(describe(CLD_EXITED, 42, true, EXIT_STYLE_STATUS), "status 42");
        ASSERT_STREQ(describe(CLD_KILLED, SIGKILL, true, EXIT_STYLE_STATUS), "oom");
        ASSERT_STREQ(describe(CLD_KILLED, SIGKILL, false, EXIT_STYLE_STATUS), "signal KILL");
        /* No "(core dumped)" in the column. */
        ASSERT_STREQ(describe(CLD_DUMPED, SIGSEGV, false, EXIT_STYLE_STATUS), "signal SEGV");
        ASSERT_STREQ(describe(CLD_DUMPED, SIGSEGV, true, EXIT_STYLE_STATUS), "oom");
}

TEST(status_json) {
        ASSERT_STREQ(describe(0, 0, false, EXIT_STYLE_STATUS_JSON), "null");
        ASSERT_STREQ(describe(EXIT_START_FAILED, EACCES, false, EXIT_STYLE_STATUS_JSON), "{\"start_failed\": \"EACCES\"}");
        ASSERT_STREQ(describe(CLD_EXITED, 7, false, EXIT_STYLE_STATUS_JSON), "{\"status\": 7}");
        ASSERT_STREQ(describe(CLD_EXITED, 7, true, EXIT_STYLE_STATUS_JSON), "{\"status\": 7}");
        ASSERT_STREQ(describe(CLD_KILLED, SIGKILL, false, EXIT_STYLE_STATUS_JSON), "{\"signal\": \"KILL\"}");
        ASSERT_STREQ(describe(CLD_KILLED, SIGKILL, true, EXIT_STYLE_STATUS_JSON), "{\"signal\": \"KILL\", \"reason\": \"oom\"}");
        ASSERT_STREQ(describe(CLD_DUMPED, SIGSEGV, false, EXIT_STYLE_STATUS_JSON), "{\"signal\": \"SEGV\"}");
}

TEST(event_json) {
        ASSERT_STREQ(describe(0, 0, false, EXIT_STYLE_EVENT_JSON), "");
        ASSERT_STREQ(describe(CLD_EXITED, 3, false, EXIT_STYLE_EVENT_JSON), ", \"status\": 3");
        ASSERT_STREQ(describe(CLD_KILLED, SIGKILL, false, EXIT_STYLE_EVENT_JSON), ", \"signal\": \"KILL\"");
        ASSERT_STREQ(describe(CLD_DUMPED, SIGSEGV, false, EXIT_STYLE_EVENT_JSON),
                     ", \"signal\": \"SEGV\", \"core_dumped\": true");
        /* The events say "oom" in their reason, not here. */
        ASSERT_STREQ(describe(CLD_KILLED, SIGKILL, true, EXIT_STYLE_EVENT_JSON), ", \"signal\": \"KILL\"");
}

TEST(cut_short) {
        char buf[8];
        int n = exit_describe(&(ExitHow) { CLD_EXITED, 3, false }, EXIT_STYLE_LOG, buf, sizeof buf);
        ASSERT_EQ(n, strlen("exited with status 3"));
        ASSERT_STREQ(buf, "exited ");
        ASSERT_EQ(exit_describe(&(ExitHow) { CLD_EXITED, 3, false }, EXIT_STYLE_STATUS, NULL, 0), strlen("status 3"));
}

TEST(shell_status) {
        ASSERT_EQ(exit_shell_status(&(ExitHow) { 0, 0, false }), 0);
        ASSERT_EQ(exit_shell_status(&(ExitHow) { CLD_EXITED, 5, false }), 5);
        ASSERT_EQ(exit_shell_status(&(ExitHow) { CLD_EXITED, 0, true }), 0);
        ASSERT_EQ(exit_shell_status(&(ExitHow) { CLD_KILLED, SIGKILL, false }), 137);
        ASSERT_EQ(exit_shell_status(&(ExitHow) { CLD_DUMPED, SIGSEGV, false }), 139);
        ASSERT_EQ(exit_shell_status(&(ExitHow) { CLD_KILLED, SIGKILL, true }), 137);
        ASSERT_EQ(exit_shell_status(&(ExitHow) { EXIT_START_FAILED, ENOENT, false }), 127);
        ASSERT_EQ(exit_shell_status(&(ExitHow) { EXIT_START_FAILED, EACCES, false }), 126);
}
