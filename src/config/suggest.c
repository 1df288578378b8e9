/* SPDX-License-Identifier: MIT */
/* Did you mean: the closest of the words a key, a value or a section name could have been.
 * Checking a big configuration full of one misspelling asks once per mistake over every
 * section name, so a distance gives up as soon as it cannot come within the limit asked. */
#include "suggest.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"

/* Over three rolling rows. A cell of row i is at least the smaller of row i-1's least and row
 * i-2's least plus one (a transposition reaches back two rows), and a row's least is at most
 * one more than the row before's: once a whole row is above MAX, so is every later one, and so
 * the distance. It is never below the difference of the lengths either. */
#define OSA_MAX 64
size_t osa_distance(const char *a, const char *b, size_t max) {
        size_t la = strlen(a), lb = strlen(b);
        size_t rows[3][OSA_MAX + 1], *pp = rows[0], *prev = rows[1], *cur = rows[2];

        if (la > OSA_MAX || lb > OSA_MAX)
                return SIZE_MAX;
        if ((la > lb ? la - lb : lb - la) > max)
                return max + 1;
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                int ca = tolower((unsigned char) a[i - 1]);
                size_t *t, row_min;

                cur[0] = row_min = i;
                for (size_t j = 1; j <= lb; j++) {
                        int cb = tolower((unsigned char) b[j - 1]);
                        size_t v = prev[j] + 1;

                        if (cur[j - 1] + 1 < v)
                                v = cur[j - 1] + 1;
                        if (prev[j - 1] + (ca != cb) < v)
                                v = prev[j - 1] + (ca != cb);
                        if (i > 1 && j > 1 && ca == tolower((unsigned char) b[j - 2]) &&
                            tolower((unsigned char) a[i - 2]) == cb && pp[j - 2] + 1 < v)
                                v = pp[j - 2] + 1;
                        cur[j] = v;
                        if (v < row_min)
                                row_min = v;
                }
                if (row_min > max)
                        return max + 1;
                t = pp;
                pp = prev;
                prev = cur;
                cur = t;
        }
        return prev[lb];
}

const char *suggest(const char *word, const char *const *candidates, size_t n) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        for (size_t i = 0; i < n && best_d > 0; i++) {
                size_t len, d, limit;

                if (!candidates[i] || strcmp(candidates[i], word) == 0)
                        continue;
                len = strlen(candidates[i]);
                limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
                if (best_d <= limit)
                        limit = best_d - 1; /* only a closer one can replace the best */
                d = osa_distance(word, candidates[i], limit);
                if (d <= limit) {
                        best = candidates[i];
                        best_d = d;
                }
        }
        return best;
}

char *join_choices(const char *const *v, size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", v[i]);
        if (fclose(f) != 0)
                return mfree(buf);
        return buf;
}
