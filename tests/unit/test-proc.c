/* SPDX-License-Identifier: MIT */
/* The process records and their one pid index. */
#include "proc.h"
#include "tests.h"

TEST(one_record_per_live_pid) {
        ProcIndex x = {};
        Proc *a, *b, *dup = NULL;
        ASSERT_OK(proc_new(&x, 100, NULL, &a));
        ASSERT_OK(proc_new(&x, 200, NULL, &b));
        ASSERT_TRUE(proc_get(&x, 100) == a);
        ASSERT_TRUE(proc_get(&x, 200) == b);
        ASSERT_ERR(proc_new(&x, 100, NULL, &dup), -EEXIST);
        ASSERT_TRUE(dup == NULL);
        ASSERT_ERR(proc_new(&x, 0, NULL, &dup), -EINVAL);
        ASSERT_ERR(proc_new(&x, -5, NULL, &dup), -EINVAL);
        ASSERT_TRUE(proc_get(&x, 0) == NULL);
        ASSERT_EQ(proc_count(&x), 2);
        ASSERT_TRUE(proc_release(&x, a) == NULL);
        ASSERT_TRUE(proc_get(&x, 100) == NULL);
        ASSERT_EQ(proc_count(&x), 1);
        proc_release(&x, b);
        ASSERT_EQ(proc_count(&x), 0);
        proc_index_done(&x);
}

TEST(a_reused_pid_is_another_incarnation) {
        ProcIndex x = {};
        Proc *a, *b;
        ASSERT_OK(proc_new(&x, 4242, NULL, &a));
        uint64_t first = a->incarnation;
        proc_release(&x, a);
        ASSERT_OK(proc_new(&x, 4242, NULL, &b));
        ASSERT_TRUE(b->incarnation > first);
        ASSERT_TRUE(proc_get(&x, 4242) == b);
        proc_release(&x, b);
        proc_index_done(&x);
}
