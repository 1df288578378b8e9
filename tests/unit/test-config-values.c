/* SPDX-License-Identifier: MIT */
/* Unit tests of the pure parts of config/: the syntax of values (values.c), did-you-mean and
 * its bounded distance (suggest.c), and the account lookups (accounts.c) against this
 * machine's root and nobody. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/accounts.h"
#include "config/suggest.h"
#include "config/values.h"
#include "macro.h"
#include "strv.h"
#include "tests.h"

TEST(numbers_and_booleans) {
        uint64_t v = 7;

        ASSERT_OK(parse_u64("0", 10, &v));
        ASSERT_EQ(v, 0);
        ASSERT_OK(parse_u64("18446744073709551615", UINT64_MAX, &v));
        ASSERT_TRUE(v == UINT64_MAX);
        ASSERT_ERR(parse_u64("18446744073709551616", UINT64_MAX, &v), -ERANGE);
        ASSERT_ERR(parse_u64("11", 10, &v), -ERANGE);
        ASSERT_ERR(parse_u64("", 10, &v), -EINVAL);
        ASSERT_ERR(parse_u64("-1", 10, &v), -EINVAL);
        ASSERT_ERR(parse_u64(" 1", 10, &v), -EINVAL);
        ASSERT_TRUE(v == UINT64_MAX); /* untouched by a failure */

        ASSERT_EQ(parse_bool("YES"), 1);
        ASSERT_EQ(parse_bool("on"), 1);
        ASSERT_EQ(parse_bool("0"), 0);
        ASSERT_EQ(parse_bool("False"), 0);
        ASSERT_ERR(parse_bool("y"), -EINVAL);
}

TEST(words_split_like_sh) {
        static const struct {
                const char *in;
                bool list;
                const char *out; /* words joined by '|' */
        } ok[] = {
                { "a  b\tc", false, "a|b|c" },
                { "a,b, c", true, "a|b|c" },
                { "a,b", false, "a,b" },
                { "'a b' \"c d\"", false, "a b|c d" },
                { "a\"b c\"d", false, "ab cd" },
                { "\"\" x", false, "|x" },
                { "\"\\\"\\\\\\$\\`\\n\"", false, "\"\\$`\\n" },
                { "a\\ b", false, "a b" },
                { "", false, "" },
        };
        static const struct {
                const char *in, *err;
        } bad[] = {
                { "a\\", "trailing backslash" },
                { "'a", "unterminated single quote" },
                { "\"a", "unterminated double quote" },
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_strv_free_ char **l = NULL;
                _cleanup_free_ char *joined = NULL;
                size_t size = 0;
                const char *err = NULL;
                FILE *f;

                ASSERT_OK(split_words(ok[i].in, ok[i].list, &l, &err));
                f = open_memstream(&joined, &size);
                ASSERT_TRUE(f);
                STRV_FOREACH(w, l)
                        fprintf(f, "%s%s", w == l ? "" : "|", *w);
                fclose(f);
                ASSERT_STREQ(joined, ok[i].out);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char **l = NULL;
                const char *err = NULL;

                ASSERT_ERR(split_words(bad[i].in, false, &l, &err), -EINVAL);
                ASSERT_TRUE(l == NULL);
                ASSERT_STREQ(err, bad[i].err);
        }
}

TEST(signals) {
        ASSERT_EQ(parse_signal("TERM"), SIGTERM);
        ASSERT_EQ(parse_signal("sigkill"), SIGKILL);
        ASSERT_EQ(parse_signal("1"), 1);
        ASSERT_EQ(parse_signal("RTMIN"), SIGRTMIN);
        ASSERT_EQ(parse_signal("rtmin+2"), SIGRTMIN + 2);
        ASSERT_EQ(parse_signal("RTMAX-1"), SIGRTMAX - 1);
        ASSERT_ERR(parse_signal("0"), -EINVAL);
        ASSERT_ERR(parse_signal("RTMIN-1"), -EINVAL);
        ASSERT_ERR(parse_signal("RTMAX+1"), -EINVAL);
        ASSERT_ERR(parse_signal("TERMX"), -EINVAL);
        ASSERT_STREQ(signal_name(SIGHUP), "HUP");
        ASSERT_TRUE(signal_name(0) == NULL);
        ASSERT_TRUE(signal_name(SIGRTMIN) == NULL);
}

