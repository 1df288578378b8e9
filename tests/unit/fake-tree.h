/* SPDX-License-Identifier: MIT */
/* Fake TreeOps for the policy tests (test-tree.c, test-reload.c): spawns, signals and give-ups
 * are written to a log ("+a -a:TERM gaveup:s ..."), timers are left to the test, time stands
 * still unless the test moves it. The includer defines FAKE_EXTRA_FIELDS, the fields of its own
 * that struct Fake carries after the common ones, before it includes this file. Also the
 * helpers both share: loading a config, a fresh Fake, a started tree, finding a node. */
#pragma once

#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "tree.h"

typedef struct Fake {
        char log[8192];          /* "+a -a:TERM gaveup:s ..." in order */
        pid_t next_pid;
        usec_t now;
        int finished;            /* -1 until ops->finished */
        const char *fail_spawn;  /* name whose spawn fails */
        Tree *tree;
        FAKE_EXTRA_FIELDS
} Fake;

static void logf_(Fake *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(Fake *f, const char *fmt, ...) {
        size_t l = strlen(f->log);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->log + l, sizeof f->log - l, fmt, ap);
        va_end(ap);
}

static int f_spawn(void *ud, Node *n, pid_t *ret_pid, bool *ret_ready) {
        Fake *f = ud;
        if (f->fail_spawn && strcmp(f->fail_spawn, n->name) == 0) {
                snprintf(n->reason, sizeof n->reason, "no such file");
                logf_(f, "!%s ", n->name);
                return -ENOENT;
        }
        *ret_pid = ++f->next_pid;
        *ret_ready = n->spec->ready == READY_NONE;
        logf_(f, "+%s ", n->name);
        return 0;
}

static int f_spawn_hook(void *ud, Node *n, NodeHook hook, pid_t *ret_pid) {
        Fake *f = ud;
        *ret_pid = ++f->next_pid;
        logf_(f, "%s:%s ", hook == NODE_HOOK_PRE_START ? "pre" : "post", n->name);
        return 0;
}

static void f_kill(void *ud, Node *n, int sig, bool group) {
        if (sig != SIGCONT)
                logf_(ud, "-%s:%s ", n->name, sigabbrev_np(sig));
}

static void f_set_timer(void *ud, Node *n, usec_t at) {
}

static usec_t f_now(void *ud) {
        return ((Fake *) ud)->now;
}

static void f_event(void *ud, Node *n, TreeEvent ev) {
        if (ev == TREE_EVENT_GAVE_UP)
                logf_(ud, "gaveup:%s ", n->name);
}

static void f_finished(void *ud, int status) {
        ((Fake *) ud)->finished = status;
}

static const TreeOps fake_ops = {
        .spawn = f_spawn, .spawn_hook = f_spawn_hook, .kill = f_kill, .set_timer = f_set_timer,
        .now = f_now, .event = f_event, .finished = f_finished,
};

/* Loads ini as /tmp/test.ini into *ret, its diagnostics written to stderr. */
static int fake_load_config(const char *ini, Config **ret) {
        Diagnostics d = {};
        int r = config_load_string(ini, "/tmp/test.ini", ret, &d);
        for (size_t i = 0; i < d.n; i++)
                fprintf(stderr, "  %s\n", d.lines[i]);
        diagnostics_done(&d);
        return r;
}

/* A fresh Fake: an empty log, the clock at 1000 s, not finished. */
static void fake_init(Fake *f) {
        memset(f, 0, sizeof *f);
        f->finished = -1;
        f->now = 1000 * USEC_PER_SEC;
}

/* Starts f->tree and clears the log: the tests begin from a running tree. */
static void fake_start(Fake *f) {
        tree_start(f->tree);
        f->log[0] = 0;
}

/* The node at path, which must exist. */
static Node *N(Fake *f, const char *path) {
        Node *n = tree_find(f->tree, path);
        assert(n);
        return n;
}

/* A fresh Fake running the tree of ini over ops, its log cleared; *config is the loaded
 * configuration, to free after the tree. (Inline: not every includer uses it.) */
static inline int fake_run(Fake *f, const TreeOps *ops, Config **config, const char *ini) {
        fake_init(f);
        int r = fake_load_config(ini, config);
        if (r < 0)
                return r;
        r = tree_new(*config, ops, f, &f->tree);
        if (r >= 0)
                fake_start(f);
        return r;
}
