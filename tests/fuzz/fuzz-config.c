/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the configuration parser: any bytes through config_load_string(), which
 * must neither crash nor leak, and must answer 0 or -EINVAL with diagnostics. Reads no files. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Diagnostics d = {};
        Config *c = NULL;
        char *text;
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        /* A name in a directory that does not exist; CONFIG_LOAD_NO_INCLUDE keeps `include`
         * from globbing the real file system. */
        r = config_load_string_flags(text, "/nonexistent/fuzz.ini", CONFIG_LOAD_NO_INCLUDE, &c, &d);
        if (r == 0) {
                /* A valid tree has a root supervisor, and every worker an argv to expand. */
                if (!c || !c->root || c->root->kind != SPEC_SUPERVISOR || d.n != 0)
                        abort();
                for (size_t i = 0; i < c->n_sections; i++) {
                        Spec *s = c->sections[i];
                        char **argv = NULL;

                        if (s->kind != SPEC_WORKER)
                                continue;
                        if (spec_expand_argv(s, NULL, 3, &argv) < 0 || !argv || !argv[0])
                                abort();
                        for (char **a = argv; *a; a++)
                                free(*a);
                        free(argv);
                }
        } else if (r != -EINVAL || d.n == 0 || c)
                abort();

        config_free(c);
        diagnostics_done(&d);
        free(text);
        return 0;
}
