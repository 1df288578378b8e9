/* SPDX-License-Identifier: MIT */
/* systemd's EnvironmentFile= format and ${NAME} expansion (envfile.h). The parser follows
 * systemd's own (src/basic/env-file.c, as documented in systemd.exec(5)) state for state, so a
 * file written for a unit reads the same here; where systemd silently drops what it cannot
 * read (a line without '=', a bad name, a quote left open), this says so, so that `check`
 * catches a typo before a worker starts without its variable. */
#include "envfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "read-full.h"
#include "strv.h"

bool env_name_is_valid(const char *n, size_t len) {
        if (len == 0 || (n[0] >= '0' && n[0] <= '9'))
                return false;
        for (size_t i = 0; i < len; i++)
                if (!(isascii((unsigned char) n[i]) && (isalnum((unsigned char) n[i]) || n[i] == '_')))
                        return false;
        return true;
}

int env_set(char ***env, const char *kv) {
        size_t kl = strcspn(kv, "=");

        for (size_t i = 0; *env && (*env)[i]; i++)
                if (strncmp((*env)[i], kv, kl) == 0 && (*env)[i][kl] == '=') {
                        char *copy = strdup(kv);
                        if (!copy)
                                return -ENOMEM;
                        free((*env)[i]);
                        (*env)[i] = copy;
                        return 0;
                }
        return strv_push(env, kv);
}

/* ---- the EnvironmentFile parser -------------------------------------------------------------- */

typedef struct Buf {
        char *p;
        size_t n, cap;
} Buf;

static int buf_put(Buf *b, char c) {
        if (b->n + 2 > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                char *p = realloc(b->p, cap);
                if (!p)
                        return -ENOMEM;
                b->p = p;
                b->cap = cap;
        }
        b->p[b->n++] = c;
        b->p[b->n] = '\0';
        return 0;
}

