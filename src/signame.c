/* SPDX-License-Identifier: MIT */
#include "signame.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Only 0-9, at most max. */
static bool parse_number(const char *s, uint64_t max, uint64_t *ret) {
        char *end;
        if (!*s || strspn(s, "0123456789") != strlen(s))
                return false;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || v > max)
                return false;
        *ret = v;
        return true;
}

const char *signal_name(int sig) {
        return sig > 0 && sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;
}

int parse_signal(const char *v) {
        const char *n = v;
        uint64_t x;

        if (parse_number(v, (uint64_t) SIGRTMAX, &x))
                return x >= 1 ? (int) x : -EINVAL;
        if (strncasecmp(n, "SIG", 3) == 0)
                n += 3;
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *a = signal_name(sig);
                if (a && strcasecmp(a, n) == 0)
                        return sig;
        }
        if (strncasecmp(n, "RTMIN", 5) == 0 || strncasecmp(n, "RTMAX", 5) == 0) {
                bool min = strncasecmp(n, "RTMIN", 5) == 0;
                int off = 0;

                if (n[5]) {
                        if (n[5] != (min ? '+' : '-') || !parse_number(n + 6, (uint64_t) (SIGRTMAX - SIGRTMIN), &x))
                                return -EINVAL;
                        off = (int) x;
                }
                return min ? SIGRTMIN + off : SIGRTMAX - off;
        }
        return -EINVAL;
}
