/* SPDX-License-Identifier: MIT */
/* Test worker for zombie reaping (subreaper / PID 1): makes N orphans by double-forking. Each
 * orphan waits until it has been re-parented to the nearest subreaper (or init), lives 50 ms more
 * and exits, leaving a zombie that only its new parent can reap. The orphans' pids go to
 * $FV_TEST_OUT/pids and $FV_TEST_OUT/<name>.orphans before <name>.started; the worker itself
 * then sleeps until killed. Usage: orphaner N */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ORPHANS 1000

#include "markers.h"

/* MIDDLE is the parent that exits to make us an orphan; it may be gone before we first run. */
static void orphan(int fd, pid_t middle) {
        pid_t me = getpid();

        /* A write of at most PIPE_BUF bytes is atomic, so records never interleave. */
        if (write(fd, &me, sizeof me) != sizeof me)
                _exit(1);
        close(fd);
        while (getppid() == middle)
                sleep_ms(1);
        sleep_ms(50);
        _exit(0);
}

int main(int argc, char **argv) {
        static char list[MAX_ORPHANS * 12 + 1];
        long n = argc == 2 ? parse_num(argv[1], MAX_ORPHANS) : -1;
        size_t len = 0;
        pid_t pid;
        int p[2];

        if (n < 0) {
                fprintf(stderr, "usage: %s N   (N 0..%d)\n", program_invocation_short_name, MAX_ORPHANS);
                return 2;
        }
        record_pid(getpid());
        if (pipe2(p, O_CLOEXEC) < 0) {
                fprintf(stderr, "%s: pipe: %m\n", program_invocation_short_name);
                return 1;
        }
        for (long i = 0; i < n; i++) {
                pid_t middle = fork();
                int status = 0;

                if (middle == 0) {
                        middle = getpid();
                        pid = fork();
                        if (pid == 0)
                                orphan(p[1], middle);
                        _exit(pid < 0);
                }
                if (middle < 0 || waitpid(middle, &status, 0) < 0 || status != 0) {
                        fprintf(stderr, "%s: cannot fork an orphan\n", program_invocation_short_name);
                        return 1;
                }
        }
        /* Every writer has its end closed once its record is in: EOF means we have them all. */
        close(p[1]);
        while (read(p[0], &pid, sizeof pid) == sizeof pid) {
                record_pid(pid);
                len += snprintf(list + len, sizeof list - len, "%d\n", (int) pid);
        }
        close(p[0]);
        write_marker(".orphans", list);
        mark_started();
        for (;;)
                pause();
}
