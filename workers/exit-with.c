/* SPDX-License-Identifier: MIT */
/* Test worker for exit-status handling (transient, normal_exit, auto_shutdown): exits with CODE
 * after MS milliseconds (default 0). Usage: exit-with CODE [MS] */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "markers.h"


/* Parse a decimal number in [0, MAX]; -1 if S is anything else. */
static long parse_num(const char *s, long max) {
        char *end;
        long v;

        if (!s || *s < '0' || *s > '9')
                return -1;
        errno = 0;
        v = strtol(s, &end, 10);
        return errno || *end || v > max ? -1 : v;
}

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
                ;
}

int main(int argc, char **argv) {
        long code = argc > 1 ? parse_num(argv[1], 255) : -1;
        long ms = argc > 2 ? parse_num(argv[2], LONG_MAX / 1000) : 0;

        if (code < 0 || ms < 0 || argc > 3) {
                fprintf(stderr, "usage: %s CODE [MS]   (CODE 0..255, MS milliseconds)\n",
                        program_invocation_short_name);
                return 2;
        }
        record_pid(getpid());
        mark_started();
        sleep_ms(ms);
        return code;
}
