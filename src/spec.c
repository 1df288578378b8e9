/* SPDX-License-Identifier: MIT */
/* The spec tree's plain-data side: enum <-> string tables, %-expansion of a worker's argv,
 * lookups and destructors. No parsing here (that is config/, and its key tables). */
#include "spec.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "idmap.h"
#include "macro.h"
#include "strv.h"

static const char *const spec_kind_table[_SPEC_KIND_MAX] = {
        [SPEC_WORKER] = "worker",
        [SPEC_SUPERVISOR] = "supervisor",
};

static const char *const strategy_table[_STRATEGY_MAX] = {
        [STRATEGY_ONE_FOR_ONE] = "one_for_one",
        [STRATEGY_ONE_FOR_ALL] = "one_for_all",
        [STRATEGY_REST_FOR_ONE] = "rest_for_one",
        [STRATEGY_SIMPLE_ONE_FOR_ONE] = "simple_one_for_one",
};

static const char *const restart_type_table[_RESTART_TYPE_MAX] = {
        [RESTART_PERMANENT] = "permanent",
        [RESTART_TRANSIENT] = "transient",
        [RESTART_TEMPORARY] = "temporary",
};

static const char *const ready_mode_table[_READY_MODE_MAX] = {
        [READY_NONE] = "none",
        [READY_MAILBOX] = "mailbox",
        [READY_NOTIFY] = "notify",
        [READY_EXIT] = "exit",
        [READY_HEALTH] = "health",
};

static const char *const auto_shutdown_table[_AUTO_SHUTDOWN_MAX] = {
        [AUTO_SHUTDOWN_NEVER] = "never",
        [AUTO_SHUTDOWN_ANY_SIGNIFICANT] = "any_significant",
        [AUTO_SHUTDOWN_ALL_SIGNIFICANT] = "all_significant",
};

static const char *const output_mode_table[_OUTPUT_MODE_MAX] = {
        [OUTPUT_LOG] = "log",
        [OUTPUT_INHERIT] = "inherit",
        [OUTPUT_NULL] = "null",
        [OUTPUT_FILE] = "file",
};

static const char *const log_target_table[_LOG_TARGET_MAX] = {
        [LOG_TARGET_AUTO] = "auto",
        [LOG_TARGET_JOURNAL] = "journal",
        [LOG_TARGET_STDERR] = "stderr",
};

static const char *const exit_status_mode_table[_EXIT_STATUS_MODE_MAX] = {
        [EXIT_STATUS_NORMAL] = "normal",
        [EXIT_STATUS_SIGNIFICANT] = "significant",
};

static int table_lookup(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return (int) i;
        return -1;
}

#define DEFINE_STRING_TABLE(name, type, table)                                        \
        const char *name##_to_string(type v) {                                        \
                if ((int) v < 0 || (size_t) v >= ELEMENTSOF(table))                   \
                        return NULL;                                                  \
                return table[v];                                                      \
        }                                                                             \
        type name##_from_string(const char *s) {                                      \
                return (type) table_lookup(table, ELEMENTSOF(table), s);              \
        }

DEFINE_STRING_TABLE(strategy, Strategy, strategy_table)
DEFINE_STRING_TABLE(restart_type, RestartType, restart_type_table)
DEFINE_STRING_TABLE(ready_mode, ReadyMode, ready_mode_table)
DEFINE_STRING_TABLE(auto_shutdown, AutoShutdown, auto_shutdown_table)
DEFINE_STRING_TABLE(output_mode, OutputMode, output_mode_table)
DEFINE_STRING_TABLE(log_target, LogTarget, log_target_table)
DEFINE_STRING_TABLE(exit_status_mode, ExitStatusMode, exit_status_mode_table)

const char *spec_kind_to_string(SpecKind k) {
        if ((int) k < 0 || k >= _SPEC_KIND_MAX)
                return NULL;
        return spec_kind_table[k];
}

bool cluster_name_is_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        if (n < 1 || n > CLUSTER_NAME_MAX)
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_' || *p == '-'))
                        return false;
        return true;
}

static bool str_equal(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

bool cluster_config_equal(const ClusterConfig *a, const ClusterConfig *b) {
        size_t n = strv_length(a->nats);

        if (a->enabled != b->enabled || a->heartbeat_ms != b->heartbeat_ms || n != strv_length(b->nats))
                return false;
        for (size_t i = 0; i < n; i++)
                if (strcmp(a->nats[i], b->nats[i]) != 0)
                        return false;
        return str_equal(a->node, b->node) && str_equal(a->prefix, b->prefix) &&
               str_equal(a->credentials, b->credentials) && str_equal(a->tls_ca, b->tls_ca) &&
               str_equal(a->tls_cert, b->tls_cert) && str_equal(a->tls_key, b->tls_key);
}

bool spec_name_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n < 1 || n > SPEC_NAME_MAX)
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
                        return false;
        return true;
}

