/* SPDX-License-Identifier: MIT */
/* A fake of control.c's request side (test-commands.c): ControlRequest is a record of the answer
 * (stdout, stderr and diagnostics text, the exit status, how often it was finished), so that a
 * handler is tested without a socket. The includer links these definitions instead of
 * control.o's; the client going away is fake_client_gone(). */
#pragma once

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "macro.h"

struct ControlRequest {
        char out[65536], err[4096], diag[4096];
        int status;            /* -1 until finished */
        unsigned finishes;     /* control_reply_finish() calls: exactly one is right */
        unsigned late;         /* text written after the finish */
        uint64_t deadline;     /* what control_request_deadline() says */
        int accept_result;     /* what control_request_accept() returns */
        unsigned accepts;
        bool held_until_exit;
        int stream_fd;         /* the client's end once taken as a stream, else -1 */
        ControlAbandon abandon;
        void *abandon_ud;
};

static inline ControlRequest *fake_request_new(void) {
        ControlRequest *r = calloc(1, sizeof *r);
        assert(r);
        r->status = -1;
        r->stream_fd = -1;
        return r;
}

/* The client closes its connection: the handler hears of it if the request is unanswered. */
static inline void fake_client_gone(ControlRequest *r) {
        if (r->finishes == 0 && r->abandon)
                r->abandon(r, r->abandon_ud);
}

static inline void fake_request_free(ControlRequest *r) {
        if (r && r->stream_fd >= 0)
                close(r->stream_fd);
        free(r);
}

_printf_(4, 0) static void fake_append(ControlRequest *r, char *buf, size_t size, const char *fmt, va_list ap) {
        size_t l = strlen(buf);
        if (r->finishes)
                r->late++;
        vsnprintf(buf + l, size - l, fmt, ap);
}

void control_reply_printf(ControlRequest *r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fake_append(r, r->out, sizeof r->out, fmt, ap);
        va_end(ap);
}

void control_reply_errorf(ControlRequest *r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fake_append(r, r->err, sizeof r->err, fmt, ap);
        va_end(ap);
}

void control_reply_diagnostic(ControlRequest *r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fake_append(r, r->diag, sizeof r->diag, fmt, ap);
        va_end(ap);
}

void control_reply_append(ControlRequest *r, const char *data, size_t len) {
        control_reply_printf(r, "%.*s", (int) len, data);
}

uint64_t control_request_deadline(const ControlRequest *r) {
        return r->deadline;
}

int control_request_accept(ControlRequest *r) {
        r->accepts++;
        return r->accept_result;
}

void control_reply_finish(ControlRequest *r, int status) {
        if (r->finishes++ == 0)
                r->status = status;
}

int control_request_take_stream(ControlRequest *r) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        r->stream_fd = sv[1];
        r->finishes++; /* answered: it is the stream now */
        r->status = 'S';
        return sv[0];
}

void control_request_set_abandon(ControlRequest *r, ControlAbandon cb, void *ud) {
        r->abandon = cb;
        r->abandon_ud = ud;
}

void control_request_hold_until_exit(ControlRequest *r) {
        r->held_until_exit = true;
}