_printf_(3, 4) static int parse_error(EnvFileError *err, unsigned line, const char *fmt, ...) {
        va_list ap;

        err->line = line;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

/* KEY (trailing blanks already cut) without an `export ` before it, checked; then KEY=VALUE
 * into *env. */
static int push(Buf *key, Buf *value, unsigned line, char ***env, EnvFileError *err) {
        _cleanup_free_ char *kv = NULL;
        const char *k = key->p ?: "";

        if (strncmp(k, "export", 6) == 0 && is_blank(k[6])) {
                k += 6;
                while (is_blank(*k))
                        k++;
        }
        if (!env_name_is_valid(k, strlen(k)))
                return parse_error(err, line, "bad variable name '%.64s': expected A-Z, a-z, 0-9 and '_', not starting with a digit", k);
        if (asprintf(&kv, "%s=%s", k, value->p ?: "") < 0)
                return -ENOMEM;
        key->n = value->n = 0;
        if (value->p)
                value->p[0] = '\0';
        return env_set(env, kv);
}

int envfile_parse(const char *data, size_t size, char ***env, EnvFileError *err) {
        enum {
                PRE_KEY,
                KEY,
                PRE_VALUE,
                VALUE,
                VALUE_ESCAPE,
                SINGLE_QUOTE,
                DOUBLE_QUOTE,
                DOUBLE_QUOTE_ESCAPE,
                COMMENT,
        } state = PRE_KEY;
        _cleanup_free_ char *kp = NULL, *vp = NULL;
        Buf key = {}, value = {};
        size_t trim = SIZE_MAX; /* VALUE: where its trailing blanks begin */
        unsigned line = 1, start = 1, quote_line = 1;
        int r = 0;

        for (size_t i = 0; i < size && r >= 0; i++) {
                char c = data[i];

                if (c == '\0') {
                        r = parse_error(err, line, "a NUL byte: not a text file");
                        break;
                }
                switch (state) {
                case PRE_KEY:
                        if (c == '#' || c == ';')
                                state = COMMENT;
                        else if (c == '=') {
                                state = PRE_VALUE; /* push() refuses the empty name */
                                start = line;
                        } else if (!is_blank(c) && c != '\n') {
                                state = KEY;
                                start = line;
                                r = buf_put(&key, c);
                        }
                        break;
                case KEY:
                        if (c == '\n')
                                r = parse_error(err, start, "expected KEY=VALUE, found no '='");
                        else if (c == '=') {
                                while (key.n > 0 && is_blank(key.p[key.n - 1]))
                                        key.p[--key.n] = '\0';
                                state = PRE_VALUE;
                        } else
                                r = buf_put(&key, c);
                        break;
                case PRE_VALUE:
                        if (c == '\n') {
                                r = push(&key, &value, start, env, err);
                                state = PRE_KEY;
                        } else if (c == '\'' || c == '"') {
                                state = c == '\'' ? SINGLE_QUOTE : DOUBLE_QUOTE;
                                quote_line = line;
                        } else if (c == '\\')
                                state = VALUE_ESCAPE;
                        else if (!is_blank(c)) {
                                state = VALUE;
                                trim = SIZE_MAX;
                                r = buf_put(&value, c);
                        }
                        break;
                case VALUE:
                        if (c == '\n') {
                                if (trim != SIZE_MAX)
                                        value.p[value.n = trim] = '\0';
                                r = push(&key, &value, start, env, err);
                                state = PRE_KEY;
                        } else if (c == '\\') {
                                state = VALUE_ESCAPE;
                        } else {
                                if (!is_blank(c))
                                        trim = SIZE_MAX;
                                else if (trim == SIZE_MAX)
                                        trim = value.n;
                                r = buf_put(&value, c);
                        }
                        break;
                case VALUE_ESCAPE:
                        /* An escaped character is kept, blank or not; an escaped newline goes. */
                        state = VALUE;
                        trim = SIZE_MAX;
                        if (c != '\n')
                                r = buf_put(&value, c);
                        break;
                case SINGLE_QUOTE:
                        if (c == '\'')
                                state = PRE_VALUE;
                        else
                                r = buf_put(&value, c);
                        break;
                case DOUBLE_QUOTE:
                        if (c == '"')
                                state = PRE_VALUE;
                        else if (c == '\\')
                                state = DOUBLE_QUOTE_ESCAPE;
                        else
                                r = buf_put(&value, c);
                        break;
                case DOUBLE_QUOTE_ESCAPE:
                        /* As a shell does: \" \\ \` \$ lose the backslash, \newline goes, any
                         * other backslash stays. */
                        state = DOUBLE_QUOTE;
                        if (strchr("\"\\`$", c))
                                r = buf_put(&value, c);
                        else if (c != '\n') {
                                r = buf_put(&value, '\\');
                                if (r >= 0)
                                        r = buf_put(&value, c);
                        }
                        break;
                case COMMENT:
                        if (c == '\n')
                                state = PRE_KEY;
                        break;
                }
                if (c == '\n')
                        line++;
        }
        kp = key.p;
        vp = value.p;
        if (r < 0)
                return r;

        /* The last line needs no newline. */
        switch (state) {
        case KEY:
                return parse_error(err, start, "expected KEY=VALUE, found no '='");
        case SINGLE_QUOTE:
        case DOUBLE_QUOTE:
        case DOUBLE_QUOTE_ESCAPE:
                return parse_error(err, quote_line, "unterminated %s quote",
                                   state == SINGLE_QUOTE ? "single" : "double");
        case VALUE:
                if (trim != SIZE_MAX)
                        value.p[value.n = trim] = '\0';
                __attribute__((fallthrough));
        case PRE_VALUE:
        case VALUE_ESCAPE:
                return push(&key, &value, start, env, err);
        case PRE_KEY:
        case COMMENT:
        default:
                return 0;
        }
}

/* ---- reading a file -------------------------------------------------------------------------- */

/* PATH's contents, NUL-terminated: a regular file of at most ENVFILE_SIZE_MAX bytes. */
static int read_small_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        /* O_NONBLOCK: a FIFO opens at once (and is refused below) instead of waiting for a
         * writer with the node's loop. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (st.st_size > ENVFILE_SIZE_MAX)
                return -EFBIG;
        return read_full_fd(fd, ENVFILE_SIZE_MAX, ret, ret_size);
}

int envfile_load(const char *entry, char ***env, EnvFileError *err) {
        bool optional = entry[0] == '-';
        const char *path = entry + optional;
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        r = read_small_file(path, &data, &size);
        if (r == -ENOENT && optional)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                err->line = 0;
                snprintf(err->msg, sizeof err->msg, "%s",
                         r == -EBADFD ? "not a regular file" :
                         r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
                return r;
        }
        return envfile_parse(data, size, env, err);
}

/* ---- ${NAME} ------------------------------------------------------------------------------- */

static const char *env_lookup(char *const *env, const char *name, size_t len) {
        STRV_FOREACH(e, env)
                if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
                        return *e + len + 1;
        return NULL;
}

int env_expand(const char *s, char *const *env, bool percent, char **ret, size_t *reterr_at) {
        _cleanup_free_ char *out = NULL;
        Buf b = {};
        int r = 0;

        for (const char *p = s; *p && r >= 0; p++) {
                if (p[0] != '$' || (p[1] != '$' && p[1] != '{')) {
                        r = buf_put(&b, *p);
                        continue;
                }
                if (p[1] == '$') {
                        r = buf_put(&b, '$');
                        p++;
                        continue;
                }
                const char *name = p + 2, *end = strchr(name, '}');
                if (!end || !env_name_is_valid(name, (size_t) (end - name))) {
                        *reterr_at = (size_t) (p - s);
                        free(b.p);
                        return -EINVAL;
                }
                const char *v = env_lookup(env, name, (size_t) (end - name));
                if (!v) {
                        *reterr_at = (size_t) (p - s);
                        free(b.p);
                        return -ENOENT;
                }
                for (; *v && r >= 0; v++) {
                        r = buf_put(&b, *v);
                        if (r >= 0 && percent && *v == '%')
                                r = buf_put(&b, '%');
                }
                p = end;
        }
        out = b.p;
        if (r < 0)
                return r;
        if (!out) {
                out = strdup("");
                if (!out)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(out);
        return 0;
}
