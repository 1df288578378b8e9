/* SPDX-License-Identifier: MIT */
/* Did you mean (suggest.c): the closest word to a misspelt one, and lists of choices in words.
 * Pure functions. */
#pragma once

#include <stddef.h>

/* Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a
 * substring), case-insensitive, when it is at most MAX; otherwise some value above MAX. Words
 * longer than 64 characters are always above. */
size_t osa_distance(const char *a, const char *b, size_t max);

/* The closest of N candidates (NULLs skipped) within a threshold that grows with the length of
 * the candidate: one edit for short words, two up to 8 characters, three beyond. Ties go to
 * the earlier one. NULL when none is close enough. */
const char *suggest(const char *word, const char *const *candidates, size_t n);

/* "a, b or c"; NULL on OOM. */
char *join_choices(const char *const *v, size_t n);
