/* SPDX-License-Identifier: MIT */
/* Durations for people: the uptime column of `status`, `info` and `top`. */
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
