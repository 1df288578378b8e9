/* SPDX-License-Identifier: MIT */
/* pid → pointer index (open addressing, linear probing, backward-shift deletion). An index,
 * not an owner: it never frees what it points to. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

typedef struct PidMapEntry {
        pid_t pid;   /* 0 = empty */
        void *value;
} PidMapEntry;

typedef struct PidMap {
        PidMapEntry *slots;
        size_t cap;  /* power of two */
        size_t n;
} PidMap;

int pidmap_put(PidMap *m, pid_t pid, void *value);
void *pidmap_get(const PidMap *m, pid_t pid);
void *pidmap_remove(PidMap *m, pid_t pid);
void pidmap_done(PidMap *m);
