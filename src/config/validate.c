/* SPDX-License-Identifier: MIT */
/* Validation, once every file is read: each section on its own (required keys, keys that
 * contradict each other, accounts), then the tree as a whole (children and templates linked,
 * cycles, the root, sections nobody lists, registry names given twice). Every pass is linear
 * in the number of sections; only a did-you-mean for a name no section has, and none one edit
 * away from it, reads every name once more. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "parser.h"
#include "suggest.h"

static int resolve_credentials(Parser *p, Spec *s, SectionInfo *info) {
        _cleanup_free_ char *pw_name = NULL;
        int r, nss = 0;

        if (s->user) {
                r = accounts_user(s->user, &s->uid, &s->gid, &pw_name, &nss);
                if (r == -ENOMEM)
                        return parser_oom(p);
                if (r < 0)
                        return parser_error(p, s->file, info->key_line[keys_index("user")], "unknown user '%s'%s%s",
                                            s->user, nss ? ": " : "", nss ? strerror(nss) : "");
        }
        if (s->group) {
                r = accounts_group(s->group, &s->gid, &nss);
                if (r == -ENOMEM)
                        return parser_oom(p);
                if (r < 0)
                        return parser_error(p, s->file, info->key_line[keys_index("group")], "unknown group '%s'%s%s",
                                            s->group, nss ? ": " : "", nss ? strerror(nss) : "");
        }
        if (pw_name) {
                /* The supplementary groups are read now, so the spawn path (after fork) does no
                 * NSS lookup. They include s->gid itself. */
                r = accounts_groups(pw_name, s->gid, &s->groups, &s->n_groups);
                if (r == -ENOMEM)
                        return parser_oom(p);
                if (r < 0)
                        return parser_error(p, s->file, info->key_line[keys_index("user")],
                                            "cannot read the groups of user '%s'", s->user);
        }
        return 0;
}

static void finish_worker(Parser *p, Spec *s, SectionInfo *info) {
        unsigned max_line = info->key_line[keys_index("restart_delay_max")];

        if (!s->argv && !info->key_line[keys_index("exec")])
                parser_error(p, s->file, s->line, "missing required key 'exec' in [worker:%s]", s->name);
        if (!max_line)
                s->restart_delay_max_ms = s->restart_delay_ms;
        else if (s->restart_delay_max_ms < s->restart_delay_ms)
                parser_error(p, s->file, max_line, "restart_delay_max (%" PRIu64 ") is below restart_delay (%" PRIu64 ")",
                         s->restart_delay_max_ms, s->restart_delay_ms);
        /* Both count from the spawn, and one timer serves them in turn (tree.c): min_uptime, then
         * what is left of ready_timeout. A ready_timeout that ran out first would kill a worker
         * that may yet be ready in time, so the rule is said here rather than bent there. */
        if (s->min_uptime_ms > 0 && s->ready != READY_NONE && s->ready != READY_EXIT && s->min_uptime_ms >= s->ready_timeout_ms) {
                unsigned up_line = info->key_line[keys_index("min_uptime")];
                unsigned rt_line = info->key_line[keys_index("ready_timeout")];
                parser_error(p, s->file, up_line ?: s->line,
                         "min_uptime (%" PRIu64 " ms) must be below ready_timeout (%" PRIu64 " ms%s) with ready = %s",
                         s->min_uptime_ms, s->ready_timeout_ms, rt_line ? "" : ", its default",
                         ready_mode_to_string(s->ready));
        }
        /* A one-shot is done when it exits: there is no run to outlive min_uptime. */
        if (s->ready == READY_EXIT && s->min_uptime_ms > 0)
                parser_error(p, s->file, info->key_line[keys_index("min_uptime")] ?: s->line,
                         "min_uptime does not apply to ready = exit (a one-shot is done when it exits)");
        /* The pings come on the notify socket or the mailbox: a worker with neither could never
         * send one and would only ever be killed. */
        if (s->watchdog_ms > 0 && s->ready != READY_NOTIFY && s->ready != READY_MAILBOX)
                parser_error(p, s->file, info->key_line[keys_index("watchdog")],
                         "watchdog needs ready = notify or ready = mailbox (the keep-alives come that way), not ready = %s",
                         ready_mode_to_string(s->ready));
        if (info->key_line[keys_index("watchdog_signal")] && s->watchdog_ms == 0)
                parser_error(p, s->file, info->key_line[keys_index("watchdog_signal")],
                         "watchdog_signal without watchdog");
        /* A one-shot is done when it exits: there is nothing to check the health of. */
        if (s->ready == READY_EXIT && s->health)
                parser_error(p, s->file, info->key_line[keys_index("health")] ?: s->line,
                         "health does not apply to ready = exit (a one-shot is done when it exits)");
        /* ready = health waits for a check that must exist; the health_* keys tune one. */
        if (s->ready == READY_HEALTH && !s->health)
                parser_error(p, s->file, info->key_line[keys_index("ready")] ?: s->line,
                         "ready = health needs a health check (the key health)");
        /* The first check comes health_interval after the spawn: a ready_timeout that ends first
         * would fail every start. */
        if (s->ready == READY_HEALTH && s->health && s->health_interval_ms >= s->ready_timeout_ms) {
                unsigned rt_line = info->key_line[keys_index("ready_timeout")];
                parser_error(p, s->file, info->key_line[keys_index("health_interval")] ?: rt_line ?: s->line,
                         "health_interval (%" PRIu64 " ms%s) must be below ready_timeout (%" PRIu64 " ms%s) "
                         "with ready = health: the first check comes health_interval after the start",
                         s->health_interval_ms, info->key_line[keys_index("health_interval")] ? "" : ", its default",
                         s->ready_timeout_ms, rt_line ? "" : ", its default");
        }
        if (!s->health)
                for (size_t i = 0; i < 4; i++) {
                        static const char *const keys[] = { "health_interval", "health_timeout", "health_retries",
                                                            "health_start_period" };
                        unsigned line = info->key_line[keys_index(keys[i])];
                        if (line)
                                parser_error(p, s->file, line, "%s without health: there is no check to tune", keys[i]);
                }
        if (info->key_line[keys_index("normal_exit")] && s->n_normal_exit == 0)
                parser_error(p, s->file, info->key_line[keys_index("normal_exit")],
                         "normal_exit needs at least one exit code");
        for (size_t i = 0; i < 2; i++) {
                const char *key = i == 0 ? "log_max_bytes" : "log_backups";
                unsigned line = info->key_line[keys_index(key)];
                if (!line)
                        continue;
                if (s->stdout_mode != OUTPUT_FILE && s->stderr_mode != OUTPUT_FILE)
                        parser_error(p, s->file, line, "%s needs a file: output to rotate (stdout or stderr = file:PATH)", key);
                else if (i == 1 && !info->key_line[keys_index("log_max_bytes")])
                        parser_error(p, s->file, line, "log_backups without log_max_bytes: nothing is rotated");
        }
        keys_check_listen(p, s, info);
        (void) resolve_credentials(p, s, info);
}

