/* SPDX-License-Identifier: MIT */
/* NULL-terminated string vectors (char **), as argv and environ are: create, grow, search, free.
 * Pure helpers: no I/O, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

size_t strv_length(char *const *l);

/* A new empty vector ({ NULL }); NULL on OOM. */
char **strv_new_empty(void);

/* Appends VALUE and takes ownership of it, also on failure (it is freed then). *L may be NULL. */
int strv_consume(char ***l, char *value);
/* Appends a copy of VALUE. */
int strv_push(char ***l, const char *value);
/* Appends copies of every string of OTHER. */
int strv_extend_strv(char ***l, char *const *other);

/* A deep copy; NULL on OOM. A NULL vector copies to an empty one. */
char **strv_copy(char *const *l);

bool strv_contains(char *const *l, const char *s);
/* The index of S in L, or -1. */
ptrdiff_t strv_index(char *const *l, const char *s);

/* Removes and frees the string at index I (which must exist), keeping the order. */
void strv_remove_at(char **l, size_t i);

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)
