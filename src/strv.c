/* SPDX-License-Identifier: MIT */
/* NULL-terminated string vectors: the few operations config parsing, argv building and the
 * environment of children need. Every function returns -errno, never logs. */
#include "strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        if (!l)
                return 0;
        while (l[n])
                n++;
        return n;
}

char **strv_new_empty(void) {
        return calloc(1, sizeof(char *));
}

int strv_consume(char ***l, char *value) {
        size_t n;
        char **c;

        if (!value)
                return -ENOMEM;

        n = strv_length(*l);
        c = reallocarray(*l, n + 2, sizeof(char *));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_push(char ***l, const char *value) {
        return strv_consume(l, strdup(value));
}

int strv_extend_strv(char ***l, char *const *other) {
        for (char *const *i = other; i && *i; i++) {
                int r = strv_push(l, *i);
                if (r < 0)
                        return r;
        }
        return 0;
}

char **strv_copy(char *const *l) {
        char **c = strv_new_empty();

        if (!c)
                return NULL;
        if (strv_extend_strv(&c, l) < 0)
                return strv_free(c);
        return c;
}

ptrdiff_t strv_index(char *const *l, const char *s) {
        for (ptrdiff_t i = 0; l && l[i]; i++)
                if (strcmp(l[i], s) == 0)
                        return i;
        return -1;
}

bool strv_contains(char *const *l, const char *s) {
        return strv_index(l, s) >= 0;
}

void strv_remove_at(char **l, size_t i) {
        free(l[i]);
        memmove(l + i, l + i + 1, (strv_length(l + i + 1) + 1) * sizeof(char *));
}
