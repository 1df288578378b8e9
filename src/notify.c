/* SPDX-License-Identifier: MIT */
/* The children's NOTIFY_SOCKET: one datagram socket for all of them. Messages are read without
 * blocking, limited in size, and any file descriptors passed along are closed at once. Only the
 * node's own children are heard: the kernel stamps each datagram with its sender's pid
 * (SO_PASSCRED), and a sender the handler does not know is dropped and counted.
 *
 * Who can reach the socket: it is mode 0600 in the node's runtime directory, so its own uid.
 * A root node may have children of other users (`user =`); for them the socket is created mode
 * 0622 (writable, the pid check still applies), and since they cannot traverse the node's 0700
 * directory they are given an O_PATH descriptor of the socket instead of its path, reached as
 * NOTIFY_SOCKET=/proc/self/fd/N. Nobody else holds that descriptor. */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "macro.h"
#include "priority.h"
#include "socket-util.h"

#define NOTIFY_MESSAGE_MAX 4096

struct NotifyServer {
        int fd;
        int path_fd;               /* O_PATH of the socket file, for children of other users */
        char *path;
        unsigned long n_dropped;   /* datagrams from processes that are not our children */
        sd_event_source *source;
        NotifyHandler handler;
        void *ud;
};

static void close_passed_fds(struct msghdr *mh) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        int *fds = (int *) CMSG_DATA(c);
                        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < n; i++)
                                safe_close(fds[i]);
                }
}

static int on_notify(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        NotifyServer *s = userdata;

        /* A bounded batch per wake-up, so a chatty child cannot hold the loop. */
        for (int i = 0; i < 64; i++) {
                char buf[NOTIFY_MESSAGE_MAX + 1];
                union {
                        struct cmsghdr align;
                        char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
                } control;
                struct iovec iov = { buf, NOTIFY_MESSAGE_MAX };
                struct msghdr mh = {
                        .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = &control, .msg_controllen = sizeof control,
                };
                ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
                if (n < 0)
                        return 0;
                close_passed_fds(&mh);
                if (n > NOTIFY_MESSAGE_MAX || (mh.msg_flags & MSG_CTRUNC))
                        continue;
                buf[n] = '\0';

                pid_t sender = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                            c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
                                struct ucred uc;
                                memcpy(&uc, CMSG_DATA(c), sizeof uc);
                                sender = uc.pid;
                        }
                if (sender <= 0 || s->handler(s->ud, sender, buf) < 0) {
                        s->n_dropped++;
                        log_debug("Dropped a notification from pid %d, not a child of ours (%lu dropped)",
                                  (int) sender, s->n_dropped);
                }
        }
        return 0;
}

int notify_server_new(sd_event *e, const char *path, NotifyHandler handler, void *ud, NotifyServer **ret) {
        NotifyServer *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->handler = handler;
        s->ud = ud;
        s->path_fd = -EBADF;
        /* Only a stale socket of ours is replaced: PATH.notify may name someone's file. */
        s->fd = socket_bind_unix(SOCK_DGRAM, path, geteuid() == 0 ? 0622 : 0600, SOCKET_PASSCRED, &s->path);
        if (s->fd < 0) {
                int r = s->fd;
                notify_server_free(s);
                return r;
        }
        /* Opened right after bind, in the node's own directory; O_NOFOLLOW refuses a symlink. */
        s->path_fd = open(path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
        if (s->path_fd < 0) {
                int r = -errno;
                notify_server_free(s);
                return r;
        }
        int r = sd_event_add_io(e, &s->source, s->fd, EPOLLIN, on_notify, s);
        if (r < 0) {
                notify_server_free(s);
                return r;
        }
        /* Readiness gates the start of the next child: serve it before control traffic. */
        sd_event_source_set_priority(s->source, PRIORITY_SUPERVISE);
        *ret = s;
        return 0;
}

NotifyServer *notify_server_free(NotifyServer *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->source);
        safe_close(s->fd);
        safe_close(s->path_fd);
        if (s->path)
                (void) unlink(s->path);
        free(s->path);
        return mfree(s);
}

const char *notify_server_path(const NotifyServer *s) {
        return s->path;
}

int notify_server_path_fd(const NotifyServer *s) {
        return s->path_fd;
}

unsigned long notify_server_dropped(const NotifyServer *s) {
        return s->n_dropped;
}

const char *notify_field(const char *msg, const char *key, char *buf, size_t size) {
        size_t kl = strlen(key);
        for (const char *p = msg; *p;) {
                const char *eol = strchrnul(p, '\n');
                if ((size_t) (eol - p) > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
                        size_t vl = (size_t) (eol - p) - kl - 1;
                        if (vl >= size)
                                vl = size - 1;
                        memcpy(buf, p + kl + 1, vl);
                        buf[vl] = '\0';
                        return buf;
                }
                p = *eol ? eol + 1 : eol;
        }
        return NULL;
}
