/* SPDX-License-Identifier: MIT */
/* The reaper looks up every exit here and the router every reply, so lookups are O(1). */
#include "idmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static size_t slot_of(uint64_t id, size_t cap) {
        return (size_t) ((id * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static int grow(IdMap *m) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        IdMapEntry *s = calloc(cap, sizeof *s);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++) {
                if (m->slots[i].id == 0)
                        continue;
                size_t j = slot_of(m->slots[i].id, cap);
                while (s[j].id != 0)
                        j = (j + 1) & (cap - 1);
                s[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = s;
        m->cap = cap;
        return 0;
}

int idmap_put(IdMap *m, uint64_t id, void *value) {
        if (id == 0)
                return -EINVAL;
        if ((m->n + 1) * 4 > m->cap * 3) {
                int r = grow(m);
                if (r < 0)
                        return r;
        }
        size_t i = slot_of(id, m->cap);
        while (m->slots[i].id != 0 && m->slots[i].id != id)
                i = (i + 1) & (m->cap - 1);
        if (m->slots[i].id == 0)
                m->n++;
        m->slots[i] = (IdMapEntry) { id, value };
        return 0;
}

static IdMapEntry *find(const IdMap *m, uint64_t id) {
        if (m->cap == 0 || id == 0)
                return NULL;
        size_t i = slot_of(id, m->cap);
        while (m->slots[i].id != 0) {
                if (m->slots[i].id == id)
                        return &m->slots[i];
                i = (i + 1) & (m->cap - 1);
        }
        return NULL;
}

void *idmap_get(const IdMap *m, uint64_t id) {
        IdMapEntry *e = find(m, id);
        return e ? e->value : NULL;
}

void *idmap_remove(IdMap *m, uint64_t id) {
        IdMapEntry *e = find(m, id);
        if (!e)
                return NULL;
        void *value = e->value;
        size_t i = (size_t) (e - m->slots), mask = m->cap - 1;
        /* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
        for (size_t j = (i + 1) & mask; m->slots[j].id != 0; j = (j + 1) & mask) {
                size_t home = slot_of(m->slots[j].id, m->cap);
                /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
                if (((j - home) & mask) >= ((j - i) & mask)) {
                        m->slots[i] = m->slots[j];
                        i = j;
                }
        }
        m->slots[i] = (IdMapEntry) {};
        m->n--;
        return value;
}

void idmap_done(IdMap *m) {
        free(m->slots);
        *m = (IdMap) {};
}
