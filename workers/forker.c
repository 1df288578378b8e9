/* SPDX-License-Identifier: MIT */
/* Test worker for kill_group: forks N children that stay in its process group and sleep until
 * killed, then sleeps itself, or with --exit exits 0 at once and leaves them behind in the group.
 * Their pids go to $FV_TEST_OUT/pids and $FV_TEST_OUT/<name>.grandchildren, both written before
 * <name>.started. Usage: forker N [--exit] */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CHILDREN 1000

#include "markers.h"

int main(int argc, char **argv) {
        static pid_t pids[MAX_CHILDREN];
        static char list[MAX_CHILDREN * 12 + 1];
        long n = argc > 1 ? parse_num(argv[1], MAX_CHILDREN) : -1;
        int leave = argc == 3 && strcmp(argv[2], "--exit") == 0;
        size_t len = 0;

        if (n < 0 || argc > 3 || (argc == 3 && !leave)) {
                fprintf(stderr, "usage: %s N [--exit]   (N 0..%d)\n", program_invocation_short_name,
                        MAX_CHILDREN);
                return 2;
        }
        record_pid(getpid());
        for (long i = 0; i < n; i++) {
                pids[i] = fork();
                if (pids[i] == 0)
                        for (;;)
                                pause();
                if (pids[i] < 0) {
                        fprintf(stderr, "%s: fork: %m\n", program_invocation_short_name);
                        while (i-- > 0)
                                kill(pids[i], SIGKILL);
                        return 1;
                }
                record_pid(pids[i]);
                len += snprintf(list + len, sizeof list - len, "%d\n", (int) pids[i]);
        }
        write_marker(".grandchildren", list);
        mark_started();
        if (leave)
                return 0;
        for (;;)
                pause();
}
