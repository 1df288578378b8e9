/* SPDX-License-Identifier: MIT */
/* The log queue: one ring of whole records in front of a non-blocking descriptor. A record is
 * queued whole or dropped whole; only a record the descriptor took in part stays queued in part,
 * and its rest goes first, so a line is never cut. When one record has been dropped, every
 * following one is dropped too until the queue has run empty (the reader caught up): then one
 * "<4>N log records dropped ..." line marks the gap, instead of a notice per freed byte. */
#include "log-sink.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "time-util.h"

/* Without the loop (start-up before it exists, the final lines at exit) a record that cannot be
 * written at once waits this long at most; once such a wait ran out, no record waits again until
 * the reader takes something, so a stopped reader costs one second, not one per line. */
#define LOG_SINK_WAIT_USEC (1 * USEC_PER_SEC)

static struct {
        int fd;                 /* what we write to; -EBADF while closed */
        bool own_fd;            /* our own file description (closed by us) */
        bool is_socket;         /* written with send(MSG_DONTWAIT) */
        bool poll_first;        /* a blocking descriptor we could not reopen: see flush_some() */
        size_t capacity;
        size_t head, len;       /* the queue: ring[head .. head+len) modulo capacity */
        bool dropping;          /* a record was dropped since the queue last ran empty */
        uint64_t dropped;       /* records dropped since the last notice */
        uint64_t dropped_total;
        bool stalled;           /* a bounded wait ran out and the reader has not moved since */
        bool attached;
        sd_event_source *source;
} sink = { .fd = -EBADF };

/* Outside sink: it outlives a close and reopen of the sink. */
static bool sink_timestamps;

static char ring[LOG_SINK_QUEUE_MAX];

bool log_sink_is_open(void) {
        return sink.fd >= 0;
}

uint64_t log_sink_dropped_total(void) {
        return sink.dropped_total;
}

size_t log_sink_queued(void) {
        return sink.len;
}

static void append(const void *p, size_t n) {
        size_t tail = (sink.head + sink.len) % sink.capacity;
        size_t first = n < sink.capacity - tail ? n : sink.capacity - tail;
        memcpy(ring + tail, p, first);
        memcpy(ring, (const char *) p + first, n - first);
        sink.len += n;
}

static void consume(size_t n) {
        sink.head = (sink.head + n) % sink.capacity;
        sink.len -= n;
        if (sink.len == 0)
                sink.head = 0;
}

/* One write of what is queued: > 0 bytes taken, -EAGAIN when the reader is full, or another
 * -errno when nobody will ever read it (EPIPE: the reader is gone). */
static ssize_t flush_some(void) {
        size_t first = sink.len < sink.capacity - sink.head ? sink.len : sink.capacity - sink.head;
        struct iovec iov[2] = {
                { ring + sink.head, first },
                { ring, sink.len - first },
        };
        int n_iov = iov[1].iov_len > 0 ? 2 : 1;
        ssize_t k;

        if (sink.poll_first) {
                /* A blocking pipe that is ours to share: write only when poll says there is
                 * room, and no more than PIPE_BUF, which a pipe with room takes without
                 * waiting. */
                struct pollfd pfd = { .fd = sink.fd, .events = POLLOUT };
                if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLOUT))
                        return -EAGAIN;
                if (iov[0].iov_len > PIPE_BUF)
                        iov[0].iov_len = PIPE_BUF;
                n_iov = 1;
        }
        if (sink.is_socket) {
                struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t) n_iov };
                k = sendmsg(sink.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        } else
                k = writev(sink.fd, iov, n_iov);
        if (k < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        if (k == 0)
                return -EAGAIN;
        consume((size_t) k);
        sink.stalled = false;
        return k;
}

void log_sink_set_timestamps(bool on) {
        sink_timestamps = on;
}

size_t log_sink_line_prefix(char *buf, size_t size, int prio) {
        int n = snprintf(buf, size, "<%d>", prio);
        size_t len = n < 0 ? 0 : (size_t) n;
        if (sink_timestamps && len + TIMESTAMP_ISO_MAX + 1 <= size) {
                len += format_timestamp_iso(buf + len, size - len);
                buf[len++] = ' ';
        }
        return len;
}

static void queue_notice(void) {
        char notice[96 + LOG_SINK_PREFIX_MAX];
        size_t p = log_sink_line_prefix(notice, LOG_SINK_PREFIX_MAX, 4);
        int n = snprintf(notice + p, sizeof notice - p, "%" PRIu64 " log record%s dropped while the log was blocked\n",
                         sink.dropped, sink.dropped == 1 ? "" : "s");
        n = n < 0 ? n : n + (int) p;
        sink.dropped = 0;
        if (n > 0 && (size_t) n <= sink.capacity - sink.len)
                append(notice, (size_t) n);
}

