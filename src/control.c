/* SPDX-License-Identifier: MIT */
/* Control connections: SOCK_SEQPACKET, mode 0600, SO_PEERCRED checked, bounded in number and
 * in request size. Answers are queued as packets and flushed with MSG_DONTWAIT; a client that
 * does not read only fills its own queue. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctlproto.h"

#define CONTROL_CONNECTIONS_MAX 256
#define CONTROL_REPLY_MAX (64u * 1024 * 1024)

struct ControlServer {
        sd_event *event;           /* borrowed */
        int fd;
        char *path;
        sd_event_source *accept_source;
        ControlHandler handler;
        void *ud;
        ControlRequest *requests;  /* owned list */
        unsigned n_requests;
};

struct ControlRequest {
        ControlServer *server;     /* borrowed */
        ControlRequest *next, *prev;
        int fd;
        sd_event_source *source;
        bool received;             /* the request arrived and went to the handler */
        bool finished;             /* the exit status is queued */
        bool refused;              /* SO_PEERCRED says no: answer the request with a refusal */
        bool incomplete;           /* part of the answer could not be queued (out of memory) */
        char *queue;               /* packets: [uint32 length][bytes]... */
        size_t queue_len, queue_sent;
        ControlAbandon abandon;
        void *abandon_ud;
};

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
        safe_close(r->fd);
        free(r->queue);
        free(r);
}

static int queue_packet(ControlRequest *r, char type, const char *data, size_t len) {
        if (r->queue_len + len + 5 > CONTROL_REPLY_MAX)
                return -ENOBUFS;
        char *q = realloc(r->queue, r->queue_len + len + 5);
        if (!q) {
                r->incomplete = true;
                return -ENOMEM;
        }
        r->queue = q;
        uint32_t l = (uint32_t) len + 1;
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
        if (r->refused) {
                /* Answered only now that the request is read: closing with it unread would
                 * reset the connection and lose the answer. */
                control_reply_errorf(r, "permission denied\n");
                control_reply_finish(r, 1);
                return 0;
        }

        char *argv[CTL_ARGS_MAX + 1];
        int argc = n > (ssize_t) CTL_REQUEST_MAX ? -EMSGSIZE : ctl_decode_request(buf, (size_t) n, argv, CTL_ARGS_MAX);
        if (argc <= 0) {
                control_reply_errorf(r, "malformed request%s\n", argc == -EMSGSIZE ? " (too long)" : "");
                control_reply_finish(r, 2);
                return 0;
        }
        argv[argc] = NULL;
        r->server->handler(r->server->ud, r, argc, argv);
        return 0;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        ControlServer *s = userdata;

        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0)
                return 0;
        if (s->n_requests >= CONTROL_CONNECTIONS_MAX) {
                safe_close(cfd);
                return 0;
        }
        ControlRequest *r = calloc(1, sizeof *r);
        if (!r) {
                safe_close(cfd);
                return 0;
        }
        r->server = s;
        r->fd = cfd;
        r->next = s->requests;
        if (s->requests)
                s->requests->prev = r;
        s->requests = r;
        s->n_requests++;
        if (sd_event_add_io(s->event, &r->source, cfd, EPOLLIN, on_request_io, r) < 0) {
                request_free(r);
                return 0;
        }
        sd_event_source_set_priority(r->source, SD_EVENT_PRIORITY_NORMAL);

        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
            (cred.uid != 0 && cred.uid != geteuid()))
                r->refused = true;
        return 0;
}

int control_server_new(sd_event *e, const char *path, ControlHandler handler, void *ud, ControlServer **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        ControlServer *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->event = e;
        s->handler = handler;
        s->ud = ud;
        s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        s->path = strdup(path);
        if (s->fd < 0 || !s->path) {
                int r = s->fd < 0 ? -errno : -ENOMEM;
                control_server_free(s);
                return r;
        }

        /* A socket file left by a daemon that died is removed; a live daemon is not displaced. */
        int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (probe >= 0) {
                int c = connect(probe, (struct sockaddr *) &sa, sizeof sa);
                int err = errno;
                safe_close(probe);
                if (c == 0) {
                        free(s->path);
                        s->path = NULL; /* not ours: do not unlink it */
                        control_server_free(s);
                        return -EADDRINUSE;
                }
                if (err == ECONNREFUSED)
                        (void) unlink(path);
        }

        mode_t old = umask(0177);
        int r = bind(s->fd, (struct sockaddr *) &sa, sizeof sa);
        umask(old);
        if (r < 0 || chmod(path, 0600) < 0 || listen(s->fd, 64) < 0) {
                r = -errno;
                if (r == -EADDRINUSE) {
                        free(s->path);
                        s->path = NULL;
                }
                control_server_free(s);
                return r;
        }
        r = sd_event_add_io(e, &s->accept_source, s->fd, EPOLLIN, on_accept, s);
        if (r < 0) {
                control_server_free(s);
                return r;
        }
        sd_event_source_set_priority(s->accept_source, SD_EVENT_PRIORITY_NORMAL);
        *ret = s;
        return 0;
}

ControlServer *control_server_free(ControlServer *s) {
        if (!s)
                return NULL;
        while (s->requests)
                request_free(s->requests);
        sd_event_source_disable_unref(s->accept_source);
        safe_close(s->fd);
        if (s->path)
                (void) unlink(s->path);
        free(s->path);
        return mfree(s);
}
