/* SPDX-License-Identifier: MIT */
/* Control connections: SOCK_SEQPACKET, mode 0600, SO_PEERCRED checked, bounded in number (in all
 * and per uid, with a reserve for root), in idle time and in request size. Answers are queued as
 * packets and flushed with MSG_DONTWAIT; a client that does not read only fills its own queue.
 * Out of file descriptors, accepting backs off instead of spinning. Also the rules of the
 * default socket path and its directory. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "array.h"
#include "ctlproto.h"
#include "log.h"
#include "priority.h"
#include "socket-util.h"
#include "time-util.h"

#define CONTROL_REPLY_MAX (64u * 1024 * 1024)
/* Retrying accept while out of descriptors: often enough that clients barely notice, rarely
 * enough that the loop sleeps. */
#define CONTROL_ACCEPT_RETRY_USEC (100 * USEC_PER_MSEC)

struct ControlServer {
        sd_event *event;           /* borrowed */
        int fd;
        char *path;
        sd_event_source *accept_source;
        ControlHandler handler;
        void *ud;
        ControlRequest *requests;  /* owned list */
        unsigned n_requests;
        int reserve_fd;            /* /dev/null, given up to shed a client when out of fds */
        sd_event_source *retry_timer; /* re-enables accepting after an fd shortage */
        bool starved;              /* accept failed for want of resources; not yet recovered */
        unsigned long n_shed;      /* connections closed unserved in this shortage */
        bool limited;              /* a connection was refused for the limits; logged once */
        uint64_t idle_usec;        /* CONTROL_IDLE_SEC, unless a test shortened it */
};

struct ControlRequest {
        ControlServer *server;     /* borrowed */
        ControlRequest *next, *prev;
        int fd;
        uid_t uid;                 /* SO_PEERCRED; (uid_t) -1 when unknown */
        sd_event_source *source;
        sd_event_source *idle_timer; /* armed while the client owes us a request or a read */
        bool received;             /* the request arrived and went to the handler */
        bool finished;             /* the exit status is queued */
        bool refused;              /* SO_PEERCRED says no: answer the request with a refusal */
        bool incomplete;           /* part of the answer could not be queued (out of memory) */
        CtlHeader header;          /* the request's version and deadline */
        char *queue;               /* packets: [uint32 length][bytes]... */
        size_t queue_len, queue_sent, queue_cap;
        size_t queue_last;         /* where the last queued packet starts (valid while queue_len) */
        ControlAbandon abandon;
        void *abandon_ud;
};

static void accept_resume(ControlServer *s) {
        if (s->starved)
                (void) sd_event_source_set_enabled(s->accept_source, SD_EVENT_ON);
}

static void request_free(ControlRequest *r) {
        ControlServer *s = r->server;
        if (!r->finished && r->abandon)
                r->abandon(r, r->abandon_ud);
        if (r->prev)
                r->prev->next = r->next;
        else
                s->requests = r->next;
        if (r->next)
                r->next->prev = r->prev;
        s->n_requests--;
        sd_event_source_disable_unref(r->source);
        sd_event_source_disable_unref(r->idle_timer);
        safe_close(r->fd);
        free(r->queue);
        free(r);
        /* A descriptor was freed: a starved accept may succeed now. */
        accept_resume(s);
}

static int on_idle(sd_event_source *src, uint64_t usec, void *userdata) {
        ControlRequest *r = userdata;
        log_debug("Closing a control connection of uid %u: %s within %u s", (unsigned) r->uid,
                  r->received ? "its answer was not read" : "no request", CONTROL_IDLE_SEC);
        request_free(r);
        return 0;
}

/* Arms (or stops, with on false) the idle deadline. A connection is idle while the client owes
 * the next step: a whole request, or reading a finished answer. A request handed to the handler
 * (a `wait`, a pending `call` or `reload`) waits on the daemon and is never idle. */
static void idle_watch(ControlRequest *r, bool on) {
        if (!on) {
                r->idle_timer = sd_event_source_disable_unref(r->idle_timer);
                return;
        }
        if (r->idle_timer)
                return;
        (void) sd_event_add_time_relative(r->server->event, &r->idle_timer, CLOCK_MONOTONIC, r->server->idle_usec,
                                          USEC_PER_SEC / 10, on_idle, r);
}

