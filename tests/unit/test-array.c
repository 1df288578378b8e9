/* SPDX-License-Identifier: MIT */
/* The growable array: room for what is asked, doubling, and nothing lost on failure. */
#include <stdint.h>

#include "array.h"
#include "tests.h"

TEST(grows_by_doubling_and_keeps_contents) {
        int *v = NULL;
        size_t cap = 0, reallocs = 0;
        for (int i = 0; i < 1000; i++) {
                size_t before = cap;
                ASSERT_OK(ARRAY_GROW(v, cap, (size_t) i + 1));
                if (cap != before)
                        reallocs++;
                ASSERT_TRUE(cap >= (size_t) i + 1);
                v[i] = i;
        }
        for (int i = 0; i < 1000; i++)
                ASSERT_EQ(v[i], i);
        /* 8, 16, ..., 1024: 8 reallocations for 1000 appends. */
        ASSERT_EQ(reallocs, 8);
        ASSERT_EQ(cap, 1024);
        free(v);
}

TEST(no_growth_when_there_is_room) {
        char *v = NULL;
        size_t cap = 0;
        ASSERT_OK(ARRAY_GROW(v, cap, 3));
        char *was = v;
        ASSERT_OK(ARRAY_GROW(v, cap, cap));
        ASSERT_TRUE(v == was);
        ASSERT_OK(ARRAY_GROW(v, cap, 0));
        free(v);
}

TEST(overflow_leaves_the_array_untouched) {
        uint64_t *v = NULL;
        size_t cap = 0;
        ASSERT_OK(ARRAY_GROW(v, cap, 4));
        uint64_t *was = v;
        ASSERT_ERR(ARRAY_GROW(v, cap, SIZE_MAX / 4), -ENOMEM);
        ASSERT_ERR(ARRAY_GROW(v, cap, SIZE_MAX), -ENOMEM);
        ASSERT_TRUE(v == was);
        ASSERT_EQ(cap, ARRAY_MIN_CAP);
        free(v);
}
