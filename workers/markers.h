/* SPDX-License-Identifier: MIT */
/* The test markers every C worker writes and the small helpers they share, in one place.
 * Header-only: each worker is a single small program. (markers.sh is the shell workers' twin.) */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Test markers, the same in every worker. With $FV_TEST_OUT set: append our pid to
 * $FV_TEST_OUT/pids in one O_APPEND write (concurrent writers never interleave), and create
 * $FV_TEST_OUT/<name>.started holding our pid, written to a temporary and renamed so that a
 * poller never sees it empty. <name> is $FORKVISOR_NAME, else argv[0]'s basename ('/' → '_'). */
static inline void record_pid(int pid) {
        const char *d = getenv("FV_TEST_OUT");
        char path[PATH_MAX], line[24];
        int fd, n;

        if (!d || !*d)
                return;
        snprintf(path, sizeof path, "%s/pids", d);
        n = snprintf(line, sizeof line, "%d\n", pid);
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, line, n) != n)
                fprintf(stderr, "%s: cannot append to %s: %m\n", program_invocation_short_name, path);
        if (fd >= 0)
                close(fd);
}

static inline void write_marker(const char *suffix, const char *text) {
        const char *d = getenv("FV_TEST_OUT"), *name = getenv("FORKVISOR_NAME");
        char path[PATH_MAX], tmp[PATH_MAX + 32];
        ssize_t len = strlen(text);
        int fd, ok;

        if (!d || !*d)
                return;
        if (!name || !*name)
                name = program_invocation_short_name;
        snprintf(path, sizeof path, "%s/%s%s", d, name, suffix);
        for (char *p = path + strlen(d) + 1; *p; p++)
                if (*p == '/')
                        *p = '_';
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int) getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ok = fd >= 0 && write(fd, text, len) == len;
        if (fd >= 0 && close(fd) < 0)
                ok = 0;
        if (!ok || rename(tmp, path) < 0)
                fprintf(stderr, "%s: cannot write %s: %m\n", program_invocation_short_name, path);
}

static inline void mark_started(void) {
        char pid[24];

        snprintf(pid, sizeof pid, "%d\n", (int) getpid());
        write_marker(".started", pid);
}

/* Parse a decimal number in [0, MAX]; -1 if S is anything else. */
static inline long parse_num(const char *s, long max) {
        char *end;
        long v;

        if (!s || *s < '0' || *s > '9')
                return -1;
        errno = 0;
        v = strtol(s, &end, 10);
        return errno || *end || v > max ? -1 : v;
}

/* Sleep MS milliseconds, whatever signals with handlers interrupt it. */
static inline void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
                ;
}
