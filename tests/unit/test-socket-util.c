/* SPDX-License-Identifier: MIT */
/* socket-util: what sits on a socket path is replaced only when it is a dead socket of ours. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "socket-util.h"
#include "tests.h"

static char dir[] = "/tmp/fv-socket-util-XXXXXX";

static const char *at(const char *name) {
        static char buf[128];
        snprintf(buf, sizeof buf, "%s/%s", dir, name);
        return buf;
}

/* The mode of the socket file at p; -ENOTSOCK when it is something else, -errno when lstat fails. */
static int socket_mode(const char *p) {
        struct stat st;
        if (lstat(p, &st) < 0)
                return -errno;
        return S_ISSOCK(st.st_mode) ? (int) (st.st_mode & 07777) : -ENOTSOCK;
}

static int bound(const char *path, int type, mode_t mode) {
        int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fd < 0 || socket_bind_path(fd, path, mode) < 0 || (type == SOCK_SEQPACKET && listen(fd, 1) < 0)) {
                safe_close(fd);
                return -1;
        }
        return fd;
}

TEST(nothing_there) {
        ASSERT_OK(socket_unlink_stale(at("none"), SOCK_SEQPACKET));
}

TEST(regular_file_is_kept) {
        const char *p = at("file");
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, "x", 1), 1);
        close(fd);
        ASSERT_ERR(socket_unlink_stale(p, SOCK_SEQPACKET), -EEXIST);
        ASSERT_ERR(socket_unlink_stale(p, SOCK_DGRAM), -EEXIST);
        struct stat st;
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_size, 1);
        unlink(p);
}

TEST(symlink_is_kept) {
        const char *p = at("link");
        ASSERT_OK(symlink("/etc/passwd", p));
        ASSERT_ERR(socket_unlink_stale(p, SOCK_DGRAM), -EEXIST);
        struct stat st;
        ASSERT_OK(lstat(p, &st));
        ASSERT_TRUE(S_ISLNK(st.st_mode));
        unlink(p);
}

TEST(live_socket_is_kept_stale_one_removed) {
        const char *p = at("sock");
        int fd = bound(p, SOCK_SEQPACKET, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(socket_mode(p), 0600); /* the mode from bind, no chmod */
        ASSERT_ERR(socket_unlink_stale(p, SOCK_SEQPACKET), -EADDRINUSE);
        close(fd); /* the file stays, nobody listens: stale */
        ASSERT_EQ(socket_mode(p), 0600);
        ASSERT_OK(socket_unlink_stale(p, SOCK_SEQPACKET));
        ASSERT_ERR(socket_mode(p), -ENOENT);
}

TEST(live_datagram_socket_is_kept) {
        const char *p = at("dgram");
        int fd = bound(p, SOCK_DGRAM, 0622);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(socket_mode(p), 0622);
        ASSERT_ERR(socket_unlink_stale(p, SOCK_DGRAM), -EADDRINUSE);
        close(fd);
        ASSERT_OK(socket_unlink_stale(p, SOCK_DGRAM));
}

TEST(another_users_socket_is_kept) {
        if (geteuid() != 0)
                return; /* needs root to make a socket of another user */
        const char *p = at("theirs");
        int fd = bound(p, SOCK_SEQPACKET, 0600);
        ASSERT_TRUE(fd >= 0);
        close(fd);
        ASSERT_OK(lchown(p, 65534, 65534));
        ASSERT_ERR(socket_unlink_stale(p, SOCK_SEQPACKET), -EPERM);
        unlink(p);
}

TEST(bind_unix_makes_a_server_socket) {
        const char *p = at("server");
        char *path = NULL;
        int fd = socket_bind_unix(SOCK_SEQPACKET, p, 0600, 0, &path);
        ASSERT_OK(fd);
        ASSERT_STREQ(path, p);
        ASSERT_TRUE(path != p); /* a copy, the caller's to free */
        ASSERT_EQ(socket_mode(p), 0600);
        ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        ASSERT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
        int type = 0, passcred = -1;
        socklen_t l = sizeof type;
        ASSERT_OK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l));
        ASSERT_EQ(type, SOCK_SEQPACKET);
        l = sizeof passcred;
        ASSERT_OK(getsockopt(fd, SOL_SOCKET, SO_PASSCRED, &passcred, &l));
        ASSERT_EQ(passcred, 0);
        ASSERT_OK(listen(fd, 1));
        /* A second server on the same path: the live one is not displaced. */
        char *second = NULL;
        ASSERT_ERR(socket_bind_unix(SOCK_SEQPACKET, p, 0600, 0, &second), -EADDRINUSE);
        ASSERT_TRUE(second == NULL);
        ASSERT_EQ(socket_mode(p), 0600);
        /* Once it is dead, its file is stale and the next one takes its place. */
        close(fd);
        fd = socket_bind_unix(SOCK_SEQPACKET, p, 0600, 0, &second);
        ASSERT_OK(fd);
        ASSERT_STREQ(second, p);
        close(fd);
        unlink(p);
        free(path);
        free(second);
}

TEST(bind_unix_passcred_before_datagrams) {
        const char *p = at("notify");
        char *path = NULL;
        int fd = socket_bind_unix(SOCK_DGRAM, p, 0622, SOCKET_PASSCRED, &path);
        ASSERT_OK(fd);
        ASSERT_EQ(socket_mode(p), 0622);
        int passcred = 0;
        socklen_t l = sizeof passcred;
        ASSERT_OK(getsockopt(fd, SOL_SOCKET, SO_PASSCRED, &passcred, &l));
        ASSERT_EQ(passcred, 1);
        close(fd);
        unlink(p);
        free(path);
}

TEST(bind_unix_refuses_what_is_not_a_stale_socket) {
        const char *p = at("taken");
        int f = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(f >= 0);
        close(f);
        char *path = NULL;
        ASSERT_ERR(socket_bind_unix(SOCK_DGRAM, p, 0600, 0, &path), -EEXIST);
        ASSERT_TRUE(path == NULL);
        ASSERT_ERR(socket_mode(p), -ENOTSOCK); /* the file is still there */
        unlink(p);

        /* A path too long for sockaddr_un: refused, nothing made. */
        char long_path[200];
        memset(long_path, 'x', sizeof long_path - 1);
        long_path[sizeof long_path - 1] = '\0';
        memcpy(long_path, dir, strlen(dir));
        long_path[strlen(dir)] = '/';
        ASSERT_ERR(socket_bind_unix(SOCK_DGRAM, long_path, 0600, 0, &path), -ENAMETOOLONG);
        ASSERT_TRUE(path == NULL);
        ASSERT_ERR(socket_mode(long_path), -ENOENT);
}

static void __attribute__((constructor)) make_dir(void) {
        if (!mkdtemp(dir))
                abort();
}

static void __attribute__((destructor)) remove_dir(void) {
        rmdir(dir);
}