static void finish_supervisor(Parser *p, Spec *s, SectionInfo *info) {
        static const char *const only_s1f1[] = { "template", "instances", "max_children" };
        bool s1f1 = s->strategy == STRATEGY_SIMPLE_ONE_FOR_ONE;

        if (s1f1) {
                if (!info->template_name && !info->key_line[keys_index("template")])
                        parser_error(p, s->file, s->line, "simple_one_for_one supervisor '%s' needs a template", s->name);
                if (info->n_children > 0)
                        parser_error(p, s->file, info->key_line[keys_index("children")],
                                 "children is not allowed with simple_one_for_one: its children are made from the template");
                if (s->max_children > 0 && s->instances > s->max_children)
                        parser_error(p, s->file, info->key_line[keys_index("instances")],
                                 "instances (%u) is above max_children (%u)", s->instances, s->max_children);
        } else
                for (size_t i = 0; i < ELEMENTSOF(only_s1f1); i++) {
                        unsigned l = info->key_line[keys_index(only_s1f1[i])];
                        if (l)
                                parser_error(p, s->file, l, "%s is only allowed with strategy = simple_one_for_one",
                                         only_s1f1[i]);
                }
}

/* Names of the sections of a list, for did-you-mean: built at the first undefined name and kept
 * for the next (the sections are all known by now), so a thousand mistakes cost no thousand
 * copies. */
static const char *const *section_names(Parser *p, NameList which, size_t *ret_n) {
        const Config *c = p->config;
        const char **v;
        size_t n = 0;

        if (p->names[which]) {
                *ret_n = p->n_names[which];
                return p->names[which];
        }
        v = calloc(c->n_sections + 1, sizeof(char *));
        if (!v)
                return NULL;
        for (size_t i = 0; i < c->n_sections; i++)
                if (which == NAMES_ANY || (c->sections[i]->kind == SPEC_WORKER) == (which == NAMES_WORKERS))
                        v[n++] = c->sections[i]->name;
        p->names[which] = v;
        *ret_n = p->n_names[which] = n;
        return v;
}

