/* SPDX-License-Identifier: MIT */
/* Integer id → pointer index (open addressing, linear probing, backward-shift deletion): pids
 * to children, call references to pending calls. An index, not an owner: it never frees what it
 * points to. Id 0 is reserved (an empty slot). */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct IdMapEntry {
        uint64_t id; /* 0 = empty */
        void *value;
} IdMapEntry;

typedef struct IdMap {
        IdMapEntry *slots;
        size_t cap;  /* power of two */
        size_t n;
} IdMap;

int idmap_put(IdMap *m, uint64_t id, void *value);
void *idmap_get(const IdMap *m, uint64_t id);
void *idmap_remove(IdMap *m, uint64_t id);
void idmap_done(IdMap *m);
