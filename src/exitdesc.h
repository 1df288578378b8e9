/* SPDX-License-Identifier: MIT */
/* How a child ended, in words: the one place that turns a waitid() code and status into the
 * text of the reasons, the log, status (plain and JSON) and the lifecycle events. A leaf: it
 * knows codes, signals and errnos, not nodes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A start that failed before the program ran (status is then the errno); tree.h's
 * NODE_EXIT_START_FAILED is the same value. */
#define EXIT_START_FAILED (-1)

/* An exit as the node keeps it. code: CLD_EXITED, CLD_KILLED or CLD_DUMPED from waitid(),
 * EXIT_START_FAILED, or 0 for none yet; status: the exit status, the signal, or the errno;
 * oom: the cgroup's OOM killer struck during the run (memory_max). */
typedef struct ExitHow {
        int code;
        int status;
        bool oom;
} ExitHow;

typedef enum ExitStyle {
        EXIT_STYLE_REASON,      /* "exit status 3", "signal KILL", "signal SEGV (core dumped)":
                                 * a failed start's reason, a detached mailbox's reason (DOWN) */
        EXIT_STYLE_LOG,         /* "exited with status 3", "killed by signal SEGV (core dumped)",
                                 * "killed by the OOM killer (memory_max)" */
        EXIT_STYLE_STATUS,      /* status's LAST EXIT column: "-", "status 3", "signal KILL",
                                 * "oom", "start failed (ENOENT)" */
        EXIT_STYLE_STATUS_JSON, /* status --json's last_exit: null, {"status": 3},
                                 * {"signal": "KILL", "reason": "oom"}, {"start_failed": "ENOENT"} */
        EXIT_STYLE_EVENT_JSON,  /* an event's members after "pid": "", , "status": 3 or
                                 * , "signal": "SEGV", "core_dumped": true */
        _EXIT_STYLE_MAX,
} ExitStyle;

/* Writes how e ended in that style into buf (always NUL-terminated when size > 0). Returns the
 * length the whole text has, as snprintf() does: size or more means it was cut. */
int exit_describe(const ExitHow *e, ExitStyle style, char *buf, size_t size);

/* How a shell would report e as $?, which is what an init that passes on its child's exit
 * reports too (tini, docker --init): the exit status; 128 + the signal; 127 when the program
 * was not found and 126 when it could not be executed otherwise; 0 for none. */
int exit_shell_status(const ExitHow *e);
