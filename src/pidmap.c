/* SPDX-License-Identifier: MIT */
/* The reaper looks up every exit here, so lookups are O(1) whatever the number of children. */
#include "pidmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static size_t slot_of(pid_t pid, size_t cap) {
        return ((uint32_t) pid * 2654435761u) & (cap - 1);
}

static int grow(PidMap *m) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        PidMapEntry *s = calloc(cap, sizeof *s);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++) {
                if (m->slots[i].pid == 0)
                        continue;
                size_t j = slot_of(m->slots[i].pid, cap);
                while (s[j].pid != 0)
                        j = (j + 1) & (cap - 1);
                s[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = s;
        m->cap = cap;
        return 0;
}

int pidmap_put(PidMap *m, pid_t pid, void *value) {
        if (pid <= 0)
                return -EINVAL;
        if ((m->n + 1) * 4 > m->cap * 3) {
                int r = grow(m);
                if (r < 0)
                        return r;
        }
        size_t i = slot_of(pid, m->cap);
        while (m->slots[i].pid != 0 && m->slots[i].pid != pid)
                i = (i + 1) & (m->cap - 1);
        if (m->slots[i].pid == 0)
                m->n++;
        m->slots[i] = (PidMapEntry) { pid, value };
        return 0;
}

static PidMapEntry *find(const PidMap *m, pid_t pid) {
        if (m->cap == 0 || pid <= 0)
                return NULL;
        size_t i = slot_of(pid, m->cap);
        while (m->slots[i].pid != 0) {
                if (m->slots[i].pid == pid)
                        return &m->slots[i];
                i = (i + 1) & (m->cap - 1);
        }
        return NULL;
}

void *pidmap_get(const PidMap *m, pid_t pid) {
        PidMapEntry *e = find(m, pid);
        return e ? e->value : NULL;
}

void *pidmap_remove(PidMap *m, pid_t pid) {
        PidMapEntry *e = find(m, pid);
        if (!e)
                return NULL;
        void *value = e->value;
        size_t i = (size_t) (e - m->slots), mask = m->cap - 1;
        /* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
        for (size_t j = (i + 1) & mask; m->slots[j].pid != 0; j = (j + 1) & mask) {
                size_t home = slot_of(m->slots[j].pid, m->cap);
                /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
                if (((j - home) & mask) >= ((j - i) & mask)) {
                        m->slots[i] = m->slots[j];
                        i = j;
                }
        }
        m->slots[i] = (PidMapEntry) {};
        m->n--;
        return value;
}

void pidmap_done(PidMap *m) {
        free(m->slots);
        *m = (PidMap) {};
}