Spec *config_find(const Config *c, SpecKind kind, const char *name) {
        if (!c || !name)
                return NULL;
        for (size_t i = 0; i < c->n_sections; i++)
                if (c->sections[i]->kind == kind && strcmp(c->sections[i]->name, name) == 0)
                        return c->sections[i];
        return NULL;
}

/* Expands %i %n %% of word into out (NULL: only measures). The length, or -EINVAL for another
 * '%' (config/ refuses those; a hand-made Spec may not). */
static ssize_t expand_word(const char *word, const char *inst, const char *name, char *out) {
        size_t n = 0;
        for (const char *p = word; *p; p++) {
                const char *put = p;
                size_t len = 1;
                if (*p == '%') {
                        switch (p[1]) {
                        case 'i':
                                put = inst, len = strlen(inst);
                                break;
                        case 'n':
                                put = name, len = strlen(name);
                                break;
                        case '%':
                                break;
                        default:
                                return -EINVAL;
                        }
                        p++;
                }
                if (out)
                        memcpy(out + n, put, len);
                n += len;
        }
        if (out)
                out[n] = '\0';
        return (ssize_t) n;
}

int spec_expand_argv(const Spec *s, const char *name, int instance, char ***ret) {
        return spec_expand_command(s, s->argv, name, instance, ret);
}

