/* SPDX-License-Identifier: MIT */
/* Durations for people (the uptime column of `status`, `info` and `top`) and the stamp of the
 * node's log lines (log_timestamps). */
#include "time-util.h"

#include <inttypes.h>
#include <stdio.h>

void format_duration(usec_t us, char *buf, size_t size) {
        uint64_t s = us / USEC_PER_SEC;
        if (s < 60)
                snprintf(buf, size, "%" PRIu64 ".%01" PRIu64 "s", s, (us / 100000) % 10);
        else if (s < 3600)
                snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
        else if (s < 86400)
                snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, (s / 60) % 60);
        else
                snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, (s / 3600) % 24);
}

size_t format_timestamp_iso(char *buf, size_t size) {
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        if (!gmtime_r(&ts.tv_sec, &tm))
                tm = (struct tm) {};
        int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (ts.tv_nsec / 1000000));
        return n < 0 ? 0 : (size_t) n < size ? (size_t) n : size - 1;
}
