/* SPDX-License-Identifier: MIT */
/* The pid index: puts, lookups and deletions that keep probe chains intact. */
#include <stdint.h>

#include "idmap.h"
#include "tests.h"

TEST(put_get_remove) {
        IdMap m = {};
        int a, b;
        ASSERT_OK(idmap_put(&m, 10, &a));
        ASSERT_OK(idmap_put(&m, 20, &b));
        ASSERT_TRUE(idmap_get(&m, 10) == &a);
        ASSERT_TRUE(idmap_get(&m, 20) == &b);
        ASSERT_TRUE(idmap_get(&m, 30) == NULL);
        ASSERT_TRUE(idmap_remove(&m, 10) == &a);
        ASSERT_TRUE(idmap_get(&m, 10) == NULL);
        ASSERT_TRUE(idmap_remove(&m, 10) == NULL);
        ASSERT_EQ(m.n, 1);
        ASSERT_ERR(idmap_put(&m, 0, &a), -EINVAL);
        idmap_done(&m);
}

TEST(many_with_collisions_and_deletes) {
        IdMap m = {};
        /* Insert 5000 pids, delete every third, check every remaining one is still found:
         * deletions in the middle of probe chains must not hide later entries. */
        for (intptr_t p = 1; p <= 5000; p++)
                ASSERT_OK(idmap_put(&m, (uint64_t) (p * 64), (void *) p));
        for (intptr_t p = 1; p <= 5000; p += 3)
                ASSERT_TRUE(idmap_remove(&m, (uint64_t) (p * 64)) == (void *) p);
        for (intptr_t p = 1; p <= 5000; p++) {
                void *v = idmap_get(&m, (uint64_t) (p * 64));
                if ((p - 1) % 3 == 0)
                        ASSERT_TRUE(v == NULL);
                else
                        ASSERT_TRUE(v == (void *) p);
        }
        ASSERT_EQ(m.n, 5000 - 1667);
        idmap_done(&m);
}

TEST(overwrite_keeps_count) {
        IdMap m = {};
        int a, b;
        ASSERT_OK(idmap_put(&m, 7, &a));
        ASSERT_OK(idmap_put(&m, 7, &b));
        ASSERT_EQ(m.n, 1);
        ASSERT_TRUE(idmap_get(&m, 7) == &b);
        idmap_done(&m);
}
