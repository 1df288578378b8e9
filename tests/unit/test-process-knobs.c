/* SPDX-License-Identifier: MIT */
/* Unit tests of a worker's process knobs and of its CPU time: the syntax of oom_score_adj, ioprio
 * and cpu_affinity (values.c), their diagnostics and what they put in the Spec (process-keys.c),
 * which survives config_pack(); and the CPU time read from /proc/PID/stat (proc-stat.c). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-load.h"
#include "config/values.h"
#include "proc-stat.h"
#include "tests.h"

TEST(oom_score_adj_values) {
        int v = 7;

        ASSERT_OK(parse_oom_score_adj("0", &v));
        ASSERT_EQ(v, 0);
        ASSERT_OK(parse_oom_score_adj("-1000", &v));
        ASSERT_EQ(v, -1000);
        ASSERT_OK(parse_oom_score_adj("+1000", &v));
        ASSERT_EQ(v, 1000);
        ASSERT_OK(parse_oom_score_adj("250", &v));
        ASSERT_EQ(v, 250);
        static const char *const bad[] = { "", "-", "1001", "-1001", "1e3", " 5", "5 ", "--5", "0x10" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (parse_oom_score_adj(bad[i], &v) != -EINVAL)
                        FAIL_("'%s' accepted", bad[i]);
        ASSERT_EQ(v, 250);
}

TEST(ioprio_values) {
        static const struct {
                const char *in;
                int class, level;
        } ok[] = {
                { "realtime", 1, 4 }, { "realtime:0", 1, 0 }, { "best-effort", 2, 4 },
                { "best-effort:7", 2, 7 }, { "idle", 3, 0 },
        };
        static const char *const bad[] = {
                "", "rt", "best-effort:8", "best-effort:", "best-effort:-1", "idle:0", "Idle", "realtime:1:2",
                "best-effort 3", "none", ":3",
        };
        int v;

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                v = 0;
                ASSERT_OK(parse_ioprio(ok[i].in, &v));
                ASSERT_EQ(v, (ok[i].class << 13) | ok[i].level);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (parse_ioprio(bad[i], &v) != -EINVAL)
                        FAIL_("'%s' accepted", bad[i]);
}

/* The CPUs of mask as "a,b,c". */
static void mask_text(const uint64_t *mask, size_t n, char *buf, size_t size) {
        size_t at = 0;
        buf[0] = '\0';
        for (size_t c = 0; c < n * 64; c++)
                if (mask[c / 64] >> (c % 64) & 1)
                        at += (size_t) snprintf(buf + at, size - at, "%s%zu", at ? "," : "", c);
}

TEST(cpu_lists) {
        static const struct {
                const char *in, *cpus;
                size_t words;
        } ok[] = {
                { "0", "0", 1 },
                { "0-3,6", "0,1,2,3,6", 1 },
                { " 1 3\t5-5 ,", "1,3,5", 1 },
                { "2-3, 1", "1,2,3", 1 },
                { "63-64", "63,64", 2 },
                { "8191", "8191", 128 },
        };
        static const struct {
                const char *in;
                int err;
        } bad[] = {
                { "", -EINVAL }, { " , ", -EINVAL }, { "a", -EINVAL }, { "3-1", -EINVAL }, { "1-", -EINVAL },
                { "-1", -EINVAL }, { "1--2", -EINVAL }, { "1x", -EINVAL }, { "1-2-3", -EINVAL },
                { "8192", -ERANGE }, { "0-8192", -ERANGE }, { "99999999999999999999", -ERANGE },
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ uint64_t *mask = NULL;
                size_t n = 0;
                char text[64];
                ASSERT_OK(parse_cpu_list(ok[i].in, &mask, &n));
                ASSERT_EQ(n, ok[i].words);
                mask_text(mask, n, text, sizeof text);
                ASSERT_STREQ(text, ok[i].cpus);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                uint64_t *mask = NULL;
                size_t n = 0;
                int r = parse_cpu_list(bad[i].in, &mask, &n);
                if (r != bad[i].err || mask)
                        FAIL_("'%s': %d", bad[i].in, r);
        }
}

