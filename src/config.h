/* SPDX-License-Identifier: MIT */
/* Configuration loading (SPEC 3): INI files -> a validated, immutable spec tree (spec.h). The
 * one public header of src/config/: the reader (inih), the key table and its parsers, the
 * validation of the tree. Never forks, opens sockets or logs: every problem becomes one
 * "FILE:LINE: message" diagnostic. */
#pragma once

#include <stddef.h>

#include "spec.h"

/* The problems found in a configuration, each already formatted as "FILE:LINE: message". */
typedef struct Diagnostics {
        char **lines;
        size_t n;
} Diagnostics;

void diagnostics_done(Diagnostics *d);

/* Loads and validates PATH (and its includes). On success returns 0 and *ret. On any problem
 * returns -EINVAL with every problem in *diag (never only the first); -ENOMEM on OOM.
 * An unreadable PATH is a problem like any other ("PATH:0: cannot read ..."). Diagnostics are
 * appended to *diag, which the caller zero-initialises; diag may be NULL, ret too (check only). */
int config_load(const char *path, Config **ret, Diagnostics *diag);

/* The same, from a string, as if it were the file NAME (relative includes resolve against
 * NAME's directory). For unit tests and the fuzzer. */
int config_load_string(const char *text, const char *name, Config **ret, Diagnostics *diag);

/* config_load_string() with flags. CONFIG_LOAD_NO_INCLUDE checks `include` values but reads no
 * included file (the fuzzer must not wander over the file system). */
#define CONFIG_LOAD_NO_INCLUDE (1u << 0)
int config_load_string_flags(const char *text, const char *name, unsigned flags, Config **ret,
                             Diagnostics *diag);

/* Every key each section kind accepts, in the order of SPEC 3.1-3.3, for `forkvisor
 * --dump-keys`, the man page check and did-you-mean. */
extern const char *const config_keys_forkvisor[];
extern const char *const config_keys_supervisor[];
extern const char *const config_keys_worker[];
extern const char *const config_keys_cluster[];
