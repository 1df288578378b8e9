/* SPDX-License-Identifier: MIT */
/* Section headers: [forkvisor], [supervisor:NAME] and [worker:NAME]. A named section becomes a
 * Spec with every default of its kind (SPEC 3.2, 3.3) and the parse-time facts beside it
 * (SectionInfo), found by name through an index. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "parser.h"
#include "strv.h"
#include "suggest.h"


/* FNV-1a, 64 bits. Each field ends with a NUL byte so "ab"+"c" differs from "a"+"bc". */
static uint64_t fnv1a(uint64_t h, const char *s) {
        for (;; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(0x100000001b3);
                if (!*s)
                        return h;
        }
}

Spec *section_find(Parser *p, const char *name, size_t *ret_index) {
        SectionInfo *info = strindex_get(&p->by_name, name);
        if (!info)
                return NULL;
        if (ret_index)
                *ret_index = info->index;
        return info->spec;
}

static int section_new(FileState *fs, SpecKind kind, const char *name) {
        Parser *p = fs->p;
        Config *c = p->config;
        SectionInfo *info;
        Spec *s;

        if (ARRAY_GROW(c->sections, p->cap_sections, c->n_sections + 1) < 0 ||
            ARRAY_GROW(p->info, p->cap_info, p->n_info + 1) < 0)
                return parser_oom(p);
        s = calloc(1, sizeof(Spec));
        info = calloc(1, sizeof(SectionInfo));
        if (!s || !info) {
                free(s);
                free(info);
                return parser_oom(p);
        }
        /* Both owned from here on, by the config and the parser. */
        info->index = c->n_sections;
        c->sections[c->n_sections++] = s;
        p->info[p->n_info++] = info;

        s->kind = kind;
        s->name = strdup(name);
        s->file = strdup(fs->path);
        s->line = fs->line;
        s->restart = RESTART_PERMANENT;
        s->shutdown_ms = kind == SPEC_WORKER ? 5000 : SHUTDOWN_INFINITY;
        s->strategy = STRATEGY_ONE_FOR_ONE;
        s->intensity = 1;
        s->period_ms = 5000;
        s->auto_shutdown = AUTO_SHUTDOWN_NEVER;
        s->uid = (uid_t) -1;
        s->gid = (gid_t) -1;
        s->umask = -1;
        s->stdout_mode = s->stderr_mode = OUTPUT_LOG;
        if (!s->name || !s->file)
                return parser_oom(p);
        info->spec = s;
        if (strindex_put(&p->by_name, s->name, info) < 0)
                return parser_oom(p);
        if (kind == SPEC_WORKER) {
                s->stop_signal = SIGTERM;
                s->watchdog_signal = SIGABRT; /* as systemd's WatchdogSignal= */
                s->normal_exit = calloc(1, sizeof(int));
                s->n_normal_exit = 1;
                s->ready = READY_NONE;
                s->ready_timeout_ms = 10000;
                s->health_interval_ms = 30000; /* Docker's HEALTHCHECK defaults */
                s->health_timeout_ms = 30000;
                s->health_retries = 3;
                s->register_name = strdup(name);
                s->register_is_default = true;
                s->subscribe = strv_new_empty();
                s->mailbox_limit = 1024;
                s->directory = strdup(fs->abs_dir);
                s->environment = strv_new_empty();
                s->kill_group = true;
                s->log_backups = 10;
                if (!s->normal_exit || !s->register_name || !s->subscribe || !s->directory || !s->environment)
                        return parser_oom(p);
        }

        info->hash = fnv1a(fnv1a(UINT64_C(0xcbf29ce484222325), spec_kind_to_string(kind)), fs->abs_dir);
        fs->cur = CUR_SPEC;
        fs->spec = s;
        fs->info = info;
        return 0;
}

/* [forkvisor] and [cluster]: no name, once per file; the first header of all files is kept for
 * the errors that concern the section as a whole. */
static int unnamed_begin(FileState *fs, const char *kind, const char *colon, unsigned *in_file,
                         const char **first_file, unsigned *first_line, Current cur) {
        if (colon)
                return fs_error(fs, "[%s] takes no name: write [%s]", kind, kind);
        if (*in_file)
                return fs_error(fs, "duplicate section [%s] (first defined at %s:%u)", kind, fs->path, *in_file);
        *in_file = fs->line;
        if (!*first_file) {
                *first_file = fs->path;
                *first_line = fs->line;
        }
        fs->cur = cur;
        return 0;
}

int section_begin(FileState *fs, const char *text) {
        static const char *const kinds[] = { "forkvisor", "supervisor", "worker", "cluster" };
        _cleanup_free_ char *kind = NULL;
        const char *colon = strchr(text, ':'), *name = colon ? colon + 1 : NULL;
        Parser *p = fs->p;
        Spec *other;
        SpecKind k;

        fs->cur = CUR_SKIP;
        fs->spec = NULL;
        fs->info = NULL;

        kind = strndup(text, colon ? (size_t) (colon - text) : strlen(text));
        if (!kind)
                return parser_oom(p);

        if (strcmp(kind, "forkvisor") == 0)
                return unnamed_begin(fs, kind, colon, &fs->forkvisor_line, &p->fv_file, &p->fv_line, CUR_FORKVISOR);
        if (strcmp(kind, "cluster") == 0) {
                p->config->cluster.enabled = true;
                return unnamed_begin(fs, kind, colon, &fs->cluster_line, &p->cluster_file, &p->cluster_line, CUR_CLUSTER);
        }
        if (strcmp(kind, "supervisor") == 0)
                k = SPEC_SUPERVISOR;
        else if (strcmp(kind, "worker") == 0)
                k = SPEC_WORKER;
        else {
                const char *sg = suggest(kind, kinds, ELEMENTSOF(kinds));
                if (sg)
                        return fs_error(fs, "unknown section kind '%s', did you mean '%s'?", kind, sg);
                return fs_error(fs, "unknown section kind '%s': expected [forkvisor], [supervisor:NAME], [worker:NAME] or [cluster]",
                                kind);
        }
        if (!name)
                return fs_error(fs, "section [%s] needs a name: write [%s:NAME]", kind, kind);
        if (!spec_name_is_valid(name))
                return fs_error(fs, "bad section name '%s': names are 1-%d characters of a-z, 0-9, '_' and '-'",
                                name, SPEC_NAME_MAX);
        other = section_find(p, name, NULL);
        if (other)
                return fs_error(fs, "duplicate section name '%s' (first defined as [%s:%s] at %s:%u)", name,
                                spec_kind_to_string(other->kind), other->name, other->file, other->line);
        return section_new(fs, k, name);
}


const char *section_display(FileState *fs, char *buf, size_t size) {
        if (fs->cur == CUR_FORKVISOR)
                return "[forkvisor]";
        if (fs->cur == CUR_CLUSTER)
                return "[cluster]";
        snprintf(buf, size, "[%s:%s]", spec_kind_to_string(fs->spec->kind), fs->spec->name);
        return buf;
}

void section_hash_add(SectionInfo *info, const char *key, const char *value) {
        info->hash = fnv1a(fnv1a(info->hash, key), value);
}
