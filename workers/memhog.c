/* SPDX-License-Identifier: MIT */
/* Test worker for memory_max and pids_max: records its pid, then touches MB mebibytes one page
 * at a time (the OOM killer ends it when that is above its cgroup's memory limit), then tries to
 * fork N children that sleep, writes how many forks succeeded to $FV_TEST_OUT/<name>.forked,
 * and sleeps until killed. Usage: memhog MB [N] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "markers.h"

int main(int argc, char **argv) {
        long mb = argc > 1 ? atol(argv[1]) : 0, n = argc > 2 ? atol(argv[2]) : 0, forked = 0;
        char text[32];

        record_pid(getpid());
        if (mb > 0) {
                size_t len = (size_t) mb << 20;
                char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED)
                        return 1;
                for (size_t i = 0; i < len; i += 4096)
                        p[i] = 1;
        }
        for (long i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid == 0) {
                        record_pid(getpid());
                        pause();
                        _exit(0);
                }
                if (pid > 0)
                        forked++;
        }
        snprintf(text, sizeof text, "%ld\n", forked);
        write_marker(".forked", text);
        write_marker(".started", "ok\n");
        for (;;)
                pause();
}
