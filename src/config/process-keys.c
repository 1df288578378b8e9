/* SPDX-License-Identifier: MIT */
/* The keys that tune how the kernel treats a worker's process, as systemd's OOMScoreAdjust=,
 * IOSchedulingClass=/IOSchedulingPriority= and CPUAffinity= do: oom_score_adj, ioprio and
 * cpu_affinity. Whether the node may lower oom_score_adj or take the realtime I/O class is known
 * only where and as whom it runs, so those are a failed start, not a diagnostic; a CPU this
 * machine does not have is a diagnostic where the machine says which it has. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parser.h"
#include "values.h"

#define CPU_PRESENT_FILE "/sys/devices/system/cpu/present"

int keys_parse_oom_score_adj(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        if (parse_oom_score_adj(v, &s->oom_score_adj) < 0)
                return fs_error(fs, "bad value '%s' for %s: expected an integer from -1000 to 1000", v, k->name);
        s->oom_score_adj_set = true;
        return 0;
}

int keys_parse_ioprio(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        if (parse_ioprio(v, &s->ioprio) < 0)
                return fs_error(fs, "bad value '%s' for %s: expected realtime[:LEVEL], best-effort[:LEVEL] or idle, "
                                "LEVEL from 0 (first served) to 7", v, k->name);
        return 0;
}

/* The CPUs this machine has, as the kernel lists them ("0-3\n"), into text; false when it does
 * not say (no /sys: then only the start can tell). */
static bool cpus_present(char *text, size_t size) {
        int fd = open(CPU_PRESENT_FILE, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        ssize_t n = read(fd, text, size - 1);
        close(fd);
        if (n <= 0)
                return false;
        text[n] = '\0';
        text[strcspn(text, "\n")] = '\0';
        return true;
}

int keys_parse_cpu_affinity(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        _cleanup_free_ uint64_t *mask = NULL, *present = NULL;
        size_t n = 0, n_present = 0;
        char text[256];
        int r;

        r = parse_cpu_list(v, &mask, &n);
        if (r == -ENOMEM)
                return parser_oom(fs->p);
        if (r == -ERANGE)
                return fs_error(fs, "bad value '%s' for %s: a CPU number is %u or more", v, k->name, CPU_LIST_MAX);
        if (r < 0)
                return fs_error(fs, "bad value '%s' for %s: expected CPU numbers and ranges, as 0-3,6", v, k->name);

        /* The fuzzer reads no files. */
        if (!(fs->p->flags & CONFIG_LOAD_NO_INCLUDE) && cpus_present(text, sizeof text)) {
                r = parse_cpu_list(text, &present, &n_present);
                if (r == -ENOMEM)
                        return parser_oom(fs->p);
                for (size_t c = 0; r >= 0 && c < n * 64; c++) {
                        bool want = mask[c / 64] >> (c % 64) & 1;
                        bool have = c / 64 < n_present && (present[c / 64] >> (c % 64) & 1);
                        if (want && !have)
                                return fs_error(fs, "bad value '%s' for %s: this machine has no CPU %zu (it has %s)",
                                                v, k->name, c, text);
                }
        }
        free(s->cpu_affinity);
        s->cpu_affinity = TAKE_PTR(mask);
        s->n_cpu_affinity = n;
        return 0;
}
