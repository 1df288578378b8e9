/* SPDX-License-Identifier: MIT */
/* Log records: journal or "<N>"-prefixed stderr. The daemon's stderr lines go through the log
 * sink (log-sink.c), a bounded queue that drops rather than blocks; client subcommands and a
 * daemon that has not opened it yet write straight to stderr, one writev(2) per record so lines
 * never interleave mid-record. */
#include "log.h"

#include "log-sink.h"

#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <systemd/sd-journal.h>

static LogMode log_mode = LOG_MODE_PLAIN;
static int log_max_level = LOG_INFO;

static bool journal_reachable(void) {
        struct stat st;
        return stat("/run/systemd/journal/socket", &st) == 0 && S_ISSOCK(st.st_mode);
}

LogMode log_open_daemon(int want) {
        if (want == 1 || (want == 0 && journal_reachable()))
                log_mode = journal_reachable() ? LOG_MODE_JOURNAL : LOG_MODE_PREFIX;
        else
                log_mode = LOG_MODE_PREFIX;
        /* Without a sink (it failed to open) lines go straight to stderr: blocking, but logged. */
        if (log_mode == LOG_MODE_PREFIX && !log_sink_is_open())
                (void) log_sink_open(STDERR_FILENO, 0);
        return log_mode;
}

static void write_record(const struct iovec *iov, size_t n) {
        if (log_sink_is_open())
                (void) log_sink_write(iov, n);
        else
                (void) !writev(STDERR_FILENO, iov, (int) n);
}

void log_set_max_level(int level) {
        log_max_level = level;
}

static void write_line(int prio, const char *msg) {
        char prefix[16];
        struct iovec iov[3];
        if (log_mode == LOG_MODE_PLAIN)
                iov[0] = (struct iovec) { (char *) "forkvisor: ", 11 };
        else {
                int n = snprintf(prefix, sizeof prefix, "<%d>", prio);
                iov[0] = (struct iovec) { prefix, (size_t) n };
        }
        iov[1] = (struct iovec) { (char *) msg, strlen(msg) };
        iov[2] = (struct iovec) { (char *) "\n", 1 };
        write_record(iov, 3);
}

_printf_(4, 0) static void format_message(char *buf, size_t size, int err, const char *fmt, va_list ap) {
        int saved = errno;
        if (err != 0)
                errno = err < 0 ? -err : err;
        vsnprintf(buf, size, fmt, ap);
        errno = saved;
}

int log_full_errno(int prio, int err, const char *fmt, ...) {
        int ret = err == 0 ? 0 : -(err < 0 ? -err : err);
        if (prio > log_max_level)
                return ret;

        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        format_message(msg, sizeof msg, err, fmt, ap);
        va_end(ap);

        if (log_mode == LOG_MODE_JOURNAL)
                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=forkvisor", NULL);
        else
                write_line(prio, msg);
        return ret;
}

static const char *exit_code_name(int code) {
        switch (code) {
        case 1: return "exited";  /* CLD_EXITED */
        case 2: return "killed";  /* CLD_KILLED */
        case 3: return "dumped";  /* CLD_DUMPED */
        default: return NULL;
        }
}

void log_child(int prio, const char *path, pid_t pid, int exit_code, int exit_status, unsigned restarts,
               const char *fmt, ...) {
        if (prio > log_max_level)
                return;

        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        format_message(msg, sizeof msg, 0, fmt, ap);
        va_end(ap);

        if (log_mode != LOG_MODE_JOURNAL) {
                write_line(prio, msg);
                return;
        }
        const char *code = exit_code_name(exit_code);
        if (code)
                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=forkvisor",
                                "FORKVISOR_PATH=%s", path, "FORKVISOR_PID=%d", (int) pid,
                                "FORKVISOR_RESTARTS=%u", restarts, "EXIT_CODE=%s", code,
                                "EXIT_STATUS=%d", exit_status, NULL);
        else
                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=forkvisor",
                                "FORKVISOR_PATH=%s", path, "FORKVISOR_PID=%d", (int) pid,
                                "FORKVISOR_RESTARTS=%u", restarts, NULL);
}

void log_child_output(const char *path, pid_t pid, int prio, const char *line, size_t len) {
        if (log_mode == LOG_MODE_JOURNAL) {
                sd_journal_send("MESSAGE=%.*s", (int) len, line, "PRIORITY=%d", prio,
                                "SYSLOG_IDENTIFIER=%s", path, "FORKVISOR_PATH=%s", path,
                                "FORKVISOR_PID=%d", (int) pid, NULL);
                return;
        }
        char prefix[64];
        int n = snprintf(prefix, sizeof prefix, "<%d>", prio);
        struct iovec iov[5] = {
                { prefix, (size_t) n },
                { (char *) path, strlen(path) },
                { (char *) ": ", 2 },
                { (char *) line, len },
                { (char *) "\n", 1 },
        };
        write_record(iov, 5);
}
