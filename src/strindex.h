/* SPDX-License-Identifier: MIT */
/* String → pointer index (open addressing, linear probing), for lookups by name that must not
 * cost a scan: configuration sections by name, registry names by worker. An index, not an
 * owner: the keys it is given must outlive it, and it frees neither keys nor values. No removal. */
#pragma once

#include <stddef.h>

typedef struct StrIndexEntry {
        const char *key; /* borrowed; NULL = empty */
        void *value;
} StrIndexEntry;

typedef struct StrIndex {
        StrIndexEntry *slots;
        size_t cap; /* power of two */
        size_t n;
} StrIndex;

/* Adds key → value, or replaces the value of an equal key. -ENOMEM leaves the index as it was. */
int strindex_put(StrIndex *m, const char *key, void *value);
void *strindex_get(const StrIndex *m, const char *key);
void strindex_done(StrIndex *m);