int spec_expand_command(const Spec *s, char *const *words, const char *name, int instance, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        char inst[16] = "";

        assert(s);
        assert(ret);

        if (!words)
                return -EINVAL;
        if (!name)
                name = s->name;
        if (instance >= 0)
                snprintf(inst, sizeof(inst), "%d", instance);

        l = strv_new_empty();
        if (!l)
                return -ENOMEM;

        STRV_FOREACH(a, words) {
                /* Measured, then written into one allocation of its size: a word is kept for as
                 * long as the child runs, and a temporary stream buffer beside it would leave it
                 * stranded in the heap. */
                ssize_t len = expand_word(*a, inst, name, NULL);
                if (len < 0)
                        return -EINVAL;
                char *w = malloc((size_t) len + 1);
                if (!w)
                        return -ENOMEM;
                (void) expand_word(*a, inst, name, w);
                if (strv_consume(&l, w) < 0)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

static Spec *spec_free(Spec *s) {
        if (!s)
                return NULL;
        free(s->name);
        free(s->file);
        free(s->children); /* the array only: the children are borrowed */
        strv_free(s->argv);
        strv_free(s->pre_start);
        strv_free(s->post_stop);
        strv_free(s->health);
        free(s->normal_exit);
        free(s->register_name);
        free(s->register_global);
        strv_free(s->subscribe);
        free(s->user);
        free(s->group);
        free(s->groups);
        free(s->directory);
        strv_free(s->environment);
        strv_free(s->env_files);
        free(s->cpu_affinity);
        free(s->stdout_path);
        free(s->stderr_path);
        strv_free(s->listen);
        strv_free(s->listen_names);
        return mfree(s);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        if (c->packed_size > 0) {
                (void) munmap(c, c->packed_size);
                return NULL;
        }
        for (size_t i = 0; i < c->n_sections; i++)
                spec_free(c->sections[i]);
        free(c->sections);
        free(c->path);
        free(c->control);
        free(c->state_dir);
        free(c->metrics_file);
        strv_free(c->cluster.nats);
        free(c->cluster.node);
        free(c->cluster.prefix);
        free(c->cluster.credentials);
        free(c->cluster.tls_ca);
        free(c->cluster.tls_cert);
        free(c->cluster.tls_key);
        return mfree(c);
}

/* ---- config_pack(): one mapping -------------------------------------------------------------- */

/* A bump allocator over one mapping; with base NULL it only counts (the first of two passes). Every
 * pointer field of Spec and Config is copied here: a field added to them is added to spec_free()
 * and to pack_spec() together. */
typedef struct Packer {
        char *base;
        size_t used;
        IdMap specs;               /* old Spec * → new Spec *, for children, template_, root */
} Packer;

static void *pack_aligned(Packer *p, const void *src, size_t len, size_t align) {
        size_t at = (p->used + align - 1) & ~(align - 1);
        p->used = at + len;
        if (!p->base)
                return NULL;
        if (src && len)
                memcpy(p->base + at, src, len);
        return p->base + at;
}

static void *pack_bytes(Packer *p, const void *src, size_t len) {
        return pack_aligned(p, src, len, _Alignof(max_align_t));
}

static char *pack_string(Packer *p, const char *s) {
        return s ? pack_aligned(p, s, strlen(s) + 1, 1) : NULL;
}

static char **pack_strv(Packer *p, char *const *l) {
        if (!l)
                return NULL;
        size_t n = strv_length(l);
        char **copy = pack_bytes(p, NULL, (n + 1) * sizeof *copy);
        for (size_t i = 0; i < n; i++) {
                char *s = pack_string(p, l[i]);
                if (copy)
                        copy[i] = s;
        }
        if (copy)
                copy[n] = NULL;
        return copy;
}

static Spec *packed_spec(const Packer *p, const Spec *old) {
        return old && p->base ? idmap_get(&p->specs, (uint64_t) (uintptr_t) old) : NULL;
}

static void pack_spec(Packer *p, const Spec *old, Spec *s) {
        Spec scratch;
        if (!s)
                s = &scratch; /* counting: the copy is made and dropped */
        *s = *old;
        s->name = pack_string(p, old->name);
        s->file = pack_string(p, old->file);
        s->children = old->children ? pack_bytes(p, NULL, old->n_children * sizeof *s->children) : NULL;
        if (s->children)
                for (size_t i = 0; i < old->n_children; i++)
                        s->children[i] = packed_spec(p, old->children[i]);
        s->template_ = packed_spec(p, old->template_);
        s->argv = pack_strv(p, old->argv);
        s->pre_start = pack_strv(p, old->pre_start);
        s->post_stop = pack_strv(p, old->post_stop);
        s->health = pack_strv(p, old->health);
        s->normal_exit = old->normal_exit ? pack_bytes(p, old->normal_exit, old->n_normal_exit * sizeof(int)) : NULL;
        s->register_name = pack_string(p, old->register_name);
        s->register_global = pack_string(p, old->register_global);
        s->subscribe = pack_strv(p, old->subscribe);
        s->user = pack_string(p, old->user);
        s->group = pack_string(p, old->group);
        s->groups = old->groups ? pack_bytes(p, old->groups, old->n_groups * sizeof(gid_t)) : NULL;
        s->directory = pack_string(p, old->directory);
        s->environment = pack_strv(p, old->environment);
        s->env_files = pack_strv(p, old->env_files);
        s->cpu_affinity = old->cpu_affinity ? pack_bytes(p, old->cpu_affinity, old->n_cpu_affinity * sizeof(uint64_t))
                                            : NULL;
        s->stdout_path = pack_string(p, old->stdout_path);
        s->stderr_path = pack_string(p, old->stderr_path);
        s->listen = pack_strv(p, old->listen);
        s->listen_names = pack_strv(p, old->listen_names);
}

/* One pass: counts (p->base NULL) or copies. Returns the new Config (NULL when counting). */
static Config *pack_config(Packer *p, const Config *c) {
        Config *n = pack_bytes(p, c, sizeof *c);
        Spec **sections = pack_bytes(p, NULL, c->n_sections * sizeof *sections);
        Spec *specs = pack_bytes(p, NULL, c->n_sections * sizeof *specs);
        /* Every Spec has its place before any is copied: children may come before their parent. */
        for (size_t i = 0; p->base && i < c->n_sections; i++) {
                sections[i] = &specs[i];
                if (idmap_put(&p->specs, (uint64_t) (uintptr_t) c->sections[i], &specs[i]) < 0)
                        return NULL;
        }
        for (size_t i = 0; i < c->n_sections; i++)
                pack_spec(p, c->sections[i], specs ? &specs[i] : NULL);
        char *path = pack_string(p, c->path), *control = pack_string(p, c->control);
        char *state_dir = pack_string(p, c->state_dir);
        char *metrics_file = pack_string(p, c->metrics_file);
        ClusterConfig cl = c->cluster;
        cl.nats = pack_strv(p, c->cluster.nats);
        cl.node = pack_string(p, c->cluster.node);
        cl.prefix = pack_string(p, c->cluster.prefix);
        cl.credentials = pack_string(p, c->cluster.credentials);
        cl.tls_ca = pack_string(p, c->cluster.tls_ca);
        cl.tls_cert = pack_string(p, c->cluster.tls_cert);
        cl.tls_key = pack_string(p, c->cluster.tls_key);
        if (!n)
                return NULL;
        n->cluster = cl;
        n->path = path;
        n->control = control;
        n->state_dir = state_dir;
        n->metrics_file = metrics_file;
        n->sections = sections;
        n->root = packed_spec(p, c->root);
        return n;
}

int config_pack(const Config *c, Config **ret) {
        Packer p = {};
        (void) pack_config(&p, c);
        size_t size = p.used;
        p.base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p.base == MAP_FAILED)
                return -ENOMEM;
        p.used = 0;
        Config *n = pack_config(&p, c);
        idmap_done(&p.specs);
        if (!n) {
                (void) munmap(p.base, size);
                return -ENOMEM;
        }
        n->packed_size = size;
        *ret = n;
        return 0;
}
