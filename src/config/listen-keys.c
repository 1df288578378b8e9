/* SPDX-License-Identifier: MIT */
/* The keys of socket activation, as systemd's socket units have them: listen (ListenStream=,
 * ListenDatagram=), listen_name (FileDescriptorName=), listen_mode (SocketMode=) and
 * listen_accept (lazy: the worker starts at the first connection). Whether an address can be
 * bound is known only when the node binds it: that is a failed start, not a diagnostic. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listen-addr.h"
#include "parser.h"
#include "strv.h"
#include "values.h"

/* One more word of a list of at most LISTEN_MAX (listen, listen_name): what is over is said once,
 * and ends the line. */
static int push_bounded(FileState *fs, const KeyDef *k, char ***l, const char *w, const char *what) {
        if (strv_length(*l) >= LISTEN_MAX) {
                int r = fs_error(fs, "too many %s for %s: at most %d", what, k->name, LISTEN_MAX);
                return r == -ENOMEM ? r : -ENOSPC;
        }
        if (strv_push(l, w) < 0)
                return parser_oom(fs->p);
        return 0;
}

int keys_parse_listen(FileState *fs, const KeyDef *k, Spec *s, const char *w) {
        _cleanup_free_ char *addr = NULL;
        ListenAddr a;

        /* A relative unix path is the config file's directory's, as every path of the file. */
        if (strncmp(w, "unix:", 5) == 0 && w[5] && w[5] != '/' && w[5] != '@') {
                if (asprintf(&addr, "unix:%s/%s", fs->abs_dir, w + 5) < 0)
                        return parser_oom(fs->p);
        } else if (!(addr = strdup(w)))
                return parser_oom(fs->p);
        if (listen_addr_parse(addr, &a) < 0)
                return fs_error(fs, "bad value '%s' for %s: expected tcp:ADDR:PORT, udp:ADDR:PORT or unix:PATH "
                                "(ADDR an IPv4 address, [IPv6] or *; PORT 1-65535; PATH at most %zu bytes)",
                                w, k->name, sizeof a.u.un.sun_path - 1);
        if (strv_contains(s->listen, addr))
                return fs_error(fs, "duplicate address '%s' for %s", w, k->name);
        return push_bounded(fs, k, &s->listen, addr, "addresses");
}

int keys_parse_listen_name(FileState *fs, const KeyDef *k, Spec *s, const char *w) {
        if (!listen_name_is_valid(w))
                return fs_error(fs, "bad value '%s' for %s: expected 1-%d printable characters, no ':' or whitespace",
                                w, k->name, LISTEN_NAME_MAX);
        return push_bounded(fs, k, &s->listen_names, w, "names");
}

int keys_parse_listen_mode(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        if (parse_mode(v, 07777, &s->listen_mode) < 0)
                return fs_error(fs, "bad value '%s' for %s: expected an octal mode from 0 to 07777", v, k->name);
        return 0;
}

int keys_parse_listen_accept(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        if (strcmp(v, "eager") == 0)
                s->listen_lazy = false;
        else if (strcmp(v, "lazy") == 0)
                s->listen_lazy = true;
        else
                return fs_error(fs, "bad value '%s' for %s: expected eager or lazy", v, k->name);
        return 0;
}

/* The worker's listen keys agree with each other (finish_worker). */
void keys_check_listen(Parser *p, Spec *s, SectionInfo *info) {
        size_t n = strv_length(s->listen), names = strv_length(s->listen_names);
        static const char *const needs_listen[] = { "listen_name", "listen_mode", "listen_accept" };

        for (size_t i = 0; i < ELEMENTSOF(needs_listen); i++) {
                unsigned line = info->key_line[keys_index(needs_listen[i])];
                if (line && n == 0)
                        parser_error(p, s->file, line, "%s without listen: the worker has no socket", needs_listen[i]);
        }
        if (n > 0 && names > 1 && names != n)
                parser_error(p, s->file, info->key_line[keys_index("listen_name")],
                             "listen_name gives %zu names for %zu listen addresses: give one for all, or one for each",
                             names, n);
        if (!info->key_line[keys_index("listen_mode")])
                s->listen_mode = LISTEN_MODE_DEFAULT;
        if (s->listen_lazy && s->ready == READY_EXIT)
                parser_error(p, s->file, info->key_line[keys_index("listen_accept")],
                             "listen_accept = lazy does not apply to ready = exit (a one-shot is started by its supervisor)");
        /* A lazy worker is up while it waits: there is no start for its readiness to end. */
        if (s->listen_lazy && s->ready == READY_HEALTH)
                parser_error(p, s->file, info->key_line[keys_index("listen_accept")],
                             "listen_accept = lazy does not go with ready = health (a lazy worker counts as up while it waits)");
        /* Not yet: its pre_start would run when it begins to wait, not at the connection that
         * starts it, and a stop while it waits would run no post_stop. */
        if (s->listen_lazy && (s->pre_start || s->post_stop))
                parser_error(p, s->file, info->key_line[keys_index("listen_accept")],
                             "listen_accept = lazy does not go with %s yet", s->pre_start ? "pre_start" : "post_stop");
}

/* Across workers, once the tree is linked: an address is one worker's, and a template's
 * instances cannot all bind the one address it names. */
void keys_check_listen_tree(Parser *p) {
        Config *c = p->config;

        for (size_t i = 0; i < c->n_sections; i++) {
                Spec *s = c->sections[i];
                if (s->kind != SPEC_WORKER || !s->listen)
                        continue;
                if (p->info[i]->template_of) {
                        parser_error(p, s->file, p->info[i]->key_line[keys_index("listen")],
                                     "listen in [worker:%s], the template of '%s': its instances cannot all bind one address",
                                     s->name, p->info[i]->template_of->name);
                        continue;
                }
                for (size_t j = 0; j < i; j++) {
                        Spec *o = c->sections[j];
                        if (o->kind != SPEC_WORKER || !o->listen)
                                continue;
                        STRV_FOREACH(a, s->listen)
                                if (strv_contains(o->listen, *a))
                                        parser_error(p, s->file, p->info[i]->key_line[keys_index("listen")],
                                                     "listen = %s is already the address of [worker:%s] (%s:%u)",
                                                     *a, o->name, o->file, o->line);
                }
        }
}