TEST(limits_and_modes) {
        struct rlimit rl;
        rlim_t v;
        uint64_t ms = 0;
        int mode = -1;

        ASSERT_OK(parse_rlimit_value("2K", true, &v));
        ASSERT_EQ(v, 2048);
        ASSERT_ERR(parse_rlimit_value("2K", false, &v), -EINVAL);
        ASSERT_ERR(parse_rlimit_value("K", true, &v), -EINVAL);
        ASSERT_OK(parse_rlimit_value("infinity", false, &v));
        ASSERT_TRUE(v == RLIM_INFINITY);
        ASSERT_OK(parse_rlimit("10:infinity", false, &rl));
        ASSERT_TRUE(rl.rlim_cur == 10 && rl.rlim_max == RLIM_INFINITY);
        ASSERT_OK(parse_rlimit("1M", true, &rl));
        ASSERT_TRUE(rl.rlim_cur == 1 << 20 && rl.rlim_max == 1 << 20);
        ASSERT_ERR(parse_rlimit("20:10", false, &rl), -ERANGE);
        ASSERT_ERR(parse_rlimit("1:x", false, &rl), -EINVAL);

        ASSERT_OK(parse_seconds_ms("2.5", 100, &ms));
        ASSERT_EQ(ms, 2500);
        ASSERT_OK(parse_seconds_ms("0.001", 100, &ms));
        ASSERT_EQ(ms, 1);
        ASSERT_ERR(parse_seconds_ms("0", 100, &ms), -EINVAL);
        ASSERT_ERR(parse_seconds_ms("1.", 100, &ms), -EINVAL);
        ASSERT_ERR(parse_seconds_ms("1.2345", 100, &ms), -EINVAL);
        ASSERT_ERR(parse_seconds_ms("101", 100, &ms), -EINVAL);
        ASSERT_EQ(ms, 1);

        ASSERT_OK(parse_mode("022", 0777, &mode));
        ASSERT_EQ(mode, 022);
        ASSERT_ERR(parse_mode("0800", 0777, &mode), -EINVAL);
        ASSERT_ERR(parse_mode("01000", 0777, &mode), -EINVAL);
        ASSERT_ERR(parse_mode("", 0777, &mode), -EINVAL);
}

TEST(names) {
        ASSERT_TRUE(env_name_is_valid("PATH=x", 4));
        ASSERT_TRUE(env_name_is_valid("_a1", 3));
        ASSERT_TRUE(!env_name_is_valid("1A", 2));
        ASSERT_TRUE(!env_name_is_valid("A-B", 3));
        ASSERT_TRUE(!env_name_is_valid("", 0));
        ASSERT_TRUE(account_name_is_valid("www-data"));
        ASSERT_TRUE(!account_name_is_valid("a:b"));
        ASSERT_TRUE(!account_name_is_valid("a b"));
        ASSERT_TRUE(!account_name_is_valid(""));
}

/* The distance as a textbook full matrix computes it, to hold the bounded one to. */
static size_t osa_reference(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b), d[16][16];

        for (size_t i = 0; i <= la; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        size_t v = d[i - 1][j] + 1;
                        if (d[i][j - 1] + 1 < v)
                                v = d[i][j - 1] + 1;
                        if (d[i - 1][j - 1] + (a[i - 1] != b[j - 1]) < v)
                                v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                                v = d[i - 2][j - 2] + 1;
                        d[i][j] = v;
                }
        return d[la][lb];
}

