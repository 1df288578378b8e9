/* SPDX-License-Identifier: MIT */
/* Exit descriptions: an exit is sorted into one of a few kinds, and a table gives each kind's
 * text in each style, so every text the node prints about an exit is written here once, side
 * by side. */
#include "exitdesc.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <sys/wait.h>

typedef enum ExitKind {
        KIND_NONE,
        KIND_START_FAILED,
        KIND_EXITED,
        KIND_EXITED_OOM,       /* the program exited, but the OOM killer struck something of it */
        KIND_KILLED,
        KIND_KILLED_OOM,
        KIND_DUMPED,
        KIND_DUMPED_OOM,
        _KIND_MAX,
} ExitKind;

/* What goes between a cell's two texts. */
typedef enum ExitArg {
        ARG_NONE,
        ARG_STATUS,            /* the exit status, in decimal */
        ARG_SIGNAL,            /* the signal's abbreviation ("KILL"), "?" if unknown */
        ARG_ERRNO,             /* the errno's name ("ENOENT"), "?" if unknown */
} ExitArg;

typedef struct Cell {
        const char *before;
        ExitArg arg;
        const char *after;
} Cell;

#define OOM_LOG { "killed by the OOM killer (memory_max)", ARG_NONE, "" }

static const Cell cells[_KIND_MAX][_EXIT_STYLE_MAX] = {
        [KIND_NONE] = {
                [EXIT_STYLE_REASON] = { "", ARG_NONE, "" },
                [EXIT_STYLE_LOG] = { "", ARG_NONE, "" },
                [EXIT_STYLE_STATUS] = { "-", ARG_NONE, "" },
                [EXIT_STYLE_STATUS_JSON] = { "null", ARG_NONE, "" },
                [EXIT_STYLE_EVENT_JSON] = { "", ARG_NONE, "" },
        },
        [KIND_START_FAILED] = {
                [EXIT_STYLE_REASON] = { "start failed (", ARG_ERRNO, ")" },
                [EXIT_STYLE_LOG] = { "start failed (", ARG_ERRNO, ")" },
                [EXIT_STYLE_STATUS] = { "start failed (", ARG_ERRNO, ")" },
                [EXIT_STYLE_STATUS_JSON] = { "{\"start_failed\": \"", ARG_ERRNO, "\"}" },
                [EXIT_STYLE_EVENT_JSON] = { "", ARG_NONE, "" },
        },
        [KIND_EXITED] = {
                [EXIT_STYLE_REASON] = { "exit status ", ARG_STATUS, "" },
                [EXIT_STYLE_LOG] = { "exited with status ", ARG_STATUS, "" },
                [EXIT_STYLE_STATUS] = { "status ", ARG_STATUS, "" },
                [EXIT_STYLE_STATUS_JSON] = { "{\"status\": ", ARG_STATUS, "}" },
                [EXIT_STYLE_EVENT_JSON] = { ", \"status\": ", ARG_STATUS, "" },
        },
        [KIND_EXITED_OOM] = {
                [EXIT_STYLE_REASON] = { "exit status ", ARG_STATUS, "" },
                [EXIT_STYLE_LOG] = OOM_LOG,
                [EXIT_STYLE_STATUS] = { "status ", ARG_STATUS, "" },
                [EXIT_STYLE_STATUS_JSON] = { "{\"status\": ", ARG_STATUS, "}" },
                [EXIT_STYLE_EVENT_JSON] = { ", \"status\": ", ARG_STATUS, "" },
        },
        [KIND_KILLED] = {
                [EXIT_STYLE_REASON] = { "signal ", ARG_SIGNAL, "" },
                [EXIT_STYLE_LOG] = { "killed by signal ", ARG_SIGNAL, "" },
                [EXIT_STYLE_STATUS] = { "signal ", ARG_SIGNAL, "" },
                [EXIT_STYLE_STATUS_JSON] = { "{\"signal\": \"", ARG_SIGNAL, "\"}" },
                [EXIT_STYLE_EVENT_JSON] = { ", \"signal\": \"", ARG_SIGNAL, "\"" },
        },
        [KIND_KILLED_OOM] = {
                [EXIT_STYLE_REASON] = { "signal ", ARG_SIGNAL, "" },
                [EXIT_STYLE_LOG] = OOM_LOG,
                [EXIT_STYLE_STATUS] = { "oom", ARG_NONE, "" },
                [EXIT_STYLE_STATUS_JSON] = { "{\"signal\": \"", ARG_SIGNAL, "\", \"reason\": \"oom\"}" },
                [EXIT_STYLE_EVENT_JSON] = { ", \"signal\": \"", ARG_SIGNAL, "\"" },
        },
        [KIND_DUMPED] = {
                [EXIT_STYLE_REASON] = { "signal ", ARG_SIGNAL, " (core dumped)" },
                [EXIT_STYLE_LOG] = { "killed by signal ", ARG_SIGNAL, " (core dumped)" },
                [EXIT_STYLE_STATUS] = { "signal ", ARG_SIGNAL, "" },
                [EXIT_STYLE_STATUS_JSON] = { "{\"signal\": \"", ARG_SIGNAL, "\"}" },
                [EXIT_STYLE_EVENT_JSON] = { ", \"signal\": \"", ARG_SIGNAL, "\", \"core_dumped\": true" },
        },
        [KIND_DUMPED_OOM] = {
                [EXIT_STYLE_REASON] = { "signal ", ARG_SIGNAL, " (core dumped)" },
                [EXIT_STYLE_LOG] = OOM_LOG,
                [EXIT_STYLE_STATUS] = { "oom", ARG_NONE, "" },
                [EXIT_STYLE_STATUS_JSON] = { "{\"signal\": \"", ARG_SIGNAL, "\", \"reason\": \"oom\"}" },
                [EXIT_STYLE_EVENT_JSON] = { ", \"signal\": \"", ARG_SIGNAL, "\", \"core_dumped\": true" },
        },
};

