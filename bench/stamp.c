/* SPDX-License-Identifier: MIT */
/* A 9 KB static timestamp worker without libc (bench/nolibc.h), with the protocol of
 * workers/hello.c: its very first action takes CLOCK_MONOTONIC and writes it in ns, decimal, with
 * a newline, to the descriptor $FV_BENCH_FD, else appends it to $FV_BENCH_FILE; then it waits
 * for a signal (SIGTERM kills it). The static glibc hello spends some 0.5 ms in glibc's start-up
 * on this VM before its first line of main; this one measures from the kernel's exec onwards,
 * like the "9 KB static test program". */
#include <fcntl.h>
#include <time.h>

#include "nolibc.h"

__attribute__((used)) void start_c(long *sp) {
        struct timespec ts;
        char buf[32], *end = buf + sizeof buf, *p = end;
        const char *fd_s, *file;

        sc(SYS_clock_gettime, CLOCK_MONOTONIC, (long) &ts, 0, 0);
        unsigned long long v = (unsigned long long) ts.tv_sec * 1000000000ULL + (unsigned long long) ts.tv_nsec;
        *--p = '\n';
        do
                *--p = (char) ('0' + v % 10);
        while (v /= 10);

        if ((fd_s = nl_getenv(sp, "FV_BENCH_FD")) && *fd_s) {
                long fd = 0;
                for (; *fd_s >= '0' && *fd_s <= '9'; fd_s++)
                        fd = fd * 10 + (*fd_s - '0');
                sc(SYS_write, fd, (long) p, end - p, 0);
        } else if ((file = nl_getenv(sp, "FV_BENCH_FILE")) && *file) {
                long fd = sc(SYS_openat, NL_AT_FDCWD, (long) file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        sc(SYS_write, fd, (long) p, end - p, 0);
                        sc(SYS_close, fd, 0, 0, 0);
                }
        }
        for (;;)
                sc(SYS_ppoll, 0, 0, 0, 0); /* sleeps until a signal ends us */
}
