/* SPDX-License-Identifier: MIT */
/* Prometheus' text exposition format (version 0.0.4), which OpenMetrics parsers read too: a
 * family's HELP and TYPE lines, then its samples, one a line, label values escaped. Pure: it
 * writes through a callback, into a control reply or a buffer. */
#pragma once

#include <stdint.h>

#include "json.h"

typedef struct MetricsWriter {
        JsonWrite write;
        void *ud;
} MetricsWriter;

typedef enum MetricsType {
        METRICS_COUNTER,
        METRICS_GAUGE,
        _METRICS_TYPE_MAX,
} MetricsType;

/* "# HELP name help" and "# TYPE name type": once per family, before its samples. help is
 * escaped as the format says (\\ and \n). */
void metrics_family(const MetricsWriter *w, const char *name, MetricsType type, const char *help);
/* One sample: name{k1="v1",k2="v2"} value. labels: names and values in turn, NULL after the
 * last name (or NULL: no labels). */
void metrics_sample_u64(const MetricsWriter *w, const char *name, const char *const *labels, uint64_t value);
/* The same with a fractional value (seconds), written with millisecond precision. */
void metrics_sample_double(const MetricsWriter *w, const char *name, const char *const *labels, double value);
/* A label value between its quotes: '\\', '"' and a newline escaped as \\, \" and \n; a byte
 * that is not part of valid UTF-8 as U+FFFD, since the format is UTF-8. */
void metrics_write_label_value(const MetricsWriter *w, const char *value);