static void consider(Parser *p, const char *candidate, NameList which, size_t *best) {
        SectionInfo *info = strindex_get(&p->by_name, candidate);

        if (info && info->index < *best &&
            (which == NAMES_ANY || (info->spec->kind == SPEC_WORKER) == (which == NAMES_WORKERS)))
                *best = info->index;
}

/* The first section of the list (in file order) one edit away from NAME: a character deleted,
 * replaced or inserted, or two neighbours swapped, each looked up in the index. That is what
 * suggest() answers whenever there is one: NAME and the names are lowercase, so none is zero
 * edits away, one edit is within every threshold, and suggest() takes the first of the
 * closest. A few thousand lookups instead of a pass over every name: a configuration with a
 * mistake in each of thousands of names costs no time squared. */
static const char *one_edit_away(Parser *p, const char *name, NameList which) {
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789_-";
        size_t len = strlen(name), best = SIZE_MAX;
        char buf[SPEC_NAME_MAX + 2];

        if (len > SPEC_NAME_MAX)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                memcpy(buf, name, i);
                memcpy(buf + i, name + i + 1, len - i); /* deleted, with the NUL */
                consider(p, buf, which, &best);
        }
        for (size_t i = 0; i + 1 < len; i++)
                if (name[i] != name[i + 1]) {
                        memcpy(buf, name, len + 1);
                        buf[i] = name[i + 1];
                        buf[i + 1] = name[i];
                        consider(p, buf, which, &best);
                }
        for (size_t i = 0; i <= len; i++)
                for (const char *c = alphabet; *c; c++) {
                        if (i < len && *c != name[i]) {
                                memcpy(buf, name, len + 1);
                                buf[i] = *c;
                                consider(p, buf, which, &best);
                        }
                        memcpy(buf, name, i);
                        buf[i] = *c;
                        memcpy(buf + i + 1, name + i, len - i + 1);
                        consider(p, buf, which, &best);
                }
        return best == SIZE_MAX ? NULL : p->config->sections[best]->name;
}

static void undefined(Parser *p, const char *file, unsigned line, const char *what, const char *name,
                      NameList which) {
        const char *sg = one_edit_away(p, name, which);

        if (!sg) {
                const char *const *names;
                size_t n = 0;

                names = section_names(p, which, &n);
                if (!names) {
                        parser_oom(p);
                        return;
                }
                sg = suggest(name, names, n);
        }
        if (sg)
                parser_error(p, file, line, "%sundefined section '%s', did you mean '%s'?", what, name, sg);
        else
                parser_error(p, file, line, "%sundefined section '%s'", what, name);
}

static void link_tree(Parser *p) {
        Config *c = p->config;

        /* Templates first, so that a template listed as a child is reported as such. */
        for (size_t i = 0; i < c->n_sections; i++) {
                Spec *s = c->sections[i], *t;
                SectionInfo *info = p->info[i];
                unsigned line = info->key_line[keys_index("template")];
                size_t ti;

                if (s->kind != SPEC_SUPERVISOR || !info->template_name)
                        continue;
                t = section_find(p, info->template_name, &ti);
                if (!t) {
                        undefined(p, s->file, line, "template: ", info->template_name, NAMES_WORKERS);
                        continue;
                }
                if (t->kind != SPEC_WORKER) {
                        parser_error(p, s->file, line, "template '%s' is a supervisor: a template must be a [worker:NAME] section",
                                 t->name);
                        continue;
                }
                s->template_ = t;
                if (!p->info[ti]->template_of)
                        p->info[ti]->template_of = s;
        }

        for (size_t i = 0; i < c->n_sections; i++) {
                Spec *s = c->sections[i];
                SectionInfo *info = p->info[i];
                size_t n = info->n_children;

                if (s->kind != SPEC_SUPERVISOR || n == 0)
                        continue;
                s->children = calloc(n, sizeof(Spec *));
                if (!s->children) {
                        parser_oom(p);
                        return;
                }
                for (size_t j = 0; j < n; j++) {
                        const char *name = info->children[j].name;
                        unsigned line = info->children[j].line;
                        SectionInfo *ci;
                        Spec *ch;
                        size_t k;

                        ch = section_find(p, name, &k);
                        if (!ch) {
                                undefined(p, s->file, line, "", name, NAMES_ANY);
                                continue;
                        }
                        ci = p->info[k];
                        if (ch == s) {
                                parser_error(p, s->file, line, "cycle: supervisor '%s' lists itself as a child", s->name);
                                continue;
                        }
                        if (ci->template_of) {
                                parser_error(p, s->file, line,
                                         "'%s' is the template of supervisor '%s' and cannot also be a child",
                                         name, ci->template_of->name);
                                continue;
                        }
                        if (ci->parent) {
                                parser_error(p, s->file, line, "'%s' is listed under two supervisors: '%s' (%s:%u) and '%s'",
                                         name, ci->parent->spec->name, ci->parent->spec->file, ci->parent_line, s->name);
                                continue;
                        }
                        ci->parent = info;
                        ci->parent_line = line;
                        s->children[s->n_children++] = ch;
                }
        }
}