/* Appends a packet. Output ('O') is a byte stream to the client, so output following output that
 * is not sent yet goes into the same packet while it fits: a `status --json` of a thousand
 * workers is a few dozen packets and sends, not one per line. The queue grows by doubling, so a
 * long answer costs a few reallocations rather than one per piece (a heap fragmented by those is
 * never given back). */
static int queue_packet(ControlRequest *r, char type, const char *data, size_t len) {
        if (type == CTL_OUT && r->queue_len > r->queue_sent && r->queue[r->queue_last + 4] == CTL_OUT) {
                uint32_t l;
                memcpy(&l, r->queue + r->queue_last, 4);
                if (l + len <= CTL_PACKET_MAX && r->queue_len + len <= r->queue_cap) {
                        memcpy(r->queue + r->queue_len, data, len);
                        r->queue_len += len;
                        l += (uint32_t) len;
                        memcpy(r->queue + r->queue_last, &l, 4);
                        return 0;
                }
        }
        size_t need = r->queue_len + len + 5;
        if (need > CONTROL_REPLY_MAX)
                return -ENOBUFS;
        if (ARRAY_GROW(r->queue, r->queue_cap, need) < 0) {
                r->incomplete = true;
                return -ENOMEM;
        }
        char *q = r->queue;
        uint32_t l = (uint32_t) len + 1;
        r->queue_last = r->queue_len;
        memcpy(q + r->queue_len, &l, 4);
        q[r->queue_len + 4] = type;
        if (len)
                memcpy(q + r->queue_len + 5, data, len);
        r->queue_len += len + 5;
        return 0;
}

/* Sends what is queued. Returns < 0 when the request is finished with (freed). */
static int flush(ControlRequest *r) {
        while (r->queue_sent < r->queue_len) {
                uint32_t l;
                memcpy(&l, r->queue + r->queue_sent, 4);
                ssize_t n = send(r->fd, r->queue + r->queue_sent + 4, l, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR) {
                                sd_event_source_set_io_events(r->source, EPOLLOUT);
                                if (r->finished)
                                        idle_watch(r, true);
                                return 0;
                        }
                        request_free(r);
                        return -1;
                }
                r->queue_sent += 4 + l;
        }
        r->queue_len = r->queue_sent = 0;
        if (r->finished) {
                request_free(r);
                return -1;
        }
        sd_event_source_set_io_events(r->source, EPOLLIN);
        return 0;
}

static void send_text(ControlRequest *r, char type, const char *data, size_t len) {
        while (len > 0) {
                size_t chunk = len < CTL_PACKET_MAX - 1 ? len : CTL_PACKET_MAX - 1;
                if (queue_packet(r, type, data, chunk) < 0)
                        return;
                data += chunk;
                len -= chunk;
        }
}

void control_reply_append(ControlRequest *r, const char *data, size_t len) {
        send_text(r, CTL_OUT, data, len);
}

_printf_(3, 0) static void reply_vprintf(ControlRequest *r, char type, const char *fmt, va_list ap) {
        char *s = NULL;
        int n = vasprintf(&s, fmt, ap);
        if (n < 0) {
                r->incomplete = true;
                return;
        }
        send_text(r, type, s, (size_t) n);
        free(s);
}

void control_reply_diagnostic(ControlRequest *r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        reply_vprintf(r, CTL_DIAG, fmt, ap);
        va_end(ap);
}

void control_reply_printf(ControlRequest *r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        reply_vprintf(r, CTL_OUT, fmt, ap);
        va_end(ap);
}

void control_reply_errorf(ControlRequest *r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        reply_vprintf(r, CTL_ERR, fmt, ap);
        va_end(ap);
}

void control_reply_finish(ControlRequest *r, int status) {
        char st = (char) status;
        if (r->finished)
                return;
        if (r->incomplete) {
                /* A half answer must not pass for a whole one: it ends with an error. (Should
                 * this not fit either, the connection ends without a status, which the client
                 * reports too.) */
                static const char lost[] = "out of memory: part of this answer was lost\n";
                (void) queue_packet(r, CTL_ERR, lost, sizeof lost - 1);
                if (status == 0)
                        st = 1;
        }
        (void) queue_packet(r, CTL_EXIT, &st, 1);
        r->finished = true;
        (void) flush(r);
}

void control_request_hold_until_exit(ControlRequest *r) {
        /* A duplicate that is never closed: the kernel closes it when the process exits,
         * after every child has been reaped and everything else torn down. */
        (void) fcntl(r->fd, F_DUPFD_CLOEXEC, 3);
}