static ExitKind kind_of(const ExitHow *e) {
        switch (e->code) {
        case 0:
                return KIND_NONE;
        case EXIT_START_FAILED:
                return KIND_START_FAILED;
        case CLD_EXITED:
                return e->oom ? KIND_EXITED_OOM : KIND_EXITED;
        case CLD_DUMPED:
                return e->oom ? KIND_DUMPED_OOM : KIND_DUMPED;
        default:
                /* CLD_KILLED; waitid(WEXITED) gives no other code. */
                return e->oom ? KIND_KILLED_OOM : KIND_KILLED;
        }
}

int exit_describe(const ExitHow *e, ExitStyle style, char *buf, size_t size) {
        assert(e);
        assert(style >= 0 && style < _EXIT_STYLE_MAX);

        const Cell *c = &cells[kind_of(e)][style];
        char num[16];
        const char *arg = "";
        switch (c->arg) {
        case ARG_NONE:
                break;
        case ARG_STATUS:
                snprintf(num, sizeof num, "%d", e->status);
                arg = num;
                break;
        case ARG_SIGNAL:
                arg = sigabbrev_np(e->status) ?: "?";
                break;
        case ARG_ERRNO:
                arg = strerrorname_np(e->status) ?: "?";
                break;
        }
        return snprintf(buf, size, "%s%s%s", c->before, arg, c->after);
}

int exit_shell_status(const ExitHow *e) {
        assert(e);

        switch (kind_of(e)) {
        case KIND_NONE:
                return 0;
        case KIND_START_FAILED:
                return e->status == ENOENT ? 127 : 126;
        case KIND_EXITED:
        case KIND_EXITED_OOM:
                return e->status & 0xff;
        case KIND_KILLED:
        case KIND_KILLED_OOM:
        case KIND_DUMPED:
        case KIND_DUMPED_OOM:
                return 128 + (e->status & 0x7f);
        case _KIND_MAX:
        default:
                assert(false);
                return 1;
        }
}
