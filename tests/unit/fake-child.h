/* SPDX-License-Identifier: MIT */
/* What the node-side tests (test-child.c, test-reap.c) share: a real Manager's per-child records
 * (child_attach, child_release) over a tree whose processes are pretend ones. */
#pragma once

#include <stdlib.h>
#include <string.h>

#include "manager-internal.h"
#include "strv.h"

/* A pretend process: the tree runs, nothing is started. */
static int fake_spawn(void *ud, Node *n, pid_t *ret_pid, bool *ret_ready) {
        static pid_t next = 4000000;
        *ret_pid = ++next;
        *ret_ready = true;
        return 0;
}
static void no_kill(void *ud, Node *n, int sig, bool group) {
}
static usec_t no_now(void *ud) {
        return 0;
}
static void no_event(void *ud, Node *n, TreeEvent ev) {
}
static void no_finished(void *ud, int status) {
}

/* The real per-child records (child_attach, child_release), no process. */
static const TreeOps ops = {
        .spawn = fake_spawn, .kill = no_kill, .set_timer = child_set_timer, .now = no_now,
        .event = no_event, .finished = no_finished, .attach = child_attach, .release = child_release,
};

typedef struct World {
        Manager m;
        Config *config;
        Tree *tree;
} World;

static int world_new(World *w, const char *ini) {
        memset(w, 0, sizeof *w);
        w->m.null_fd = -EBADF;
        w->m.control_path = (char *) "/tmp/fv-test-child/control.sock";
        w->m.base_env = strv_new_empty();
        if (!w->m.base_env || strv_push(&w->m.base_env, "PATH=/usr/bin:/bin") < 0 ||
            strv_push(&w->m.base_env, "A=base") < 0 || strv_push(&w->m.base_env, "HOME=/root") < 0)
                return -ENOMEM;
        int r = sd_event_new(&w->m.event);
        if (r >= 0)
                r = config_load_string(ini, "/tmp/fv-test-child.ini", &w->config, NULL);
        if (r >= 0)
                r = tree_new(w->config, &ops, &w->m, &w->tree);
        w->m.tree = w->tree;
        return r;
}

static void world_free(World *w) {
        tree_free(w->tree);
        config_free(w->config);
        strv_free(w->m.base_env);
        proc_index_done(&w->m.procs);
        sd_event_unref(w->m.event);
}


static Node *worker(World *w, const char *path) {
        return tree_find(w->tree, path);
}
