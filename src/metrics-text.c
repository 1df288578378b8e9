/* SPDX-License-Identifier: MIT */
#include "metrics-text.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put(const MetricsWriter *w, const char *s) {
        w->write(w->ud, s, strlen(s));
}

static const char *const type_names[_METRICS_TYPE_MAX] = {
        [METRICS_COUNTER] = "counter",
        [METRICS_GAUGE] = "gauge",
};

/* HELP's escapes are \\ and \n only; a quote stays as it is. */
static void put_help(const MetricsWriter *w, const char *s) {
        for (const char *p = s; *p; p++) {
                if (*p == '\\')
                        put(w, "\\\\");
                else if (*p == '\n')
                        put(w, "\\n");
                else
                        w->write(w->ud, p, 1);
        }
}

void metrics_family(const MetricsWriter *w, const char *name, MetricsType type, const char *help) {
        put(w, "# HELP ");
        put(w, name);
        put(w, " ");
        put_help(w, help);
        put(w, "\n# TYPE ");
        put(w, name);
        put(w, " ");
        put(w, type_names[type]);
        put(w, "\n");
}

void metrics_write_label_value(const MetricsWriter *w, const char *value) {
        const char *p = value;
        while (*p) {
                size_t n = json_utf8_len(p);
                if (*p == '\\')
                        put(w, "\\\\");
                else if (*p == '"')
                        put(w, "\\\"");
                else if (*p == '\n')
                        put(w, "\\n");
                else if (n == 0)
                        put(w, "\xef\xbf\xbd"); /* U+FFFD */
                else
                        w->write(w->ud, p, n);
                p += n ? n : 1;
        }
}

static void put_series(const MetricsWriter *w, const char *name, const char *const *labels) {
        put(w, name);
        if (!labels || !labels[0])
                return;
        put(w, "{");
        for (size_t i = 0; labels[i]; i += 2) {
                if (i > 0)
                        put(w, ",");
                put(w, labels[i]);
                put(w, "=\"");
                metrics_write_label_value(w, labels[i + 1] ?: "");
                put(w, "\"");
        }
        put(w, "}");
}

void metrics_sample_u64(const MetricsWriter *w, const char *name, const char *const *labels, uint64_t value) {
        char v[32];
        put_series(w, name, labels);
        snprintf(v, sizeof v, " %" PRIu64 "\n", value);
        put(w, v);
}

void metrics_sample_double(const MetricsWriter *w, const char *name, const char *const *labels, double value) {
        char v[64];
        put_series(w, name, labels);
        snprintf(v, sizeof v, " %.3f\n", value);
        put(w, v);
}
