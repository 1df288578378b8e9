/* SPDX-License-Identifier: MIT */
/* The pid index: puts, lookups and deletions that keep probe chains intact. */
#include <stdint.h>

#include "pidmap.h"
#include "tests.h"

TEST(put_get_remove) {
        PidMap m = {};
        int a, b;
        ASSERT_OK(pidmap_put(&m, 10, &a));
        ASSERT_OK(pidmap_put(&m, 20, &b));
        ASSERT_TRUE(pidmap_get(&m, 10) == &a);
        ASSERT_TRUE(pidmap_get(&m, 20) == &b);
        ASSERT_TRUE(pidmap_get(&m, 30) == NULL);
        ASSERT_TRUE(pidmap_remove(&m, 10) == &a);
        ASSERT_TRUE(pidmap_get(&m, 10) == NULL);
        ASSERT_TRUE(pidmap_remove(&m, 10) == NULL);
        ASSERT_EQ(m.n, 1);
        ASSERT_ERR(pidmap_put(&m, 0, &a), -EINVAL);
        pidmap_done(&m);
}

TEST(many_with_collisions_and_deletes) {
        PidMap m = {};
        /* Insert 5000 pids, delete every third, check every remaining one is still found:
         * deletions in the middle of probe chains must not hide later entries. */
        for (intptr_t p = 1; p <= 5000; p++)
                ASSERT_OK(pidmap_put(&m, (pid_t) (p * 64), (void *) p));
        for (intptr_t p = 1; p <= 5000; p += 3)
                ASSERT_TRUE(pidmap_remove(&m, (pid_t) (p * 64)) == (void *) p);
        for (intptr_t p = 1; p <= 5000; p++) {
                void *v = pidmap_get(&m, (pid_t) (p * 64));
                if ((p - 1) % 3 == 0)
                        ASSERT_TRUE(v == NULL);
                else
                        ASSERT_TRUE(v == (void *) p);
        }
        ASSERT_EQ(m.n, 5000 - 1667);
        pidmap_done(&m);
}

TEST(overwrite_keeps_count) {
        PidMap m = {};
        int a, b;
        ASSERT_OK(pidmap_put(&m, 7, &a));
        ASSERT_OK(pidmap_put(&m, 7, &b));
        ASSERT_EQ(m.n, 1);
        ASSERT_TRUE(pidmap_get(&m, 7) == &b);
        pidmap_done(&m);
}
