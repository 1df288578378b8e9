/* SPDX-License-Identifier: MIT */
/* The children's NOTIFY_SOCKET: one datagram socket for all of them. Messages are read without
 * blocking, limited in size, and any file descriptors passed along are closed at once. */
#include "notify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "macro.h"

#define NOTIFY_MESSAGE_MAX 4096

struct NotifyServer {
        int fd;
        char *path;
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
                if (sender > 0)
                        s->handler(s->ud, sender, buf);
        }
        return 0;
}

int notify_server_new(sd_event *e, const char *path, NotifyHandler handler, void *ud, NotifyServer **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        NotifyServer *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->handler = handler;
        s->ud = ud;
        s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->fd < 0) {
                int r = -errno;
                notify_server_free(s);
                return r;
        }
        (void) unlink(path);
        int one = 1, r;
        /* Children running as other users must be able to send; a sender is only believed
         * for the pid (or process group) of a child of ours. */
        if (bind(s->fd, (struct sockaddr *) &sa, sizeof sa) < 0 || chmod(path, 0666) < 0 ||
            setsockopt(s->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) {
                r = -errno;
                notify_server_free(s);
                return r;
        }
        s->path = strdup(path);
        if (!s->path) {
                notify_server_free(s);
                return -ENOMEM;
        }
        r = sd_event_add_io(e, &s->source, s->fd, EPOLLIN, on_notify, s);
        if (r < 0) {
                notify_server_free(s);
                return r;
        }
        /* Readiness gates the start of the next child: serve it before control traffic. */
        sd_event_source_set_priority(s->source, SD_EVENT_PRIORITY_IMPORTANT);
        *ret = s;
        return 0;
}

NotifyServer *notify_server_free(NotifyServer *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->source);
        safe_close(s->fd);
        if (s->path)
                (void) unlink(s->path);
        free(s->path);
        return mfree(s);
}

const char *notify_server_path(const NotifyServer *s) {
        return s->path;
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
