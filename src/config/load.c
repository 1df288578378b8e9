/* SPDX-License-Identifier: MIT */
/* Loading a configuration: the entry points of config.h, the parser's life, and the
 * diagnostics every other file of config/ adds to. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "parser.h"

int parser_error(Parser *p, const char *file, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        char *full = NULL;
        va_list ap;
        int r;

        p->n_errors++;
        if (!p->diag)
                return -EINVAL;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                msg = NULL;
                return parser_oom(p);
        }
        if (asprintf(&full, "%s:%u: %s", file, line, msg) < 0)
                return parser_oom(p);
        /* The caller's lines come first; what we grow, we know the room of. */
        if (p->diag_cap < p->diag->n)
                p->diag_cap = p->diag->n;
        if (ARRAY_GROW(p->diag->lines, p->diag_cap, p->diag->n + 1) < 0) {
                free(full);
                return parser_oom(p);
        }
        p->diag->lines[p->diag->n++] = full;
        return -EINVAL;
}

int parser_oom(Parser *p) {
        p->oom = true;
        return -ENOMEM;
}

void diagnostics_done(Diagnostics *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++)
                free(d->lines[i]);
        d->lines = mfree(d->lines);
        d->n = 0;
}

static void parser_done(Parser *p) {
        strindex_done(&p->by_name);
        strindex_done(&p->listed_by);
        for (size_t i = 0; i < p->n_info; i++) {
                SectionInfo *info = p->info[i];

                for (size_t j = 0; j < info->n_children; j++)
                        free(info->children[j].name);
                free(info->children);
                free(info->template_name);
                free(info);
        }
        free(p->info);
        for (size_t i = 0; i < _NAMES_MAX; i++)
                free(p->names[i]);
        free(p->root);
        for (size_t i = 0; i < p->n_files; i++)
                free(p->files[i].path);
        free(p->files);
        config_free(p->config);
}

static int load(const char *name, const char *data, size_t size, const struct stat *st, unsigned flags,
                Config **ret, Diagnostics *diag) {
        Parser p = { .diag = diag, .flags = flags };
        int r;

        p.config = calloc(1, sizeof(Config));
        if (!p.config)
                return -ENOMEM;
        p.config->path = strdup(name);
        p.config->log = LOG_TARGET_AUTO;
        p.config->subreaper = -1;
        p.config->log_timestamps = -1;
        p.config->registry_size = 4096;
        /* The main file is "seen" too, so including it is a cycle. */
        if (!p.config->path || files_add(&p, name, st) < 0) {
                parser_done(&p);
                return -ENOMEM;
        }

        r = files_parse(&p, 0, data, size);
        p.files[0].reading = false;
        if (r >= 0 && !p.oom)
                validate(&p);

        if (p.oom) {
                parser_done(&p);
                return -ENOMEM;
        }
        if (p.n_errors > 0) {
                parser_done(&p);
                return -EINVAL;
        }
        /* What runs is one block; what parsing made is all freed here, at once. */
        r = ret ? config_pack(p.config, ret) : 0;
        parser_done(&p);
        return r;
}

int config_load_string_flags(const char *text, const char *name, unsigned flags, Config **ret,
                             Diagnostics *diag) {
        struct stat st;

        assert(text);
        if (!name)
                name = "<string>";
        return load(name, text, strlen(text), stat(name, &st) >= 0 ? &st : NULL, flags, ret, diag);
}

int config_load_string(const char *text, const char *name, Config **ret, Diagnostics *diag) {
        return config_load_string_flags(text, name, 0, ret, diag);
}

int config_load(const char *path, Config **ret, Diagnostics *diag) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        struct stat st;
        size_t size;
        int r;

        assert(path);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode))
                r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        else
                r = files_read_all(fd, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                Parser p = { .diag = diag };
                parser_error(&p, path, 0, "cannot read '%s': %s", path,
                             r == -EFBIG ? "file too large" : r == -EINVAL ? "not a regular file" : strerror(-r));
                return p.oom ? -ENOMEM : -EINVAL;
        }
        return load(path, data, size, &st, 0, ret, diag);
}
