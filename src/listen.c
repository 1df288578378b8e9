/* SPDX-License-Identifier: MIT */
/* The sockets of `listen`, as systemd's socket units open them. The node never accepts on them:
 * they are blocking, as a program written for sd_listen_fds(3) expects by default; the node only
 * polls one that waits for its worker (listen_accept = lazy). */
#include "listen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "listen-addr.h"
#include "macro.h"
#include "strv.h"


/* Someone answers on the unix socket at a's path, of whichever type it is (a connection that
 * is refused is a socket nobody listens on any more). */
static bool unix_socket_is_live(const ListenAddr *a) {
        static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                _cleanup_close_ int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0)
                        continue;
                if (connect(fd, &a->u.sa, a->len) == 0 || errno == EAGAIN || errno == EINPROGRESS)
                        return true;
                if (errno != EPROTOTYPE)
                        return false;
        }
        return false;
}

static int open_one(const char *text, int mode, char *error, size_t size) {
        ListenAddr a;
        int one = 1;

        if (listen_addr_parse(text, &a) < 0) {
                snprintf(error, size, "bad listen address '%s'", text);
                return -EINVAL;
        }
        int type = a.kind == LISTEN_KIND_UDP ? SOCK_DGRAM : SOCK_STREAM;
        _cleanup_close_ int fd = socket(a.u.sa.sa_family, type | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                snprintf(error, size, "cannot make the socket of %s: %s", text, strerror(errno));
                return -errno;
        }
        if (a.kind != LISTEN_KIND_UNIX && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
                snprintf(error, size, "cannot set SO_REUSEADDR on %s: %s", text, strerror(errno));
                return -errno;
        }
        if (a.kind == LISTEN_KIND_UNIX && a.u.un.sun_path[0]) {
                /* A socket file left by an earlier run would fail the bind: only a socket is
                 * removed, never a file of another kind that happens to have the name, and only a
                 * stale one: a live socket (the node's own control socket, another program's)
                 * is in use, as a taken port is. */
                struct stat st;
                if (lstat(a.u.un.sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
                        if (unix_socket_is_live(&a)) {
                                snprintf(error, size, "cannot listen on %s: %s (a live socket is there)", text,
                                         strerror(EADDRINUSE));
                                return -EADDRINUSE;
                        }
                        (void) unlink(a.u.un.sun_path);
                }
        }
        if (bind(fd, &a.u.sa, a.len) < 0) {
                int e = errno;
                snprintf(error, size, "cannot listen on %s: %s", text, strerror(e));
                return -e;
        }
        if (a.kind == LISTEN_KIND_UNIX && a.u.un.sun_path[0] && chmod(a.u.un.sun_path, (mode_t) mode) < 0) {
                snprintf(error, size, "cannot set the mode of %s: %s", text, strerror(errno));
                return -errno;
        }
        if (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0) {
                snprintf(error, size, "cannot listen on %s: %s", text, strerror(errno));
                return -errno;
        }
        return TAKE_FD(fd);
}

int listen_set_open(ListenSet *set, char *const *addrs, int mode, char *error, size_t size) {
        size_t n = strv_length(addrs);

        listen_set_close(set);
        if (n == 0)
                return 0;
        set->fds = calloc(n, sizeof *set->fds);
        if (!set->fds) {
                snprintf(error, size, "cannot open its sockets: %s", strerror(ENOMEM));
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                int fd = open_one(addrs[i], mode, error, size);
                if (fd < 0) {
                        listen_set_close(set);
                        return fd;
                }
                set->fds[set->n++] = fd;
        }
        return 0;
}

void listen_set_close(ListenSet *set) {
        for (size_t i = 0; i < set->n; i++)
                safe_close(set->fds[i]);
        set->fds = mfree(set->fds);
        set->n = 0;
}

/* systemd's name for a socket that has none. */
static const char *name_at(char *const *names, size_t k, size_t i) {
        return k == 0 ? "unknown" : k == 1 ? names[0] : i < k ? names[i] : "unknown";
}

char *listen_fdnames(char *const *names, size_t n) {
        size_t k = strv_length(names), len = 1;
        for (size_t i = 0; i < n; i++)
                len += strlen(name_at(names, k, i)) + 1;
        char *s = malloc(len), *p = s;
        if (!s)
                return NULL;
        *p = '\0';
        for (size_t i = 0; i < n; i++)
                p = stpcpy(stpcpy(p, i ? ":" : ""), name_at(names, k, i));
        return s;
}
