/* SPDX-License-Identifier: MIT */
/* Test worker for socket activation: takes its sockets with libsystemd's sd_listen_fds_with_names(3),
 * unmodified, as any program written for systemd's socket units does, and answers every
 * connection (or datagram) with one line "NAME PID\n", NAME the socket's LISTEN_FDNAMES name.
 * Writes the markers (markers.h), then $FV_TEST_OUT/<name>.fds holding "N NAMES..." once it has
 * its sockets. Exits 1 when it was given none. Usage: listen-echo */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "markers.h"

int main(void) {
        char **names = NULL, line[512], fds_text[1024];
        struct pollfd pfd[64];
        int n, len;

        record_pid(getpid());
        n = sd_listen_fds_with_names(1, &names);
        if (n <= 0 || n > 64) {
                fprintf(stderr, "listen-echo: no sockets (sd_listen_fds_with_names: %d)\n", n);
                return 1;
        }
        len = snprintf(fds_text, sizeof fds_text, "%d", n);
        for (int i = 0; i < n; i++) {
                pfd[i] = (struct pollfd) { .fd = SD_LISTEN_FDS_START + i, .events = POLLIN };
                len += snprintf(fds_text + len, sizeof fds_text - (size_t) len, " %s", names[i]);
        }
        snprintf(fds_text + len, sizeof fds_text - (size_t) len, "\n");
        write_marker(".fds", fds_text);
        mark_started();
        for (;;) {
                if (poll(pfd, (nfds_t) n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                for (int i = 0; i < n; i++) {
                        if (!(pfd[i].revents & POLLIN))
                                continue;
                        int l = snprintf(line, sizeof line, "%s %d\n", names[i], (int) getpid());
                        if (sd_is_socket(pfd[i].fd, AF_UNSPEC, SOCK_DGRAM, -1) > 0) {
                                struct sockaddr_storage from;
                                socklen_t fl = sizeof from;
                                char buf[512];
                                if (recvfrom(pfd[i].fd, buf, sizeof buf, 0, (struct sockaddr *) &from, &fl) >= 0)
                                        (void) sendto(pfd[i].fd, line, (size_t) l, 0, (struct sockaddr *) &from, fl);
                                continue;
                        }
                        int c = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
                        if (c < 0)
                                continue;
                        (void) !write(c, line, (size_t) l);
                        close(c);
                }
        }
}
