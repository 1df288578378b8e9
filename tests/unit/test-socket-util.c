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
        struct stat st;
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 0600); /* the mode from bind, no chmod */
        ASSERT_ERR(socket_unlink_stale(p, SOCK_SEQPACKET), -EADDRINUSE);
        close(fd); /* the file stays, nobody listens: stale */
        ASSERT_OK(stat(p, &st));
        ASSERT_OK(socket_unlink_stale(p, SOCK_SEQPACKET));
        ASSERT_ERR(stat(p, &st) < 0 ? -errno : 0, -ENOENT);
}

TEST(live_datagram_socket_is_kept) {
        const char *p = at("dgram");
        int fd = bound(p, SOCK_DGRAM, 0622);
        ASSERT_TRUE(fd >= 0);
        struct stat st;
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_mode & 07777, 0622);
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

static void __attribute__((constructor)) make_dir(void) {
        if (!mkdtemp(dir))
                abort();
}

static void __attribute__((destructor)) remove_dir(void) {
        rmdir(dir);
}