int control_request_take_stream(ControlRequest *r) {
        char type = CTL_STREAM;
        if (r->queue_sent < r->queue_len)
                return -EBUSY;
        /* Nothing else is queued, so the socket has room for this one byte. */
        if (send(r->fd, &type, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
                return -errno;
        int fd = TAKE_FD(r->fd);
        r->finished = true; /* answered: no abandon callback */
        request_free(r);
        return fd;
}

void control_request_set_abandon(ControlRequest *r, ControlAbandon cb, void *ud) {
        r->abandon = cb;
        r->abandon_ud = ud;
}

uint64_t control_request_deadline(const ControlRequest *r) {
        return r->header.deadline_usec;
}

int control_request_accept(ControlRequest *r) {
        /* The request may have waited in the socket long after its client gave up and closed
         * (a stopped daemon): both ends shut means nobody waits for what it would do. */
        struct pollfd p = { .fd = r->fd, .events = POLLIN };
        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
                return -ECONNRESET;
        if (r->header.version < 2)
                return 0;
        /* Sent at once rather than queued: nothing is queued yet, and a stream
         * (control_request_take_stream) needs an empty queue. */
        char type = CTL_ACCEPT;
        if (send(r->fd, &type, 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
                return 0;
        if (errno != EAGAIN && errno != EINTR)
                return -errno;
        int k = queue_packet(r, CTL_ACCEPT, NULL, 0);
        if (k < 0)
                return k;
        sd_event_source_set_io_events(r->source, EPOLLOUT);
        return 0;
}

static int on_request_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        ControlRequest *r = userdata;

        if (revents & EPOLLOUT) {
                if (flush(r) < 0)
                        return 0;
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;

        char buf[CTL_REQUEST_MAX + 1];
        ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                request_free(r);
                return 0;
        }
        if (n == 0) {
                /* The client went away (or half-closed); nothing more to answer. */
                request_free(r);
                return 0;
        }
        if (r->received)
                return 0; /* one request per connection; ignore the rest */
        r->received = true;
        idle_watch(r, false);
        if (r->refused) {
                /* Answered only now that the request is read: closing with it unread would
                 * reset the connection and lose the answer. */
                control_reply_errorf(r, "permission denied\n");
                control_reply_finish(r, 1);
                return 0;
        }

        char *argv[CTL_ARGS_MAX + 1];
        int argc = n > (ssize_t) CTL_REQUEST_MAX ? -EMSGSIZE : ctl_decode_request(buf, (size_t) n, argv, CTL_ARGS_MAX, &r->header);
        if (argc <= 0) {
                control_reply_errorf(r, "malformed request%s\n", argc == -EMSGSIZE ? " (too long)" : "");
                control_reply_finish(r, 2);
                return 0;
        }
        argv[argc] = NULL;
        r->server->handler(r->server->ud, r, argc, argv);
        return 0;
}

static int on_retry_accept(sd_event_source *src, uint64_t usec, void *userdata) {
        accept_resume(userdata);
        return 0;
}

/* accept4 failed for want of a descriptor (or memory): a level-triggered source would call us
 * again at once, forever. Shed the oldest waiting client through the reserve descriptor, so it
 * hears at once that it is not served instead of waiting for its deadline, then stop accepting
 * until a connection closes or a short timer fires. Logged once per shortage. */
static void accept_starved(ControlServer *s, int err) {
        if (!s->starved) {
                log_warning_errno(err, "Cannot accept control connections: %m; refusing them until resources are free");
                s->starved = true;
                s->n_shed = 0;
        }
        if (s->reserve_fd >= 0 && (err == EMFILE || err == ENFILE)) {
                s->reserve_fd = safe_close(s->reserve_fd);
                int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
                if (c >= 0) {
                        safe_close(c);
                        s->n_shed++;
                }
                s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        }
        (void) sd_event_source_set_enabled(s->accept_source, SD_EVENT_OFF);
        (void) sd_event_source_set_time_relative(s->retry_timer, CONTROL_ACCEPT_RETRY_USEC);
        (void) sd_event_source_set_enabled(s->retry_timer, SD_EVENT_ONESHOT);
}

/* Root always finds room up to a small reserve, so an administrator can get in whatever other
 * clients hold; every other uid has a share of its own and the common cap. */
static bool connection_allowed(ControlServer *s, uid_t uid) {
        if (uid == 0)
                return s->n_requests < CONTROL_CONNECTIONS_MAX + CONTROL_ROOT_RESERVE;
        if (s->n_requests >= CONTROL_CONNECTIONS_MAX)
                return false;
        unsigned n = 0;
        for (ControlRequest *r = s->requests; r; r = r->next)
                if (r->uid == uid)
                        n++;
        return n < CONTROL_CONNECTIONS_PER_UID;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        ControlServer *s = userdata;

        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0) {
                if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                        return 0;
                accept_starved(s, errno);
                return 0;
        }
        if (s->starved) {
                s->starved = false;
                log_info("Accepting control connections again (%lu closed unserved meanwhile)", s->n_shed);
        }

        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                cred.uid = (uid_t) -1;
        if (!connection_allowed(s, cred.uid)) {
                if (!s->limited)
                        log_warning("Too many control connections (%u; at most %u per uid): refusing uid %u",
                                    s->n_requests, CONTROL_CONNECTIONS_PER_UID, (unsigned) cred.uid);
                s->limited = true;
                safe_close(cfd);
                return 0;
        }
        s->limited = false;

        ControlRequest *r = calloc(1, sizeof *r);
        if (!r) {
                safe_close(cfd);
                return 0;
        }
        r->server = s;
        r->fd = cfd;
        r->uid = cred.uid;
        r->next = s->requests;
        if (s->requests)
                s->requests->prev = r;
        s->requests = r;
        s->n_requests++;
        if (sd_event_add_io(s->event, &r->source, cfd, EPOLLIN, on_request_io, r) < 0) {
                request_free(r);
                return 0;
        }
        sd_event_source_set_priority(r->source, PRIORITY_CONTROL);
        idle_watch(r, true);
        if (!r->idle_timer) {
                /* Without a deadline an idle client could hold its slot forever. */
                request_free(r);
                return 0;
        }
        if (cred.uid != 0 && cred.uid != geteuid())
                r->refused = true;
        return 0;
}

int control_server_new(sd_event *e, const char *path, ControlHandler handler, void *ud, ControlServer **ret) {
        ControlServer *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->event = e;
        s->handler = handler;
        s->ud = ud;
        s->idle_usec = CONTROL_IDLE_SEC * USEC_PER_SEC;
        s->fd = -EBADF;
        s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (s->reserve_fd < 0) {
                int r = -errno;
                control_server_free(s);
                return r;
        }
        s->fd = socket_bind_unix(SOCK_SEQPACKET, path, 0600, 0, &s->path);
        if (s->fd < 0) {
                int r = s->fd;
                control_server_free(s); /* s->path unset: not ours, not unlinked */
                return r;
        }
        if (listen(s->fd, 64) < 0) {
                int r = -errno;
                control_server_free(s);
                return r;
        }
        int r = sd_event_add_io(e, &s->accept_source, s->fd, EPOLLIN, on_accept, s);
        if (r < 0) {
                control_server_free(s);
                return r;
        }
        sd_event_source_set_priority(s->accept_source, PRIORITY_CONTROL);
        /* Made now, while descriptors are plentiful: the first monotonic timer of the loop
         * opens its timerfd, which the fd shortage it is for would make impossible. */
        r = sd_event_add_time_relative(e, &s->retry_timer, CLOCK_MONOTONIC, CONTROL_ACCEPT_RETRY_USEC, 0,
                                       on_retry_accept, s);
        if (r < 0) {
                control_server_free(s);
                return r;
        }
        (void) sd_event_source_set_enabled(s->retry_timer, SD_EVENT_OFF);
        *ret = s;
        return 0;
}

void control_server_set_idle(ControlServer *s, uint64_t usec) {
        s->idle_usec = usec;
}

unsigned control_server_connections(const ControlServer *s) {
        return s->n_requests;
}

ControlServer *control_server_free(ControlServer *s) {
        if (!s)
                return NULL;
        while (s->requests)
                request_free(s->requests);
        sd_event_source_disable_unref(s->accept_source);
        sd_event_source_disable_unref(s->retry_timer);
        safe_close(s->fd);
        safe_close(s->reserve_fd);
        if (s->path)
                (void) unlink(s->path);
        free(s->path);
        return mfree(s);
}