TEST(keys_reach_the_packed_spec) {
        _cleanup_config_ Config *c = NULL;
        Config *packed = NULL;
        _cleanup_free_ char *text = with_worker("oom_score_adj = -500\nioprio = idle\ncpu_affinity = 0\n");

        LOAD_OK(text, c);
        ASSERT_OK(config_pack(c, &packed));
        const Spec *s = config_find(packed, SPEC_WORKER, "w");
        ASSERT_TRUE(s && s->oom_score_adj_set);
        ASSERT_EQ(s->oom_score_adj, -500);
        ASSERT_EQ(s->ioprio, 3 << 13);
        ASSERT_EQ(s->n_cpu_affinity, 1);
        ASSERT_TRUE(s->cpu_affinity[0] == 1);
        config_free(packed);

        /* Unset, they are inherited. */
        _cleanup_config_ Config *d = NULL;
        _cleanup_free_ char *plain = with_worker("");
        LOAD_OK(plain, d);
        s = config_find(d, SPEC_WORKER, "w");
        ASSERT_TRUE(s && !s->oom_score_adj_set && s->ioprio == 0 && !s->cpu_affinity);
}

TEST(keys_name_file_line) {
        static const WorkerError cases[] = {
                { "oom_score_adj = 1001\n",
                  NAME ":5: bad value '1001' for oom_score_adj: expected an integer from -1000 to 1000" },
                { "ioprio = idle:3\n", NAME ":5: bad value 'idle:3' for ioprio: expected realtime[:LEVEL]" },
                { "ioprio = best-effort:8\n", NAME ":5: bad value 'best-effort:8' for ioprio" },
                { "cpu_affinity = 3-1\n",
                  NAME ":5: bad value '3-1' for cpu_affinity: expected CPU numbers and ranges, as 0-3,6" },
                { "cpu_affinity = 9000\n", NAME ":5: bad value '9000' for cpu_affinity: a CPU number is 8192 or more" },
                /* No machine this runs on has 8191 CPUs present. */
                { "cpu_affinity = 0,8191\n", NAME ":5: bad value '0,8191' for cpu_affinity: this machine has no CPU 8191 (it has " },
        };
        expect_worker_errors(failed_, cases, ELEMENTSOF(cases));
}

TEST(proc_stat_lines) {
        uint64_t user = 0, system = 0;

        /* A name with spaces and ')' of its own; utime 11, stime 22, cutime 3, cstime 4. */
        ASSERT_OK(proc_stat_parse_cpu("42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 11 22 3 4 20 0 1 0 5 100\n",
                                      &user, &system));
        ASSERT_TRUE(user == 14 && system == 26);
        ASSERT_ERR(proc_stat_parse_cpu("", &user, &system), -EINVAL);
        ASSERT_ERR(proc_stat_parse_cpu("42 (x) S 1 2 3", &user, &system), -EINVAL);
        ASSERT_ERR(proc_stat_parse_cpu("42 (x) S 1 42 42 0 -1 0 0 0 0 0 x 22 3 4", &user, &system), -EINVAL);
        ASSERT_ERR(proc_stat_parse_cpu("42 (x)S 1 42 42 0 -1 0 0 0 0 0 1 22 3 4", &user, &system), -EINVAL);

        /* Ourselves, after some work: the figures are read and grow. */
        uint64_t u0, s0, u1, s1;
        ASSERT_OK(proc_stat_cpu_usec(getpid(), &u0, &s0));
        volatile uint64_t x = 0;
        for (;;) {
                for (uint64_t i = 0; i < 10000000; i++)
                        x += i;
                ASSERT_OK(proc_stat_cpu_usec(getpid(), &u1, &s1));
                if (u1 + s1 > u0 + s0)
                        break;
        }
        ASSERT_ERR(proc_stat_cpu_usec(0, &u1, &s1), -ENOENT);
}
