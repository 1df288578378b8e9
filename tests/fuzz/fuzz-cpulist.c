/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the CPU lists of cpu_affinity (values.c's parse_cpu_list): any bytes, up to
 * the first NUL, must neither crash nor leak, and answer 0 with a mask of as many words as its
 * highest CPU needs, that CPU set and every CPU in it one the text names; or -EINVAL or -ERANGE
 * with no mask. The same bytes as ioprio and oom_score_adj must answer 0 or -EINVAL. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/values.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the text names cpu: as a number, or inside a range. */
static int names_cpu(const char *s, unsigned cpu) {
        for (const char *p = s; *p;) {
                char *end;
                if (*p < '0' || *p > '9') {
                        p++;
                        continue;
                }
                unsigned long lo = strtoul(p, &end, 10), hi = lo;
                if (*end == '-' && end[1] >= '0' && end[1] <= '9')
                        hi = strtoul(end + 1, &end, 10);
                if (cpu >= lo && cpu <= hi)
                        return 1;
                p = end;
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size);
        uint64_t *mask = NULL;
        size_t n = 0;
        int v;

        if (!s)
                return 0;
        int r = parse_cpu_list(s, &mask, &n);
        if (r == 0) {
                if (!mask || n < 1 || n > CPU_LIST_MAX / 64 || mask[n - 1] == 0)
                        abort();
                for (size_t c = 0; c < n * 64; c++)
                        if ((mask[c / 64] >> (c % 64) & 1) && !names_cpu(s, (unsigned) c))
                                abort();
        } else if ((r != -EINVAL && r != -ERANGE) || mask)
                abort();
        free(mask);

        r = parse_ioprio(s, &v);
        if (r != 0 && r != -EINVAL)
                abort();
        if (r == 0 && (v >> 13 < 1 || v >> 13 > 3 || (v & 0x1fff) > 7))
                abort();
        r = parse_oom_score_adj(s, &v);
        if (r != 0 && r != -EINVAL)
                abort();
        if (r == 0 && (v < -1000 || v > 1000))
                abort();
        free(s);
        return 0;
}