/* Each section has at most one parent, so a cycle is a loop of parent links. One walk up from
 * each section, stopping at any section an earlier walk went through, finds every cycle and
 * sees each section once (walking up to the root from each would be quadratic in a deep tree). */
static void find_cycles(Parser *p) {
        Config *c = p->config;

        for (size_t i = 0; i < c->n_sections; i++) {
                SectionInfo *x;

                for (x = p->info[i]; x && !x->walk; x = x->parent)
                        x->walk = i + 1;
                if (x && x->walk == i + 1) /* back at a section of this walk: x is on a cycle */
                        for (; !x->in_cycle; x = x->parent)
                                x->in_cycle = true;
        }

        /* Each cycle reported once, starting at its first section in file order, at the
         * `children` line that closes it: a <- b <- a. */
        for (size_t i = 0; i < c->n_sections; i++) {
                SectionInfo *info = p->info[i], *x;
                char *buf = NULL;
                size_t size = 0;
                FILE *f;

                if (!info->in_cycle)
                        continue;
                f = open_memstream(&buf, &size);
                if (!f) {
                        parser_oom(p);
                        return;
                }
                fputs(info->spec->name, f);
                x = info;
                do {
                        x->in_cycle = false; /* reported */
                        x = x->parent;
                        fprintf(f, " <- %s", x->spec->name);
                } while (x != info);
                if (fclose(f) != 0 || !buf) {
                        free(buf);
                        parser_oom(p);
                        return;
                }
                parser_error(p, info->parent->spec->file, info->parent_line, "cycle: %s (each is a child of the next)", buf);
                free(buf);
        }
}

static void find_root(Parser *p) {
        Config *c = p->config;
        const char *file = p->fv_file ?: p->files[0].path;
        unsigned line = p->fv_file ? p->fv_line : 1;
        size_t n_sup = 0, n_cand = 0;
        Spec *cand = NULL;

        if (p->root) {
                size_t k;
                Spec *r = section_find(p, p->root, &k);

                if (!r) {
                        undefined(p, p->root_file, p->root_line, "root: ", p->root, NAMES_SUPERVISORS);
                        return;
                }
                if (r->kind != SPEC_SUPERVISOR) {
                        parser_error(p, p->root_file, p->root_line, "root '%s' is a worker: the root must be a supervisor",
                                 r->name);
                        return;
                }
                if (p->info[k]->parent) {
                        parser_error(p, p->root_file, p->root_line, "root '%s' is a child of supervisor '%s' (%s:%u)",
                                 r->name, p->info[k]->parent->spec->name, p->info[k]->parent->spec->file,
                                 p->info[k]->parent_line);
                        return;
                }
                c->root = r;
                return;
        }

        for (size_t i = 0; i < c->n_sections; i++) {
                if (c->sections[i]->kind != SPEC_SUPERVISOR)
                        continue;
                n_sup++;
                if (!p->info[i]->parent && !cand)
                        cand = c->sections[i];
                if (!p->info[i]->parent)
                        n_cand++;
        }
        if (n_sup == 0) {
                parser_error(p, file, line, "no [supervisor:NAME] section: the tree needs a root supervisor");
                return;
        }
        if (n_cand == 1) {
                c->root = cand;
                return;
        }
        if (n_cand == 0) {
                /* Every supervisor has a parent: the cycles were reported already. */
                parser_error(p, file, line, "no root supervisor: every supervisor is listed as a child");
                return;
        }

        /* Several candidates: one message, at the second one, naming them all. */
        {
                char *buf = NULL;
                size_t size = 0, seen = 0;
                FILE *f = open_memstream(&buf, &size);
                Spec *second = NULL;

                if (!f) {
                        parser_oom(p);
                        return;
                }
                for (size_t i = 0; i < c->n_sections; i++)
                        if (c->sections[i]->kind == SPEC_SUPERVISOR && !p->info[i]->parent) {
                                fprintf(f, "%s'%s'", seen ? ", " : "", c->sections[i]->name);
                                if (++seen == 2)
                                        second = c->sections[i];
                        }
                if (fclose(f) != 0 || !buf) {
                        free(buf);
                        parser_oom(p);
                        return;
                }
                parser_error(p, second->file, second->line,
                         "several supervisors are nobody's child (%s): list them under one root, or set root = in [forkvisor]",
                         buf);
                free(buf);
        }
}