/* Writes until the reader is full; returns 0, or -EAGAIN when something is left. */
static int flush_all(void) {
        for (;;) {
                while (sink.len > 0) {
                        ssize_t k = flush_some();
                        if (k == -EINTR)
                                continue;
                        if (k == -EAGAIN)
                                return -EAGAIN;
                        if (k < 0) {
                                /* Nobody reads it any more: what is queued is lost either way. */
                                sink.len = sink.head = 0;
                                break;
                        }
                }
                /* The reader caught up: say what it missed, right where it missed it. */
                if (!sink.dropping)
                        return 0;
                sink.dropping = false;
                if (sink.dropped == 0)
                        return 0;
                queue_notice();
        }
}

static void update_source(void) {
        if (sink.source)
                (void) sd_event_source_set_enabled(sink.source, sink.len > 0 ? SD_EVENT_ON : SD_EVENT_OFF);
}

/* Outside the loop: write what is queued, waiting a bounded time for the reader. */
static void flush_bounded(void) {
        usec_t deadline = now_usec() + LOG_SINK_WAIT_USEC;
        for (;;) {
                if (flush_all() == 0 || sink.stalled)
                        return;
                usec_t now = now_usec();
                if (now >= deadline) {
                        sink.stalled = true;
                        return;
                }
                struct pollfd pfd = { .fd = sink.fd, .events = POLLOUT };
                int ms = (int) ((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
                if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
                        return;
        }
}

static int on_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) flush_all();
        update_source();
        return 0;
}

bool log_sink_write(const struct iovec *iov, size_t n) {
        size_t total = 0;

        if (sink.fd < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                total += iov[i].iov_len;
        if (!sink.source && sink.len > 0)
                flush_bounded();
        if (sink.dropping && sink.len == 0)
                (void) flush_all(); /* caught up since (a record too big for any queue): the notice */
        if (sink.dropping || total > sink.capacity - sink.len) {
                sink.dropping = true;
                sink.dropped++;
                sink.dropped_total++;
                return false;
        }
        bool was_empty = sink.len == 0;
        for (size_t i = 0; i < n; i++)
                append(iov[i].iov_base, iov[i].iov_len);
        /* Behind queued records it waits its turn; alone it goes out now. */
        if (was_empty) {
                if (sink.source)
                        (void) flush_all();
                else
                        flush_bounded();
        }
        update_source();
        return true;
}

int log_sink_open(int fd, size_t capacity) {
        struct stat st;

        if (sink.fd >= 0)
                return -EBUSY;
        if (capacity == 0 || capacity > LOG_SINK_QUEUE_MAX)
                capacity = LOG_SINK_QUEUE_MAX;
        if (fstat(fd, &st) < 0)
                return -errno;

        sink = (typeof(sink)) { .fd = -EBADF, .capacity = capacity };
        if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
                /* Never "full", and a description of our own would write at its own offset,
                 * over what children with stdout = inherit wrote through the shared one. */
                sink.fd = fd;
                return 0;
        }
        if (S_ISSOCK(st.st_mode)) {
                sink.fd = fd;
                sink.is_socket = true;
                return 0;
        }
        /* Not O_NONBLOCK on fd itself: that flag lives in the file description, which children
         * with stdout = inherit share, and they would get EAGAIN. */
        char path[32];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int own = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (own >= 0) {
                sink.fd = own;
                sink.own_fd = true;
                return 0;
        }
        /* No /proc, or a pipe without a reader now (ENXIO): share fd, with poll before writes. */
        sink.fd = fd;
        sink.poll_first = true;
        return 0;
}

int log_sink_attach(sd_event *e) {
        if (sink.fd < 0 || sink.attached)
                return 0;
        int r = sd_event_add_io(e, &sink.source, sink.fd, EPOLLOUT, on_writable, NULL);
        if (r == -EPERM)
                r = 0; /* a file or /dev/null: epoll cannot watch it, and it never fills */
        if (r < 0)
                return r;
        if (sink.source)
                (void) sd_event_source_set_description(sink.source, "log-sink");
        sink.attached = true;
        update_source();
        return 0;
}

void log_sink_detach(void) {
        if (!sink.attached)
                return;
        sink.source = sd_event_source_disable_unref(sink.source);
        sink.attached = false;
        sink.stalled = false;
        flush_bounded();
}

void log_sink_close(void) {
        if (sink.fd < 0)
                return;
        log_sink_detach();
        flush_bounded();
        if (sink.own_fd)
                safe_close(sink.fd);
        sink.fd = -EBADF;
        sink.len = sink.head = 0;
}
