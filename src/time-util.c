/* SPDX-License-Identifier: MIT */
/* Durations for people (the uptime column of `status`, `info` and `top`) and the stamp of the
 * node's log lines (log_timestamps). */
#include "time-util.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

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

/* The date and time to the second, "2026-12-07T03:04:05": made again only when the second
 * changes, since a burst of log lines and events (a thousand exits) falls within one. The node
 * has one thread. */
static const char *second_iso(time_t sec) {
        static time_t cached = (time_t) -1;
        static char text[64]; /* 19 characters, room for any int the compiler imagines */
        struct tm tm;

        if (sec != cached) {
                if (!gmtime_r(&sec, &tm))
                        tm = (struct tm) {};
                snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
                cached = sec;
        }
        return text;
}

size_t format_time_iso(uint64_t realtime_usec, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s.%03uZ", second_iso((time_t) (realtime_usec / USEC_PER_SEC)),
                         (unsigned) (realtime_usec % USEC_PER_SEC / USEC_PER_MSEC));
        return n < 0 ? 0 : (size_t) n < size ? (size_t) n : size - 1;
}

uint64_t now_realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

size_t format_timestamp_iso(char *buf, size_t size) {
        return format_time_iso(now_realtime_usec(), buf, size);
}
