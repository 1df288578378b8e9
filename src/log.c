/* SPDX-License-Identifier: MIT */
/* Log records: journal or "<N>"-prefixed stderr, and neither may block the daemon. Journal
 * entries go out on a non-blocking socket of our own (journal.c); the daemon's stderr lines go
 * through the log sink (log-sink.c), a bounded queue that drops rather than blocks. Client
 * subcommands, and a daemon before it opened either, write straight to stderr, one writev(2)
 * per record so lines never interleave mid-record. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "journal.h"
#include "log-sink.h"

/* A journal field from a string, or from a number printed into buf (a char array). */
#define JSTR(k, v) ((JournalField) { (k), (v), strlen(v) })
#define JNUM(k, buf, fmt, ...) ((JournalField) { (k), (buf), (size_t) snprintf((buf), sizeof(buf), fmt, __VA_ARGS__) })

static LogMode log_mode = LOG_MODE_PLAIN;
static int log_max_level = LOG_INFO;

static bool journal_reachable(void) {
        struct stat st;
        return stat(JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

LogMode log_open_daemon(int want) {
        if (want == 1 || (want == 0 && journal_reachable()))
                log_mode = journal_reachable() && journal_open(NULL) >= 0 ? LOG_MODE_JOURNAL : LOG_MODE_PREFIX;
        else
                log_mode = LOG_MODE_PREFIX;
        /* Without a sink (it failed to open) lines go straight to stderr: blocking, but logged. */
        if (log_mode == LOG_MODE_PREFIX && !log_sink_is_open())
                (void) log_sink_open(STDERR_FILENO, 0);
        return log_mode;
}

/* systemd connects a service's stderr to the journal and says so in $JOURNAL_STREAM, "DEV:INO"
 * of that stream (systemd.exec(5)): if stderr is still that file, the journal stamps each line. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

bool log_set_timestamps(int want) {
        bool on = want > 0 || (want < 0 && !stderr_is_journal());
        log_sink_set_timestamps(on);
        return on;
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
        char prefix[LOG_SINK_PREFIX_MAX];
        struct iovec iov[3];
        if (log_mode == LOG_MODE_PLAIN)
                iov[0] = (struct iovec) { (char *) "forkvisor: ", 11 };
        else
                iov[0] = (struct iovec) { prefix, log_sink_line_prefix(prefix, sizeof prefix, prio) };
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

        if (log_mode == LOG_MODE_JOURNAL) {
                char p[4];
                JournalField f[] = {
                        JSTR("MESSAGE", msg),
                        JNUM("PRIORITY", p, "%d", prio),
                        JSTR("SYSLOG_IDENTIFIER", "forkvisor"),
                };
                (void) journal_send(f, ELEMENTSOF(f));
        } else
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

_printf_(8, 0) static void vlog_child(int prio, const char *path, pid_t pid, int exit_code, int exit_status,
                                     const char *reason, unsigned restarts, const char *fmt, va_list ap) {
        if (prio > log_max_level)
                return;

        char msg[2048];
        format_message(msg, sizeof msg, 0, fmt, ap);

        if (log_mode != LOG_MODE_JOURNAL) {
                write_line(prio, msg);
                return;
        }
        const char *code = exit_code_name(exit_code);
        char p[4], pidbuf[16], restartsbuf[16], statusbuf[16];
        JournalField f[] = {
                JSTR("MESSAGE", msg),
                JNUM("PRIORITY", p, "%d", prio),
                JSTR("SYSLOG_IDENTIFIER", "forkvisor"),
                JSTR("FORKVISOR_PATH", path),
                JNUM("FORKVISOR_PID", pidbuf, "%d", (int) pid),
                JNUM("FORKVISOR_RESTARTS", restartsbuf, "%u", restarts),
                JSTR("EXIT_CODE", code ?: ""),
                JNUM("EXIT_STATUS", statusbuf, "%d", exit_status),
                JSTR("FORKVISOR_REASON", reason ?: ""),
        };
        size_t n = ELEMENTSOF(f);
        if (!reason)
                n--;
        if (!code)
                n = ELEMENTSOF(f) - 3;
        (void) journal_send(f, n);
}

void log_child(int prio, const char *path, pid_t pid, int exit_code, int exit_status, unsigned restarts,
               const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vlog_child(prio, path, pid, exit_code, exit_status, NULL, restarts, fmt, ap);
        va_end(ap);
}

void log_child_exit(int prio, const char *path, pid_t pid, int exit_code, int exit_status, const char *reason,
                    unsigned restarts, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vlog_child(prio, path, pid, exit_code, exit_status, reason, restarts, fmt, ap);
        va_end(ap);
}

void log_child_output(const char *path, pid_t pid, int prio, const char *line, size_t len) {
        if (log_mode == LOG_MODE_JOURNAL) {
                char p[4], pidbuf[16];
                JournalField f[] = {
                        { "MESSAGE", line, len },
                        JNUM("PRIORITY", p, "%d", prio),
                        JSTR("SYSLOG_IDENTIFIER", path),
                        JSTR("FORKVISOR_PATH", path),
                        JNUM("FORKVISOR_PID", pidbuf, "%d", (int) pid),
                };
                (void) journal_send(f, ELEMENTSOF(f));
                return;
        }
        char prefix[LOG_SINK_PREFIX_MAX];
        struct iovec iov[5] = {
                { prefix, log_sink_line_prefix(prefix, sizeof prefix, prio) },
                { (char *) path, strlen(path) },
                { (char *) ": ", 2 },
                { (char *) line, len },
                { (char *) "\n", 1 },
        };
        write_record(iov, 5);
}
