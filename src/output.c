/* SPDX-License-Identifier: MIT */
/* Child output to the log, or to a `file:` output the node writes (output-file.c). Lines are cut
 * at OUTPUT_LINE_MAX; a partial line waits in a small heap buffer allocated only while one is
 * pending. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "output-file.h"
#include "priority.h"

#define OUTPUT_LINE_MAX 4096
#define OUTPUT_READ_MAX 65536 /* per wake-up: one child cannot monopolise the loop */

struct OutputPipe {
        int read_fd, write_fd;
        sd_event_source *source;
        const char *tag;
        const pid_t *pid;
        OutputFile *file;          /* owned reference: lines go there, not to the log */
        char *partial;
        size_t partial_len;
};

/* One line, or a piece of one that did not fit (nl false). The log makes a record of each; a
 * file gets the bytes as they were, with the newline only where the child wrote one. */
static void emit(OutputPipe *o, const char *line, size_t len, bool nl) {
        if (o->file) {
                output_file_write(o->file, line, len, nl);
                return;
        }
        if (len > 0 && line[len - 1] == '\r')
                len--;
        log_child_output(o->tag, *o->pid, LOG_INFO, line, len);
}

static void take(OutputPipe *o, const char *data, size_t len) {
        if (o->file && o->partial_len == 0) {
                /* A file takes every whole line of the read at once (it keeps lines as they are,
                 * whatever their length); only the piece after the last newline waits. */
                const char *last = memrchr(data, '\n', len);
                if (last) {
                        size_t whole = (size_t) (last - data) + 1;
                        output_file_write_lines(o->file, data, whole);
                        data += whole;
                        len -= whole;
                }
        }
        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t seg = nl ? (size_t) (nl - data) : len;

                if (o->partial_len == 0 && nl && seg < OUTPUT_LINE_MAX) {
                        emit(o, data, seg, true);
                        data += seg + 1;
                        len -= seg + 1;
                        continue;
                }
                if (!o->partial && !(o->partial = malloc(OUTPUT_LINE_MAX))) {
                        /* Out of memory: this piece goes out now as a line of its own (a line
                         * split where it would have been joined) rather than being lost. */
                        size_t part = seg < OUTPUT_LINE_MAX ? seg : OUTPUT_LINE_MAX;
                        size_t ends = nl && part == seg;
                        emit(o, data, part, ends);
                        data += part + ends;
                        len -= part + ends;
                        continue;
                }
                size_t room = OUTPUT_LINE_MAX - o->partial_len;
                size_t part = seg < room ? seg : room;
                memcpy(o->partial + o->partial_len, data, part);
                o->partial_len += part;
                data += part;
                len -= part;
                bool ends = nl && part == seg;
                if (ends || o->partial_len == OUTPUT_LINE_MAX) {
                        emit(o, o->partial, o->partial_len, ends);
                        o->partial_len = 0;
                        o->partial = mfree(o->partial);
                        if (ends) {
                                data++;
                                len--;
                        }
                }
        }
}

static void read_some(OutputPipe *o, size_t max) {
        char buf[8192];
        size_t total = 0;

        while (total < max) {
                ssize_t n = read(o->read_fd, buf, sizeof buf);
                if (n <= 0)
                        break;
                take(o, buf, (size_t) n);
                total += (size_t) n;
        }
}

static int on_output(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        read_some(userdata, OUTPUT_READ_MAX);
        return 0;
}

void output_pipe_drain(OutputPipe *o) {
        /* What the pipe holds now, no more: a descendant that goes on writing cannot hold up
         * the reaper. */
        int size = fcntl(o->read_fd, F_GETPIPE_SZ);
        read_some(o, size > 0 ? (size_t) size : OUTPUT_READ_MAX);
        if (o->partial_len) {
                /* Its writer is gone: the next process's first words must not be glued to it
                 * (in a file too, where it gets the newline its writer did not write). */
                emit(o, o->partial, o->partial_len, true);
                o->partial_len = 0;
                o->partial = mfree(o->partial);
        }
}

static int pipe_new(sd_event *e, OutputPipe **ret) {
        int p[2];
        OutputPipe *o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        if (pipe2(p, O_CLOEXEC) < 0) {
                int r = -errno;
                free(o);
                return r;
        }
        o->read_fd = p[0];
        o->write_fd = p[1];
        (void) fcntl(o->read_fd, F_SETFL, O_NONBLOCK);
        int r = sd_event_add_io(e, &o->source, o->read_fd, EPOLLIN, on_output, o);
        if (r < 0) {
                output_pipe_free(o);
                return r;
        }
        /* Below control requests and child exits: output waits, restarts do not. */
        sd_event_source_set_priority(o->source, PRIORITY_IDLE);
        *ret = o;
        return 0;
}

int output_pipe_new(sd_event *e, const char *tag, const pid_t *pid, OutputPipe **ret) {
        int r = pipe_new(e, ret);
        if (r < 0)
                return r;
        (*ret)->tag = tag;
        (*ret)->pid = pid;
        return 0;
}

int output_pipe_new_file(sd_event *e, OutputFile *f, OutputPipe **ret) {
        int r = pipe_new(e, ret);
        if (r < 0)
                return r;
        (*ret)->file = f;
        return 0;
}

void output_pipe_set_file(OutputPipe *o, OutputFile *f) {
        if (o->file == f) {
                output_file_unref(f); /* the pipe holds one reference already */
                return;
        }
        /* A reload named another file: what is still in the pipe was meant for the old one. */
        if (o->source)
                read_some(o, OUTPUT_READ_MAX);
        if (o->partial_len) {
                emit(o, o->partial, o->partial_len, true);
                o->partial_len = 0;
                o->partial = mfree(o->partial);
        }
        output_file_unref(o->file);
        o->file = f;
}

OutputPipe *output_pipe_free(OutputPipe *o) {
        if (!o)
                return NULL;
        if (o->source) {
                /* Whatever is already in the pipe still belongs in the log. */
                read_some(o, OUTPUT_READ_MAX);
                if (o->partial_len)
                        emit(o, o->partial, o->partial_len, true);
        }
        sd_event_source_disable_unref(o->source);
        output_file_unref(o->file);
        safe_close(o->read_fd);
        safe_close(o->write_fd);
        free(o->partial);
        return mfree(o);
}

int output_pipe_fd(const OutputPipe *o) {
        return o->write_fd;
}
