/* SPDX-License-Identifier: MIT */
/* A tiny unit-test harness: TEST(name) registers a test, ASSERT_* fail it with file:line, and
 * main() prints "ok"/"not ok" per test and a final "N passed, N failed" line. */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct TestCase {
        const char *name;
        void (*fn)(int *failed);
} TestCase;

#define TEST(n)                                                                            \
        static void test_##n(int *failed_);                                               \
        static const TestCase tc_##n __attribute__((used, section("fv_tests"),           \
                                                    aligned(sizeof(void *)))) = {          \
                #n, test_##n};                                                             \
        static void test_##n(int *failed_)

#define FAIL_(fmt, ...)                                                                    \
        do {                                                                               \
                fprintf(stderr, "  %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);   \
                *failed_ = 1;                                                              \
                return;                                                                    \
        } while (0)

#define ASSERT_TRUE(e)                                                                     \
        do {                                                                               \
                if (!(e))                                                                  \
                        FAIL_("assertion failed: %s", #e);                                 \
        } while (0)
#define ASSERT_OK(e)                                                                       \
        do {                                                                               \
                long long r_ = (long long) (e);                                            \
                if (r_ < 0)                                                                \
                        FAIL_("%s failed: %lld (%s)", #e, r_, strerror((int) -r_));        \
        } while (0)
#define ASSERT_ERR(e, want)                                                                \
        do {                                                                               \
                long long r_ = (long long) (e), w_ = (long long) (want);                   \
                if (r_ != w_)                                                              \
                        FAIL_("%s = %lld, expected %lld", #e, r_, w_);                     \
        } while (0)
#define ASSERT_EQ(a, b)                                                                    \
        do {                                                                               \
                long long a_ = (long long) (a), b_ = (long long) (b);                      \
                if (a_ != b_)                                                              \
                        FAIL_("%s = %lld, expected %s = %lld", #a, a_, #b, b_);            \
        } while (0)
#define ASSERT_STREQ(a, b)                                                                 \
        do {                                                                               \
                const char *a_ = (a), *b_ = (b);                                           \
                if (!a_ || !b_ || strcmp(a_, b_) != 0)                                     \
                        FAIL_("%s = \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)",      \
                              b_ ? b_ : "(null)");                                         \
        } while (0)
#define ASSERT_CONTAINS(hay, needle)                                                       \
        do {                                                                               \
                const char *h_ = (hay), *n_ = (needle);                                    \
                if (!h_ || !strstr(h_, n_))                                                \
                        FAIL_("%s = \"%s\" does not contain \"%s\"", #hay, h_ ? h_ : "(null)", n_); \
        } while (0)

extern const TestCase __start_fv_tests[], __stop_fv_tests[];

int main(int argc, char **argv) {
        int passed = 0, failed = 0;
        for (const TestCase *t = __start_fv_tests; t < __stop_fv_tests; t++) {
                if (argc > 1 && strcmp(argv[1], t->name) != 0)
                        continue;
                int f = 0;
                t->fn(&f);
                printf("%s %s\n", f ? "not ok" : "ok", t->name);
                if (f)
                        failed++;
                else
                        passed++;
        }
        printf("%d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
}
