/* SPDX-License-Identifier: MIT */
/* Files and includes: a file read whole (bounded), then parsed, then the files its `include`
 * patterns name, in order, each once; a cycle or a second inclusion of a file is an error. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "parser.h"
#include "read-full.h"

#define CONFIG_FILE_SIZE_MAX (4u * 1024u * 1024u)
#define INCLUDE_FILES_MAX 256

int files_read_all(int fd, char **ret, size_t *ret_size) {
        return read_full_fd(fd, CONFIG_FILE_SIZE_MAX, ret, ret_size);
}

static char *dir_of(const char *path) {
        const char *slash = strrchr(path, '/');

        if (!slash)
                return strdup(".");
        if (slash == path)
                return strdup("/");
        return strndup(path, (size_t) (slash - path));
}

static char *abs_dir_of(const char *path) {
        _cleanup_free_ char *d = dir_of(path), *cwd = NULL;
        char *r;

        if (!d)
                return NULL;
        if (d[0] == '/')
                return TAKE_PTR(d);
        cwd = getcwd(NULL, 0);
        if (!cwd)
                cwd = strdup("/"); /* cannot happen in practice; a path is better than none */
        if (!cwd)
                return NULL;
        if (strcmp(d, ".") == 0)
                return TAKE_PTR(cwd);
        if (asprintf(&r, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, d) < 0)
                return NULL;
        return r;
}

int files_add(Parser *p, const char *path, const struct stat *st) {
        char *copy;

        if (ARRAY_GROW(p->files, p->cap_files, p->n_files + 1) < 0)
                return parser_oom(p);
        copy = strdup(path);
        if (!copy)
                return parser_oom(p);
        /* A string that names no file has an identity nothing can match. */
        p->files[p->n_files++] = (ConfigFile) {
                .path = copy,
                .dev = st ? st->st_dev : (dev_t) -1,
                .ino = st ? st->st_ino : 0,
                .reading = true,
        };
        return 0;
}

static int include_file(FileState *fs, const char *path, unsigned line) {
        Parser *p = fs->p;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        size_t size, n;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0)
                return parser_error(p, fs->path, line, "cannot read include '%s': %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return parser_error(p, fs->path, line, "cannot read include '%s': not a regular file", path);
        for (size_t i = 0; i < p->n_files; i++)
                if (p->files[i].dev == st.st_dev && p->files[i].ino == st.st_ino) {
                        if (i == fs->file_index)
                                return parser_error(p, fs->path, line, "include cycle: '%s' includes itself", path);
                        if (p->files[i].reading)
                                return parser_error(p, fs->path, line, "include cycle: '%s' is already being read", path);
                        return parser_error(p, fs->path, line, "'%s' is included twice (first as '%s')", path,
                                            p->files[i].path);
                }
        if (p->n_files >= INCLUDE_FILES_MAX)
                return parser_error(p, fs->path, line, "too many included files (max %d)", INCLUDE_FILES_MAX);

        r = files_read_all(fd, &data, &size);
        if (r == -ENOMEM)
                return parser_oom(p);
        if (r < 0)
                return parser_error(p, fs->path, line, "cannot read include '%s': %s", path,
                                    r == -EFBIG ? "file too large" : strerror(-r));

        n = p->n_files;
        r = files_add(p, path, &st);
        if (r < 0)
                return r;
        r = files_parse(p, n, data, size);
        p->files[n].reading = false;
        return r;
}

static int glob_errfunc(const char *epath, int eerrno) {
        return 0; /* unreadable directories are reported as unreadable files, if matched */
}

static int include_pattern(FileState *fs, const char *pattern, unsigned line) {
        _cleanup_free_ char *full = NULL;
        glob_t g = {};
        int r;

        if (fs->p->flags & CONFIG_LOAD_NO_INCLUDE)
                return 0;
        if (pattern[0] == '/')
                full = strdup(pattern);
        else if (strcmp(fs->dir, ".") == 0)
                full = strdup(pattern);
        else if (asprintf(&full, "%s/%s", fs->dir, pattern) < 0)
                full = NULL;
        if (!full)
                return parser_oom(fs->p);

        /* A pattern with no wildcard names one file, which must exist; a wildcard may match
         * nothing (an empty conf.d is fine). */
        if (!strpbrk(pattern, "*?["))
                return include_file(fs, full, line);

        r = glob(full, 0, glob_errfunc, &g); /* sorted, as SPEC 3.1 promises an order */
        if (r == GLOB_NOSPACE) {
                globfree(&g);
                return parser_oom(fs->p);
        }
        if (r != 0) {
                globfree(&g);
                return r == GLOB_NOMATCH ? 0 : parser_error(fs->p, fs->path, line, "cannot read include '%s'", pattern);
        }
        r = 0;
        for (size_t i = 0; i < g.gl_pathc; i++) {
                int q = include_file(fs, g.gl_pathv[i], line);
                if (q == -ENOMEM) {
                        r = q;
                        break;
                }
        }
        globfree(&g);
        return r;
}

int files_parse(Parser *p, size_t file_index, const char *data, size_t size) {
        const char *path = p->files[file_index].path;
        FileState fs = {
                .p = p,
                .path = path,
                .file_index = file_index,
                .data = data,
                .size = size,
        };
        int ret = 0;

        fs.dir = dir_of(path);
        fs.abs_dir = abs_dir_of(path);
        if (!fs.dir || !fs.abs_dir) {
                ret = parser_oom(p);
                goto finish;
        }

        ret = ini_reader_run(&fs);
        for (size_t i = 0; i < fs.n_includes && !p->oom; i++)
                include_pattern(&fs, fs.includes[i].pattern, fs.includes[i].line);

finish:
        free(fs.dir);
        free(fs.abs_dir);
        for (size_t i = 0; i < fs.n_includes; i++)
                free(fs.includes[i].pattern);
        free(fs.includes);
        return p->oom ? -ENOMEM : ret;
}
