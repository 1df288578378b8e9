/* SPDX-License-Identifier: MIT */
#include "chunk.h"

#include <errno.h>
#include <stdlib.h>

Chunk *chunk_new(size_t cap) {
        Chunk *c = calloc(1, sizeof *c);
        if (!c)
                return NULL;
        c->data = malloc(cap ? cap : 1);
        if (!c->data) {
                free(c);
                return NULL;
        }
        c->cap = cap;
        c->refs = 1;
        return c;
}

Chunk *chunk_ref(Chunk *c) {
        c->refs++;
        return c;
}

Chunk *chunk_unref(Chunk *c) {
        if (c && --c->refs == 0) {
                free(c->data);
                free(c);
        }
        return NULL;
}

int chunk_reserve(Chunk *c, size_t size) {
        if (c->len + size <= c->cap)
                return 0;
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + size)
                cap *= 2;
        char *p = realloc(c->data, cap);
        if (!p)
                return -ENOMEM;
        c->data = p;
        c->cap = cap;
        return 0;
}
