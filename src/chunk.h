/* SPDX-License-Identifier: MIT */
/* A refcounted byte buffer. Encoded frames live in chunks and mailboxes queue references to
 * ranges of them (offset and length, never pointers, so a chunk may grow while referenced): a
 * published message is encoded once into one chunk shared by every subscriber. */
#pragma once

#include <stddef.h>

typedef struct Chunk {
        unsigned refs;
        size_t len, cap;
        char *data;
} Chunk;

/* A chunk with room for cap bytes and one reference. NULL when out of memory. */
Chunk *chunk_new(size_t cap);
Chunk *chunk_ref(Chunk *c);
/* Drops a reference; frees the chunk with the last one. Returns NULL. */
Chunk *chunk_unref(Chunk *c);
/* Room for size more bytes after len: 0 or -ENOMEM. */
int chunk_reserve(Chunk *c, size_t size);
