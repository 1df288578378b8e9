/* SPDX-License-Identifier: MIT */
/* The text of environments: systemd's EnvironmentFile= format (a worker's `env_file`), read at
 * each spawn and by `forkvisor check`, and the ${NAME} expansion of `exec` and `environment`
 * values from the node's own environment. A leaf: the parser and the expansion are pure, and
 * envfile_load() reads one small regular file without ever waiting on it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* An env_file larger than this is refused: the node reads it on its loop, at every spawn. */
#define ENVFILE_SIZE_MAX (1024 * 1024)

/* The LEN bytes at N name an environment variable: A-Z, a-z, 0-9, '_', no leading digit. */
bool env_name_is_valid(const char *n, size_t len);

/* Sets KV ("KEY=VALUE", copied) in *ENV, replacing an earlier KEY. *ENV may be NULL. 0 or
 * -ENOMEM. */
int env_set(char ***env, const char *kv);

/* What went wrong in an env_file: LINE 0 when the file could not be read (MSG is then the
 * errno's text), else the line of the assignment at fault (where it began). */
typedef struct EnvFileError {
        unsigned line;
        char msg[160];
} EnvFileError;

/* Parses DATA (SIZE bytes, NULs refused) in systemd's EnvironmentFile format: KEY=VALUE lines,
 * blank lines and '#'/';' comment lines ignored, an optional `export ` before KEY, values
 * unquoted (backslash escapes, trailing whitespace dropped, a final backslash continues the
 * line), '...' (verbatim) or "..." (\" \\ \` \$ and a continued line; other backslashes kept),
 * which may span lines. Every assignment is set in *ENV in order (env_set). Where systemd skips
 * a line it cannot read, this refuses it. 0; -EINVAL with *err; or -ENOMEM. */
int envfile_parse(const char *data, size_t size, char ***env, EnvFileError *err);

/* Reads and parses one `env_file` entry, "PATH" or "-PATH" (PATH may be missing), into *ENV.
 * PATH must be a regular file of at most ENVFILE_SIZE_MAX bytes; it is opened non-blocking, so
 * a FIFO put in its place is refused rather than waited on. 0 (also for a missing optional
 * file); -errno with *err (line 0: the file could not be read); -EINVAL with *err (a syntax
 * error); or -ENOMEM. */
int envfile_load(const char *entry, char ***env, EnvFileError *err);

/* S with every ${NAME} replaced by NAME's value in ENV ("KEY=VALUE" strings) and every $$ by a
 * single $; any other '$' stays as written (sh -c 'echo $HOME' is left to the shell). With
 * PERCENT, a '%' of an expanded value is doubled: exec's %i, %n and %% are expanded later, at
 * the spawn, and must not see it. 0 and *ret; -ENOENT (NAME not in ENV) or -EINVAL (a '${'
 * not followed by NAME and '}'), both with *reterr_at the offset of that '$' in S; or
 * -ENOMEM. */
int env_expand(const char *s, char *const *env, bool percent, char **ret, size_t *reterr_at);
