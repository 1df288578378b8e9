/* SPDX-License-Identifier: MIT */
/* What the configuration tests share (test-config.c, test-config-keys.c): loading a string as
 * the file NAME, and asserting that it loads or fails with a given diagnostic. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "macro.h"
#include "tests.h"

#define NAME "/srv/conf/test.ini"
#define HEAD "[supervisor:app]\nchildren = w\n"

/* The diagnostics joined by newlines (owned); D is emptied. */
static inline char *diagnostics_text(Diagnostics *d) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                abort();
        for (size_t i = 0; i < d->n; i++)
                fprintf(f, "%s\n", d->lines[i]);
        fclose(f);
        diagnostics_done(d);
        return buf;
}

/* Loads TEXT; returns the diagnostics joined by newlines (owned) in *ret_text. */
static inline int load(const char *text, Config **ret, char **ret_text) {
        Diagnostics d = {};
        int r = config_load_string(text, NAME, ret, &d);

        *ret_text = diagnostics_text(&d);
        return r;
}

/* Loads TEXT, which must fail; the diagnostics must contain WANT. */
#define EXPECT_ERROR(text, want)                                                            \
        do {                                                                                \
                Config *c_ = NULL;                                                          \
                _cleanup_free_ char *t_ = NULL;                                             \
                int rr_ = load((text), &c_, &t_);                                           \
                config_free(c_);                                                            \
                ASSERT_ERR(rr_, -EINVAL);                                                   \
                ASSERT_TRUE(c_ == NULL);                                                    \
                ASSERT_CONTAINS(t_, (want));                                                \
        } while (0)

static inline size_t count_lines(const char *t) {
        size_t n = 0;
        for (; t && *t; t++)
                n += *t == '\n';
        return n;
}

/* A valid tree: root app with worker w, whose keys are EXTRA. */
static inline char *with_worker(const char *extra) {
        char *s;
        if (asprintf(&s, HEAD "[worker:w]\nexec = /bin/true\n%s", extra) < 0)
                abort();
        return s;
}

/* Worker w's keys, after HEAD and "exec = x", and a diagnostic they must give. */
typedef struct WorkerError {
        const char *keys, *want;
} WorkerError;

/* EXPECT_ERROR for each case in turn. */
static inline void expect_worker_errors(int *failed_, const WorkerError *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *text = NULL;
                ASSERT_TRUE(asprintf(&text, HEAD "[worker:w]\nexec = x\n%s", cases[i].keys) > 0);
                EXPECT_ERROR(text, cases[i].want);
        }
}

#define LOAD_OK(text, c)                                                                    \
        do {                                                                                \
                _cleanup_free_ char *t_ = NULL;                                             \
                int rr_ = load((text), &(c), &t_);                                          \
                if (rr_ < 0)                                                                \
                        FAIL_("load failed: %d\n%s", rr_, t_ ? t_ : "");                    \
        } while (0)

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);
#define _cleanup_config_ _cleanup_(config_freep)