static void find_orphans(Parser *p) {
        Config *c = p->config;

        for (size_t i = 0; i < c->n_sections; i++) {
                Spec *s = c->sections[i];
                SectionInfo *info = p->info[i];

                if (s == c->root || info->parent || info->template_of)
                        continue;
                if (s->kind == SPEC_SUPERVISOR && !c->root && !p->root)
                        continue; /* reported by find_root() as a root candidate */
                if (s->kind == SPEC_WORKER)
                        parser_error(p, s->file, s->line, "worker '%s' is not listed in the children of any supervisor", s->name);
                else
                        parser_error(p, s->file, s->line,
                                 "supervisor '%s' is not listed in the children of any supervisor (the root is '%s')",
                                 s->name, c->root ? c->root->name : p->root);
        }
}

/* Two workers configured with one unique registry name: the second could never start. */
static void find_duplicate_names(Parser *p) {
        Config *c = p->config;
        StrIndex first = {}; /* registry name → the first worker configured with it */

        for (size_t i = 0; i < c->n_sections; i++) {
                Spec *s = c->sections[i], *o;
                if (s->kind != SPEC_WORKER || !s->register_name || s->register_name[0] == '+' || p->info[i]->template_of)
                        continue;
                o = strindex_get(&first, s->register_name);
                if (o)
                        parser_error(p, s->file, s->line,
                                 "registry name '%s' is already the name of [worker:%s] (%s:%u); use register = +%s for a name shared by several",
                                 s->register_name, o->name, o->file, o->line, s->register_name);
                else if (strindex_put(&first, s->register_name, s) < 0) {
                        parser_oom(p);
                        break;
                }
        }
        strindex_done(&first);
}

/* [cluster]: servers to connect to, and a client certificate with its key. */
static void validate_cluster(Parser *p) {
        ClusterConfig *c = &p->config->cluster;
        size_t cert = keys_index("tls_cert"), key = keys_index("tls_key");

        if (!c->enabled)
                return;
        if (!c->nats && !p->fv_key_line[keys_index("nats")])
                parser_error(p, p->cluster_file, p->cluster_line, "missing required key 'nats' in [cluster]");
        if (p->fv_key_line[cert] && !p->fv_key_line[key])
                parser_error(p, p->fv_key_file[cert], p->fv_key_line[cert], "tls_cert needs tls_key (its private key)");
        if (p->fv_key_line[key] && !p->fv_key_line[cert])
                parser_error(p, p->fv_key_file[key], p->fv_key_line[key], "tls_key needs tls_cert (its certificate)");
        if (!c->heartbeat_ms)
                c->heartbeat_ms = CLUSTER_HEARTBEAT_DEFAULT_MS;
}

void validate(Parser *p) {
        Config *c = p->config;

        validate_cluster(p);

        for (size_t i = 0; i < c->n_sections && !p->oom; i++) {
                Spec *s = c->sections[i];
                SectionInfo *info = p->info[i];

                s->hash = info->hash;
                if (s->significant && s->restart == RESTART_PERMANENT)
                        parser_error(p, s->file, info->key_line[keys_index("significant")],
                                 "significant = yes needs restart = transient or temporary: a permanent child is always restarted");
                /* A global name lives in the cluster's name store: without one it means nothing. */
                if (s->register_global && !c->cluster.enabled)
                        parser_error(p, s->file, info->key_line[keys_index("register_global")],
                                 "register_global = %s needs a [cluster] section (forkvisor-cluster(7))",
                                 s->register_global);
                if (s->kind == SPEC_WORKER)
                        finish_worker(p, s, info);
                else
                        finish_supervisor(p, s, info);
        }
        if (p->oom)
                return;
        link_tree(p);
        if (p->oom)
                return;
        find_cycles(p);
        find_root(p);
        find_orphans(p);
        find_duplicate_names(p);
        keys_check_listen_tree(p);
}
