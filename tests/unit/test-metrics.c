/* SPDX-License-Identifier: MIT */
/* The Prometheus text format's writer (metrics-text.c): HELP and TYPE lines, samples with and
 * without labels, label values escaped; and [forkvisor] metrics_file and metrics_interval. */
#include "config-load.h"
#include "metrics-text.h"
#include "tests.h"

/* What the writer wrote since reset(), in a memory stream. */
static char *text;
static size_t text_size;
static FILE *stream;

static void stream_write(void *ud, const char *p, size_t n) {
        fwrite(p, 1, n, stream);
}

static const MetricsWriter w = { stream_write, NULL };

static void reset(void) {
        if (stream)
                fclose(stream);
        free(text);
        text = NULL;
        stream = open_memstream(&text, &text_size);
        if (!stream)
                abort();
}

static const char *written(void) {
        fflush(stream);
        return text;
}

static const char *label(const char *v) {
        reset();
        metrics_write_label_value(&w, v);
        return written();
}

TEST(label_escapes) {
        static const struct {
                const char *in, *want;
        } cases[] = {
                { "", "" },
                { "app/web.3", "app/web.3" },
                /* The three escapes of the format, and nothing else: a tab stays. */
                { "a\"b", "a\\\"b" },
                { "a\\b", "a\\\\b" },
                { "a\nb", "a\\nb" },
                { "\\\"\n", "\\\\\\\"\\n" },
                { "tab\there", "tab\there" },
                /* UTF-8 as it is; a byte that is not valid UTF-8 as U+FFFD (the format is UTF-8). */
                { "h\xc3\xa9", "h\xc3\xa9" },
                { "bad\xff", "bad\xef\xbf\xbd" },
                { "\xc3", "\xef\xbf\xbd" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ASSERT_STREQ(label(cases[i].in), cases[i].want);
}

TEST(family_lines) {
        reset();
        metrics_family(&w, "forkvisor_x_total", METRICS_COUNTER, "Things; \"quoted\" and a \\ and\na line.");
        ASSERT_STREQ(written(), "# HELP forkvisor_x_total Things; \"quoted\" and a \\\\ and\\na line.\n"
                                "# TYPE forkvisor_x_total counter\n");
        reset();
        metrics_family(&w, "forkvisor_y", METRICS_GAUGE, "Y.");
        ASSERT_STREQ(written(), "# HELP forkvisor_y Y.\n# TYPE forkvisor_y gauge\n");
}

TEST(samples) {
        reset();
        metrics_sample_u64(&w, "forkvisor_a", NULL, 0);
        metrics_sample_u64(&w, "forkvisor_b", (const char *const[]) { NULL }, UINT64_MAX);
        metrics_sample_u64(&w, "forkvisor_c", (const char *const[]) { "path", "app/w", NULL }, 3);
        metrics_sample_u64(&w, "forkvisor_d",
                           (const char *const[]) { "path", "a\"b\\c\nd", "state", "running", NULL }, 1);
        metrics_sample_double(&w, "forkvisor_e_seconds", (const char *const[]) { "path", "x", NULL }, 1.5);
        metrics_sample_double(&w, "forkvisor_f_seconds", NULL, 0);
        ASSERT_STREQ(written(), "forkvisor_a 0\n"
                                "forkvisor_b 18446744073709551615\n"
                                "forkvisor_c{path=\"app/w\"} 3\n"
                                "forkvisor_d{path=\"a\\\"b\\\\c\\nd\",state=\"running\"} 1\n"
                                "forkvisor_e_seconds{path=\"x\"} 1.500\n"
                                "forkvisor_f_seconds 0.000\n");
}

TEST(metrics_keys) {
        _cleanup_config_ Config *c = NULL, *d = NULL, *packed = NULL;

        LOAD_OK(HEAD "[worker:w]\nexec = x\n", c);
        ASSERT_TRUE(c->metrics_file == NULL);
        ASSERT_EQ(c->metrics_interval_ms, 0); /* the default, METRICS_INTERVAL_DEFAULT_MS */
        /* A relative path is the configuration file's directory's, as every path. */
        LOAD_OK("[forkvisor]\nmetrics_file = m/forkvisor.prom\nmetrics_interval = 250\n" HEAD "[worker:w]\nexec = x\n", d);
        ASSERT_STREQ(d->metrics_file, "/srv/conf/m/forkvisor.prom");
        ASSERT_EQ(d->metrics_interval_ms, 250);
        ASSERT_OK(config_pack(d, &packed));
        ASSERT_TRUE(packed->metrics_file != d->metrics_file);
        ASSERT_STREQ(packed->metrics_file, "/srv/conf/m/forkvisor.prom");
        ASSERT_EQ(packed->metrics_interval_ms, 250);

        EXPECT_ERROR("[forkvisor]\nmetrics_file = /var/lib/metrics/\n" HEAD "[worker:w]\nexec = x\n",
                     NAME ":2: bad value '/var/lib/metrics/' for metrics_file: expected the path of a file");
        EXPECT_ERROR("[forkvisor]\nmetrics_file = /var/lib/..\n" HEAD "[worker:w]\nexec = x\n",
                     NAME ":2: bad value '/var/lib/..' for metrics_file: expected the path of a file");
        EXPECT_ERROR("[forkvisor]\nmetrics_interval = 99\n" HEAD "[worker:w]\nexec = x\n",
                     NAME ":2: bad value '99' for metrics_interval: expected milliseconds from 100 to 3600000");
        EXPECT_ERROR("[forkvisor]\nmetrics_interval = 10s\n" HEAD "[worker:w]\nexec = x\n",
                     NAME ":2: bad value '10s' for metrics_interval: expected milliseconds from 100 to 3600000");
        EXPECT_ERROR("[forkvisor]\nmetrics_interval = 3600001\n" HEAD "[worker:w]\nexec = x\n",
                     NAME ":2: bad value '3600001' for metrics_interval");
        EXPECT_ERROR(HEAD "metrics_file = /m.prom\n[worker:w]\nexec = x\n",
                     NAME ":3: unknown key 'metrics_file' in [supervisor:app] (it belongs in [forkvisor])");
}
