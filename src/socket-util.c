/* SPDX-License-Identifier: MIT */
#include "socket-util.h"

#include <errno.h>
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
