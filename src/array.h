/* SPDX-License-Identifier: MIT */
/* One growable array, as systemd's GREEDY_REALLOC: an array is a pointer and a capacity (the
 * count of elements it has room for); ARRAY_GROW makes room for at least `need` elements,
 * doubling so that appending n elements costs O(log n) reallocations. On failure the array and
 * its capacity are untouched, so the caller keeps what it had. Header-only: lib/ uses it too. */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define ARRAY_MIN_CAP 8

static inline int array_grow_(void **array, size_t *cap, size_t need, size_t size) {
        if (need <= *cap)
                return 0;
        size_t n = *cap ? *cap : ARRAY_MIN_CAP;
        while (n < need) {
                if (n > SIZE_MAX / 2)
                        return -ENOMEM;
                n *= 2;
        }
        if (n > SIZE_MAX / size)
                return -ENOMEM;
        void *p = realloc(*array, n * size);
        if (!p)
                return -ENOMEM;
        *array = p;
        *cap = n;
        return 0;
}

/* ARRAY_GROW(v, cap, need): 0, or -ENOMEM with v and cap unchanged. v is any T *, cap a size_t. */
#define ARRAY_GROW(array, cap, need) array_grow_((void **) &(array), &(cap), (need), sizeof *(array))