TEST(bounded_distance_is_exact_within_its_bound) {
        char a[16], b[16];

        ASSERT_EQ(osa_distance("ab", "ba", 5), 1);
        ASSERT_EQ(osa_distance("Restart", "restrat", 5), 1);
        ASSERT_EQ(osa_distance("ca", "abc", 5), 3); /* OSA, not Damerau-Levenshtein (2) */
        ASSERT_TRUE(osa_distance("aaaaaaaa", "bbbbbbbb", 2) > 2);
        ASSERT_TRUE(osa_distance("a", "abcdef", 3) > 3);

        /* Random words over a small alphabet, so that close pairs are common. */
        srand(12);
        for (int n = 0; n < 20000; n++) {
                size_t la = (size_t) rand() % 9, lb = (size_t) rand() % 9, max = (size_t) rand() % 5, want, got;

                for (size_t i = 0; i < la; i++)
                        a[i] = "abc"[rand() % 3];
                for (size_t i = 0; i < lb; i++)
                        b[i] = "abc"[rand() % 3];
                a[la] = b[lb] = '\0';
                want = osa_reference(a, b);
                got = osa_distance(a, b, max);
                if (want <= max ? got != want : got <= max)
                        FAIL_("osa_distance(\"%s\", \"%s\", %zu) = %zu, the distance is %zu", a, b, max, got, want);
        }
}

TEST(suggestions) {
        static const char *const keys[] = { "restart", "restart_delay", "ready", NULL, "read" };

        ASSERT_STREQ(suggest("restrat", keys, ELEMENTSOF(keys)), "restart");
        ASSERT_STREQ(suggest("RESTART", keys, ELEMENTSOF(keys)), "restart"); /* any case */
        ASSERT_STREQ(suggest("reade", keys, ELEMENTSOF(keys)), "ready");     /* a tie: the first */
        ASSERT_STREQ(suggest("rea", keys, ELEMENTSOF(keys)), "read");
        ASSERT_TRUE(suggest("restart", keys, 1) == NULL);  /* the word itself is no suggestion */
        ASSERT_TRUE(suggest("rx", keys, ELEMENTSOF(keys)) == NULL);
        ASSERT_TRUE(suggest("redy_timeout", keys, ELEMENTSOF(keys)) == NULL);

        _cleanup_free_ char *c = join_choices(keys, 3);
        ASSERT_STREQ(c, "restart, restart_delay or ready");
        _cleanup_free_ char *one = join_choices(keys, 1);
        ASSERT_STREQ(one, "restart");
}

TEST(accounts) {
        _cleanup_free_ char *name = NULL, *name0 = NULL;
        _cleanup_free_ gid_t *groups = NULL;
        size_t n = 0;
        uid_t uid = 1;
        gid_t gid = 1;
        int nss = -1;

        ASSERT_OK(accounts_user("root", &uid, &gid, &name, &nss));
        ASSERT_EQ(uid, 0);
        ASSERT_EQ(gid, 0);
        ASSERT_STREQ(name, "root");
        ASSERT_OK(accounts_user("0", &uid, &gid, &name0, &nss)); /* a uid when no name matches */
        ASSERT_STREQ(name0, "root");
        ASSERT_ERR(accounts_user("no-such-user-here", &uid, &gid, &name, &nss), -ESRCH);
        ASSERT_EQ(nss, 0);

        ASSERT_OK(accounts_group("root", &gid, &nss));
        ASSERT_EQ(gid, 0);
        gid = 1;
        ASSERT_OK(accounts_group("0", &gid, &nss));
        ASSERT_EQ(gid, 0);
        ASSERT_ERR(accounts_group("no-such-group-here", &gid, &nss), -ESRCH);

        ASSERT_OK(accounts_groups("root", 0, &groups, &n));
        ASSERT_TRUE(n >= 1);
        bool has0 = false;
        for (size_t i = 0; i < n; i++)
                has0 = has0 || groups[i] == 0;
        ASSERT_TRUE(has0);
}
