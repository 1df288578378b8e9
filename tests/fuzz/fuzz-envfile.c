/* SPDX-License-Identifier: MIT */
/* libFuzzer target for envfile.c: any bytes as an env_file (envfile_parse) must neither crash
 * nor leak, and answer 0 with only valid KEY=VALUE entries, each KEY once, or -EINVAL with a
 * line within the input; the same bytes as a value to expand (env_expand) against a small
 * environment, with and without PERCENT. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envfile.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *const env[] = { "HOME=/root", "P=1%", "E=", NULL };
        char **vars = NULL;
        EnvFileError err = {};
        unsigned lines = 1;
        int r;

        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        r = envfile_parse((const char *) data, size, &vars, &err);
        if (r == 0) {
                STRV_FOREACH(v, vars) {
                        size_t k = strcspn(*v, "=");
                        if (!(*v)[k] || !env_name_is_valid(*v, k))
                                abort();
                        for (char *const *w = vars; w != v; w++)
                                if (strncmp(*w, *v, k + 1) == 0)
                                        abort();
                }
        } else if (r != -EINVAL || err.line < 1 || err.line > lines || !err.msg[0])
                abort();
        strv_free(vars);

        /* As a string: up to the first NUL. */
        char *s = strndup((const char *) data, size), *out = NULL;
        size_t at = SIZE_MAX;
        if (!s)
                return 0;
        for (int percent = 0; percent < 2; percent++) {
                r = env_expand(s, env, percent, &out, &at);
                if (r == 0) {
                        if (!out || strlen(out) > strlen(s) * 2 + 64)
                                abort();
                        out = (free(out), NULL);
                } else if ((r != -ENOENT && r != -EINVAL) || at >= strlen(s) || s[at] != '$' || out)
                        abort();
        }
        free(s);
        return 0;
}
