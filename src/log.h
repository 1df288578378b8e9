/* SPDX-License-Identifier: MIT */
/* The daemon's log: structured records to the journal when it is reachable, else one line per
 * record on stderr with an sd-daemon "<N>" priority prefix. Client subcommands log plainly. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogMode {
        LOG_MODE_PLAIN,   /* "forkvisor: message" on stderr (client subcommands) */
        LOG_MODE_PREFIX,  /* "<N>message" on stderr (the daemon without journald) */
        LOG_MODE_JOURNAL, /* sd_journal_send with structured fields */
} LogMode;

/* want: 0 auto, 1 journal, 2 stderr (LogTarget values). Returns the mode chosen. */
LogMode log_open_daemon(int want);
/* log_timestamps: 1 each "<N>" line on stderr gets the time after its prefix ("<6>2026-12-07T
 * 03:04:05.678Z message", ISO 8601 UTC), 0 none, -1 (the default) unless stderr is the journal
 * ($JOURNAL_STREAM names it), which stamps lines itself. Returns whether lines are stamped. */
bool log_set_timestamps(int want);
void log_set_max_level(int level);

/* Logs and returns -abs(err) (or 0 if err is 0); "%m" means strerror(abs(err)). */
int log_full_errno(int prio, int err, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)

/* A record about one supervised process, with the journal fields FORKVISOR_PATH, FORKVISOR_PID,
 * FORKVISOR_RESTARTS and, when exit_code != 0, EXIT_CODE (exited/killed/dumped) and EXIT_STATUS
 * (the status or the signal number). */
void log_child(int prio, const char *path, pid_t pid, int exit_code, int exit_status, unsigned restarts,
               const char *fmt, ...) _printf_(7, 8);
/* The same for an exit, with FORKVISOR_REASON (why: "crash", "operator", "oom", ...) when reason
 * is not NULL. */
void log_child_exit(int prio, const char *path, pid_t pid, int exit_code, int exit_status, const char *reason,
                    unsigned restarts, const char *fmt, ...) _printf_(8, 9);

/* One line a child wrote on stdout/stderr, tagged with its path. */
void log_child_output(const char *path, pid_t pid, int prio, const char *line, size_t len);
