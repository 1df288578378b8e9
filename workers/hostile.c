/* SPDX-License-Identifier: MIT */
/* Test worker that breaks the mailbox protocol on purpose, to show the node survives it and
 * only this worker pays (restarted by its own policy). Usage: hostile MODE, MODE one of
 *   garbage    a record of random-looking bytes
 *   truncated  a frame header cut short
 *   lies       a header whose payload_len runs past the end of the record
 *   oversize   a record larger than the largest frame
 *   fds        a cast that carries file descriptors it was not asked for
 *   kind       a frame of a kind only the node may send (DOWN)
 *   mixed      a good cast to "echo", then a DOWN, in one record: refused whole, the cast too
 *   flood      casts to itself as fast as it can, forever: once its casts have hit its own
 *              full mailbox 100 times its mailbox_limit in a row, the node treats it as broken
 * After the misdeed it sleeps, so only the node's reaction ends it. */
#include <stdint.h>
#include <sys/socket.h>

#include "markers.h"

static size_t frame(unsigned char *b, uint8_t kind, const char *target, const char *payload) {
        size_t tl = strlen(target), pl = strlen(payload);
        memset(b, 0, 32);
        b[0] = 'F';
        b[1] = 'V';
        b[2] = 1;
        b[3] = kind;
        b[6] = (unsigned char) tl;
        b[8] = (unsigned char) pl;
        b[9] = (unsigned char) (pl >> 8);
        memcpy(b + 32, target, tl);
        memcpy(b + 32 + tl, payload, pl);
        return 32 + tl + pl;
}

int main(int argc, char **argv) {
        static unsigned char buf[200000];
        const char *mode = argc == 2 ? argv[1] : "";
        size_t n = 0;

        record_pid(getpid());
        mark_started();
        if (strcmp(mode, "garbage") == 0) {
                for (n = 0; n < 100; n++)
                        buf[n] = (unsigned char) (n * 37 + 11);
        } else if (strcmp(mode, "truncated") == 0) {
                n = frame(buf, 1, "x", "hello") - 20 - 6;
        } else if (strcmp(mode, "lies") == 0) {
                n = frame(buf, 1, "x", "hello");
                buf[10] = 1; /* payload_len + 65536 */
        } else if (strcmp(mode, "oversize") == 0) {
                n = sizeof buf;
        } else if (strcmp(mode, "fds") == 0) {
                n = frame(buf, 1, "x", "hello");
                int fds[2] = { 0, 1 };
                char control[CMSG_SPACE(sizeof fds)];
                struct iovec iov = { buf, n };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                                     .msg_controllen = sizeof control };
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof fds);
                memcpy(CMSG_DATA(c), fds, sizeof fds);
                if (sendmsg(3, &mh, 0) < 0)
                        return 1;
                n = 0;
        } else if (strcmp(mode, "kind") == 0) {
                n = frame(buf, 6, "x", "down");
        } else if (strcmp(mode, "mixed") == 0) {
                n = frame(buf, 1, "echo", "before the violation");
                n += frame(buf + n, 6, "x", "down");
        } else if (strcmp(mode, "flood") == 0) {
                const char *self = getenv("FORKVISOR_NAME");
                size_t one = frame(buf, 1, self ? self : "x", "flood flood flood flood flood flood flood flood");
                for (n = one; n + one <= 32 * one; n += one)
                        memcpy(buf + n, buf, one);
                for (;;)
                        if (send(3, buf, n, MSG_NOSIGNAL) < 0 && errno != EAGAIN && errno != EINTR)
                                return 1;
        } else {
                fprintf(stderr, "usage: hostile garbage|truncated|lies|oversize|fds|kind|mixed|flood\n");
                return 2;
        }
        if (n > 0 && send(3, buf, n, MSG_NOSIGNAL) < 0)
                return 1;
        for (;;)
                pause();
}
