/* SPDX-License-Identifier: MIT */
#include "socket-util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "macro.h"

static int sockaddr_for(const char *path, struct sockaddr_un *sa) {
        *sa = (struct sockaddr_un) { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa->sun_path)
                return -ENAMETOOLONG;
        strcpy(sa->sun_path, path);
        return 0;
}

int socket_unlink_stale(const char *path, int type) {
        struct sockaddr_un sa;
        struct stat st;
        int r = sockaddr_for(path, &sa);
        if (r < 0)
                return r;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        if (st.st_uid != geteuid())
                return -EPERM;

        /* Non-blocking: a live server with a full backlog answers EAGAIN instead of holding us. */
        int probe = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (probe < 0)
                return -errno;
        r = connect(probe, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
        safe_close(probe);
        if (r == 0)
                return -EADDRINUSE;
        /* Only a refusal proves that nobody listens; on any other error the file is left. */
        if (r != -ECONNREFUSED)
                return -EADDRINUSE;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int socket_bind_path(int fd, const char *path, mode_t mode) {
        struct sockaddr_un sa;
        int r = sockaddr_for(path, &sa);
        if (r < 0)
                return r;
        /* The daemon is single-threaded: nothing else creates files while the umask is changed. */
        mode_t old = umask(~mode & 0777);
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
        umask(old);
        return r;
}

int socket_bind_unix(int type, const char *path, mode_t mode, SocketBindFlags flags, char **ret_path) {
        _cleanup_close_ int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* Before bind, or a datagram could arrive without the credentials it is judged by. */
        if (flags & SOCKET_PASSCRED) {
                int one = 1;
                if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
                        return -errno;
        }
        /* A socket file left by a node of ours that died is removed; a live one is not
         * displaced, and nothing that is not a stale socket of ours is ever deleted. */
        int r = socket_unlink_stale(path, type);
        if (r < 0)
                return r;
        r = socket_bind_path(fd, path, mode);
        if (r < 0)
                return r;
        char *copy = strdup(path);
        if (!copy) {
                (void) unlink(path);
                return -ENOMEM;
        }
        *ret_path = copy;
        return TAKE_FD(fd);
}
