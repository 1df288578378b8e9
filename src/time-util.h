/* SPDX-License-Identifier: MIT */
/* Monotonic time in microseconds, the unit sd-event uses, durations for people, and the wall-clock
 * stamp of the node's log lines. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_PER_MSEC ((usec_t) 1000)
#define USEC_PER_SEC ((usec_t) 1000000)
#define USEC_INFINITY UINT64_MAX

static inline usec_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

/* Milliseconds to usec, saturating, so "infinity" stays infinite. */
static inline usec_t msec_to_usec(uint64_t ms) {
        return ms >= UINT64_MAX / 1000 ? USEC_INFINITY : ms * USEC_PER_MSEC;
}

/* CLOCK_REALTIME ms from now, as pthread_cond_timedwait() and pthread_timedjoin_np() take a
 * deadline. */
static inline struct timespec deadline_after_ms(int ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (long) (ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        return ts;
}

/* "12.3s", "4m05s", "2h03m", "1d02h". */
void format_duration(usec_t us, char *buf, size_t size);

/* The wall clock as ISO 8601 in UTC with milliseconds, "2026-12-07T03:04:05.678Z" (24
 * characters and the NUL: size at least TIMESTAMP_ISO_MAX). Returns the length. */
#define TIMESTAMP_ISO_MAX 32
size_t format_timestamp_iso(char *buf, size_t size);
/* The same for a CLOCK_REALTIME time in microseconds (an event's "time"). */
size_t format_time_iso(uint64_t realtime_usec, char *buf, size_t size);
/* CLOCK_REALTIME in microseconds. */
uint64_t now_realtime_usec(void);
