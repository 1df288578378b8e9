/* SPDX-License-Identifier: MIT */
/* Configuration loading: INI text -> validated, immutable spec tree (spec.h). Reads through inih
 * with our own line reader, checks every key, then the tree as a whole. Never forks, opens
 * sockets or logs: every problem becomes one "FILE:LINE: message" diagnostic. */
#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "macro.h"
#include "strindex.h"
#include "strv.h"
#include "topic.h"

/* Why our own line reader (DESIGN 6; checked against Debian's libinih 55):
 *
 * - inih reads into a fixed buffer (INI_MAX_LINE = 200, passed to the reader as `num`). A longer
 *   line is split silently: the handler gets the truncated value and the tail is parsed as a new
 *   line. The reader refuses any line that does not fit (num - 2 bytes plus the newline), says
 *   so with its line number, and hands inih a comment line instead, so line numbers stay right.
 * - inih gives the handler no line number: the reader counts lines, and since inih parses each
 *   line before reading the next, the handler's call always belongs to the reader's last line.
 * - Whitespace followed by ';' starts an inline comment on a key line (not on a continuation
 *   line, where inih 55 keeps it; we strip it there ourselves so the rule is the same
 *   everywhere). Users write "\;" for a literal ';': the reader turns it into PLACEHOLDER, which
 *   inih does not treat as a comment, and the handler turns it back into ';'. Raw control
 *   characters (PLACEHOLDER among them) are refused in the input, so the mapping is exact.
 * - inih cuts section names at 49 characters and does not tell a continuation line from a
 *   new key. The reader parses section headers itself and mirrors inih's rule for
 *   continuations (an indented, non-comment line after a key line of the same section). */
#define PLACEHOLDER '\x1f'
#define INIH_MAX_SECTION 49 /* MAX_SECTION - 1 in ini.c */

#define CONFIG_FILE_SIZE_MAX (4u * 1024u * 1024u)
#define INCLUDE_FILES_MAX 256
#define MS_MAX UINT32_MAX /* ~49 days: larger "finite" durations are not meaningful */
#define COUNT_MAX 1000000u
#define SUN_PATH_MAX 107 /* sizeof(sockaddr_un.sun_path) - 1 */

/* Every valid header fits inih's section buffer, so the one inih keeps is never cut short. */
static_assert(sizeof("supervisor:") - 1 + SPEC_NAME_MAX < INIH_MAX_SECTION, "section headers");

enum {
        KIND_FORKVISOR = 1u << 0,
        KIND_SUPERVISOR = 1u << 1,
        KIND_WORKER = 1u << 2,
};

#define KEYS_MAX 64

typedef struct Parser Parser;
typedef struct FileState FileState;
typedef struct SectionInfo SectionInfo;
typedef struct KeyDef KeyDef;

struct KeyDef {
        const char *name;
        unsigned kinds;
        bool list; /* may go on over indented continuation lines */
        /* Parses one line's value (a list key is called once per line). Returns 0, or -EINVAL
         * after adding a diagnostic, or -ENOMEM. s is NULL in [forkvisor]. */
        int (*parse)(FileState *fs, const KeyDef *k, Spec *s, const char *value);
};

/* Parse-time facts about one named section, parallel to Config.sections. */
struct SectionInfo {
        unsigned key_line[KEYS_MAX]; /* line each key was given at, 0 = not given */
        char **children;             /* names as written (a strv of n_children) */
        unsigned *children_line;
        size_t n_children, cap_children;
        char *template_name;
        uint64_t hash;
        Spec *spec;                  /* borrowed; the section this describes */
        size_t index;                /* in Config.sections */
        SectionInfo *parent;         /* borrowed; set by validation */
        unsigned parent_line;        /* line of the `children` entry naming us */
        Spec *template_of;           /* borrowed; a supervisor using us as its template */
        bool in_cycle;
};

typedef struct IncludedFile {
        dev_t dev;
        ino_t ino;
        bool reading; /* on the current include stack */
} IncludedFile;

struct Parser {
        Config *config;
        Diagnostics *diag;
        unsigned flags;
        size_t n_errors;
        bool oom;

        SectionInfo **info; /* owned, parallel to config->sections */
        size_t n_info;
        size_t cap_sections;
        /* Lookups that would otherwise scan every section (quadratic in a big tree): sections
         * by name, and each child name by the supervisor that listed it last. */
        StrIndex by_name;   /* name → SectionInfo */
        StrIndex listed_by; /* child name (borrowed from SectionInfo.children) → SectionInfo */

        /* [forkvisor] may appear once per file; each of its keys once in all. */
        unsigned fv_key_line[KEYS_MAX];
        const char *fv_key_file[KEYS_MAX]; /* borrowed from files */
        char *root;
        unsigned root_line;
        const char *root_file;
        const char *fv_file; /* first [forkvisor] header, for tree-wide errors */
        unsigned fv_line;

        char **files;          /* owned strv: every file read (display path) */
        IncludedFile *seen;    /* identity of every file read, parallel to files */
        size_t n_seen;
};

typedef enum ContState {
        CONT_IGNORE, /* the key line was refused: its continuations are ignored */
        CONT_SCALAR, /* a continuation is an error */
        CONT_LIST,   /* continuations are parsed */
} ContState;

typedef enum Current {
        CUR_NONE,      /* before the first section header */
        CUR_FORKVISOR,
        CUR_SPEC,
        CUR_SKIP,      /* a refused header: its keys are ignored (one error is enough) */
} Current;

struct FileState {
        Parser *p;
        const char *path;  /* display path; borrowed from p->files */
        char *dir;         /* owned; dirname(path), for display paths of includes */
        char *abs_dir;     /* owned; absolute directory, for `directory` and relative paths */
        size_t file_index; /* in p->files and p->seen */

        const char *data;  /* borrowed */
        size_t size, pos;
        unsigned line;

        Current cur;
        Spec *spec;        /* borrowed; CUR_SPEC */
        SectionInfo *info; /* borrowed; CUR_SPEC */
        unsigned forkvisor_line;
        unsigned include_line;     /* `include` may be given once per file */

        bool prev_key_set;         /* mirrors inih's prev_name being non-empty */
        bool line_is_continuation; /* the reader's verdict on the line inih is parsing */
        const KeyDef *cont_key;
        ContState cont;

        char **includes;           /* owned strv of patterns, read after this file */
        unsigned *include_lines;
};

/* ---- diagnostics ----------------------------------------------------------------------- */

_printf_(4, 5) static int diag_add(Parser *p, const char *file, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        char *full = NULL, **n;
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
                goto oom;
        }
        if (asprintf(&full, "%s:%u: %s", file, line, msg) < 0)
                goto oom;
        n = reallocarray(p->diag->lines, p->diag->n + 1, sizeof(char *));
        if (!n) {
                free(full);
                goto oom;
        }
        n[p->diag->n++] = full;
        p->diag->lines = n;
        return -EINVAL;
oom:
        p->oom = true;
        return -ENOMEM;
}

#define fs_error(fs, ...) diag_add((fs)->p, (fs)->path, (fs)->line, __VA_ARGS__)

static int oom(Parser *p) {
        p->oom = true;
        return -ENOMEM;
}

/* ---- did you mean ---------------------------------------------------------------------- */

/* Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a
 * substring), case-insensitive, over three rolling rows. Inputs are short (keys, names,
 * values): longer ones get no suggestion. */
#define OSA_MAX 64
static size_t osa_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        size_t rows[3][OSA_MAX + 1], *pp = rows[0], *prev = rows[1], *cur = rows[2];

        if (la > OSA_MAX || lb > OSA_MAX)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                int ca = tolower((unsigned char) a[i - 1]);
                size_t *t;

                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        int cb = tolower((unsigned char) b[j - 1]);
                        size_t v = prev[j] + 1;

                        if (cur[j - 1] + 1 < v)
                                v = cur[j - 1] + 1;
                        if (prev[j - 1] + (ca != cb) < v)
                                v = prev[j - 1] + (ca != cb);
                        if (i > 1 && j > 1 && ca == tolower((unsigned char) b[j - 2]) &&
                            tolower((unsigned char) a[i - 2]) == cb && pp[j - 2] + 1 < v)
                                v = pp[j - 2] + 1;
                        cur[j] = v;
                }
                t = pp;
                pp = prev;
                prev = cur;
                cur = t;
        }
        return prev[lb];
}

/* The closest candidate within a threshold that grows with the length of the candidate: one
 * edit for short words, two up to 8 characters, three beyond. Ties go to the earlier one. */
static const char *suggest(const char *word, const char *const *candidates, size_t n) {
        const char *best = NULL;
        size_t best_d = SIZE_MAX;

        for (size_t i = 0; i < n; i++) {
                size_t len, d, limit;

                if (!candidates[i] || strcmp(candidates[i], word) == 0)
                        continue;
                len = strlen(candidates[i]);
                limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
                d = osa_distance(word, candidates[i]);
                if (d <= limit && d < best_d) {
                        best = candidates[i];
                        best_d = d;
                }
        }
        return best;
}

static size_t strv_count(const char *const *l) {
        size_t n = 0;
        while (l[n])
                n++;
        return n;
}

/* "a, b or c" */
static char *join_choices(const char *const *v, size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", v[i]);
        if (fclose(f) != 0)
                return mfree(buf);
        return buf;
}

static int bad_choice(FileState *fs, const KeyDef *k, const char *value, const char *const *v, size_t n,
                      const char *extra) {
        _cleanup_free_ char *choices = join_choices(v, n);
        const char *s = suggest(value, v, n);

        if (!choices)
                return oom(fs->p);
        if (s)
                return fs_error(fs, "bad value '%s' for %s: expected %s%s; did you mean '%s'?", value,
                                k->name, choices, extra ?: "", s);
        return fs_error(fs, "bad value '%s' for %s: expected %s%s", value, k->name, choices, extra ?: "");
}

/* ---- small parsers --------------------------------------------------------------------- */

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!all_digits(s))
                return -EINVAL;
        for (; *s; s++) {
                unsigned d = (unsigned) (*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

static int parse_bool(const char *s) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

static int get_bool(FileState *fs, const KeyDef *k, const char *value, bool *ret) {
        static const char *const all[] = { "yes", "no", "true", "false", "on", "off" };
        int b = parse_bool(value);

        if (b < 0) {
                const char *s = suggest(value, all, ELEMENTSOF(all));
                if (s)
                        return fs_error(fs, "bad value '%s' for %s: expected yes or no; did you mean '%s'?",
                                        value, k->name, s);
                return fs_error(fs, "bad value '%s' for %s: expected yes or no", value, k->name);
        }
        *ret = b;
        return 0;
}

static int get_uint(FileState *fs, const KeyDef *k, const char *value, uint64_t min, uint64_t max,
                    uint64_t *ret) {
        uint64_t v;

        if (parse_u64(value, max, &v) < 0 || v < min)
                return fs_error(fs, "bad value '%s' for %s: expected an integer from %" PRIu64 " to %" PRIu64,
                                value, k->name, min, max);
        *ret = v;
        return 0;
}

static int get_ms(FileState *fs, const KeyDef *k, const char *value, uint64_t *ret) {
        uint64_t v;

        if (parse_u64(value, MS_MAX, &v) < 0)
                return fs_error(fs, "bad value '%s' for %s: expected milliseconds from 0 to %u",
                                value, k->name, MS_MAX);
        *ret = v;
        return 0;
}

/* Joins a possibly relative PATH to the directory of the file being parsed. */
static char *path_resolve(FileState *fs, const char *path) {
        char *r;

        if (path[0] == '/')
                return strdup(path);
        if (asprintf(&r, "%s/%s", fs->abs_dir, path) < 0)
                return NULL;
        return r;
}

/* Splits S into words the way sh(1) does, without any expansion: whitespace separates
 * (and ',' too when LIST), '...' is literal, "..." is literal except for \" \\ \$ \`, and a
 * backslash outside quotes makes the next character literal. Quotes inside a word join
 * (a"b c"d is one word), and "" is an empty word. */
static int split_words(const char *s, bool list, char ***ret, const char **reterr) {
        _cleanup_strv_free_ char **l = strv_new_empty();
        _cleanup_free_ char *w = NULL;
        size_t n = 0;
        bool in_word = false;

        if (!l)
                return -ENOMEM;
        w = malloc(strlen(s) + 1);
        if (!w)
                return -ENOMEM;

        for (const char *p = s;; p++) {
                char c = *p;

                if (c == '\0' || c == ' ' || c == '\t' || c == '\r' || (list && c == ',')) {
                        if (in_word) {
                                w[n] = '\0';
                                if (strv_push(&l, w) < 0)
                                        return -ENOMEM;
                                n = 0;
                                in_word = false;
                        }
                        if (c == '\0')
                                break;
                        continue;
                }
                in_word = true;
                if (c == '\\') {
                        if (!p[1]) {
                                *reterr = "trailing backslash";
                                return -EINVAL;
                        }
                        w[n++] = *++p;
                } else if (c == '\'') {
                        const char *e = strchr(p + 1, '\'');
                        if (!e) {
                                *reterr = "unterminated single quote";
                                return -EINVAL;
                        }
                        memcpy(w + n, p + 1, (size_t) (e - p - 1));
                        n += (size_t) (e - p - 1);
                        p = e;
                } else if (c == '"') {
                        for (p++;; p++) {
                                if (!*p) {
                                        *reterr = "unterminated double quote";
                                        return -EINVAL;
                                }
                                if (*p == '"')
                                        break;
                                if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
                                        p++;
                                w[n++] = *p;
                        }
                } else
                        w[n++] = c;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

/* Splits a list value, reporting a quoting error. */
static int get_list(FileState *fs, const KeyDef *k, const char *value, char ***ret) {
        const char *err = NULL;
        int r = split_words(value, true, ret, &err);

        if (r == -ENOMEM)
                return oom(fs->p);
        if (r < 0)
                return fs_error(fs, "bad value for %s: %s", k->name, err);
        return 0;
}

static const char *const *kind_keys(unsigned kind) {
        return kind == KIND_FORKVISOR ? config_keys_forkvisor :
               kind == KIND_SUPERVISOR ? config_keys_supervisor : config_keys_worker;
}

/* ---- [forkvisor] ----------------------------------------------------------------------- */

static int check_name(FileState *fs, const KeyDef *k, const char *v) {
        if (!spec_name_is_valid(v))
                return fs_error(fs, "bad value '%s' for %s: names are 1-%d characters of a-z, 0-9, '_' and '-'",
                                v, k->name, SPEC_NAME_MAX);
        return 0;
}

static int parse_root(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        int r = check_name(fs, k, v);
        if (r < 0)
                return r;
        fs->p->root = strdup(v);
        if (!fs->p->root)
                return oom(fs->p);
        fs->p->root_line = fs->line;
        fs->p->root_file = fs->path;
        return 0;
}

static int parse_control(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        _cleanup_free_ char *path = NULL;

        if (!*v)
                return fs_error(fs, "missing value for %s: expected a socket path", k->name);
        path = path_resolve(fs, v);
        if (!path)
                return oom(fs->p);
        if (strlen(path) > SUN_PATH_MAX)
                return fs_error(fs, "control socket path '%s' is too long (max %d bytes)", path, SUN_PATH_MAX);
        free(fs->p->config->control);
        fs->p->config->control = TAKE_PTR(path);
        return 0;
}

static int parse_log(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        const char *vals[_LOG_TARGET_MAX];
        LogTarget t = log_target_from_string(v);

        if (t < 0) {
                for (int i = 0; i < _LOG_TARGET_MAX; i++)
                        vals[i] = log_target_to_string(i);
                return bad_choice(fs, k, v, vals, _LOG_TARGET_MAX, NULL);
        }
        fs->p->config->log = t;
        return 0;
}

static int parse_subreaper(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        bool b;
        int r = get_bool(fs, k, v, &b);
        if (r < 0)
                return r;
        fs->p->config->subreaper = b;
        return 0;
}

static int parse_include(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        _cleanup_strv_free_ char **l = NULL;
        int r = get_list(fs, k, v, &l);

        if (r < 0)
                return r;
        STRV_FOREACH(i, l) {
                size_t n = strv_length(fs->includes);
                unsigned *lines;

                if (strv_push(&fs->includes, *i) < 0)
                        return oom(fs->p);
                lines = reallocarray(fs->include_lines, n + 1, sizeof(unsigned));
                if (!lines)
                        return oom(fs->p);
                lines[n] = fs->line;
                fs->include_lines = lines;
        }
        return 0;
}

static int parse_registry_size(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        uint64_t n = 0;
        int r = get_uint(fs, k, v, 16, 1048576, &n);
        if (r < 0)
                return r;
        fs->p->config->registry_size = (unsigned) n;
        return 0;
}

/* ---- keys of both kinds ---------------------------------------------------------------- */

static int parse_restart(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        const char *vals[_RESTART_TYPE_MAX];
        RestartType t = restart_type_from_string(v);

        if (t < 0) {
                for (int i = 0; i < _RESTART_TYPE_MAX; i++)
                        vals[i] = restart_type_to_string(i);
                return bad_choice(fs, k, v, vals, _RESTART_TYPE_MAX, NULL);
        }
        s->restart = t;
        return 0;
}

static int parse_shutdown(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        static const char *const words[] = { "brutal_kill", "infinity" };
        uint64_t n = 0;

        if (strcmp(v, "brutal_kill") == 0)
                s->shutdown_ms = SHUTDOWN_BRUTAL_KILL;
        else if (strcmp(v, "infinity") == 0)
                s->shutdown_ms = SHUTDOWN_INFINITY;
        else if (parse_u64(v, MS_MAX, &n) >= 0)
                s->shutdown_ms = n;
        else {
                const char *sg = all_digits(v) ? NULL : suggest(v, words, ELEMENTSOF(words));
                if (sg)
                        return fs_error(fs, "bad value '%s' for %s: expected milliseconds (0 to %u), brutal_kill or infinity; did you mean '%s'?",
                                        v, k->name, MS_MAX, sg);
                return fs_error(fs, "bad value '%s' for %s: expected milliseconds (0 to %u), brutal_kill or infinity",
                                v, k->name, MS_MAX);
        }
        return 0;
}

static int parse_significant(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_bool(fs, k, v, &s->significant);
}

/* ---- [supervisor:NAME] ----------------------------------------------------------------- */

static int parse_strategy(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        const char *vals[_STRATEGY_MAX];
        Strategy t = strategy_from_string(v);

        if (t < 0) {
                for (int i = 0; i < _STRATEGY_MAX; i++)
                        vals[i] = strategy_to_string(i);
                return bad_choice(fs, k, v, vals, _STRATEGY_MAX, NULL);
        }
        s->strategy = t;
        return 0;
}

static int parse_intensity(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        uint64_t n = 0;
        int r = get_uint(fs, k, v, 0, COUNT_MAX, &n);
        if (r < 0)
                return r;
        s->intensity = (unsigned) n;
        return 0;
}

/* Seconds with up to three decimals, > 0: "5", "2.5", "0.250". */
static int parse_period(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        uint64_t sec = 0, ms = 0;
        const char *dot = strchr(v, '.');
        _cleanup_free_ char *ip = strndup(v, dot ? (size_t) (dot - v) : strlen(v));
        bool ok;

        if (!ip)
                return oom(fs->p);
        ok = parse_u64(ip, MS_MAX / 1000, &sec) >= 0;
        if (ok && dot) {
                size_t nd = strlen(dot + 1);
                ok = nd >= 1 && nd <= 3 && parse_u64(dot + 1, 999, &ms) >= 0;
                for (size_t i = nd; ok && i < 3; i++)
                        ms *= 10;
        }
        if (!ok || sec * 1000 + ms == 0)
                return fs_error(fs, "bad value '%s' for %s: expected seconds above 0 (up to three decimals, at most %u)",
                                v, k->name, MS_MAX / 1000);
        s->period_ms = sec * 1000 + ms;
        return 0;
}

static int parse_children(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        _cleanup_strv_free_ char **l = NULL;
        SectionInfo *info = fs->info;
        int r = get_list(fs, k, v, &l), ret = 0;

        if (r < 0)
                return r;
        STRV_FOREACH(i, l) {
                size_t n = info->n_children;

                if (!spec_name_is_valid(*i)) {
                        ret = fs_error(fs, "bad child name '%s': names are 1-%d characters of a-z, 0-9, '_' and '-'",
                                       *i, SPEC_NAME_MAX);
                        continue;
                }
                /* A supervisor's children are all on its one `children` key: a name it listed
                 * last is one it lists twice. (Listed by two supervisors: link_tree() says so.) */
                if (strindex_get(&fs->p->listed_by, *i) == info) {
                        ret = fs_error(fs, "'%s' is listed twice in children of [supervisor:%s]", *i, s->name);
                        continue;
                }
                if (n + 1 >= info->cap_children) {
                        size_t cap = info->cap_children ? info->cap_children * 2 : 8;
                        char **c = reallocarray(info->children, cap, sizeof(char *));
                        if (!c)
                                return oom(fs->p);
                        c[n] = NULL; /* a strv at every step: freed as one */
                        info->children = c;
                        unsigned *lines = reallocarray(info->children_line, cap, sizeof(unsigned));
                        if (!lines)
                                return oom(fs->p);
                        info->children_line = lines;
                        info->cap_children = cap;
                }
                info->children[n] = strdup(*i);
                if (!info->children[n])
                        return oom(fs->p);
                info->children[n + 1] = NULL;
                info->children_line[n] = fs->line;
                info->n_children++;
                if (strindex_put(&fs->p->listed_by, info->children[n], info) < 0)
                        return oom(fs->p);
        }
        return ret;
}

static int parse_template(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        int r = check_name(fs, k, v);
        if (r < 0)
                return r;
        free(fs->info->template_name);
        fs->info->template_name = strdup(v);
        return fs->info->template_name ? 0 : oom(fs->p);
}

static int parse_instances(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        uint64_t n = 0;
        int r = get_uint(fs, k, v, 0, COUNT_MAX, &n);
        if (r < 0)
                return r;
        s->instances = (unsigned) n;
        return 0;
}

static int parse_max_children(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        uint64_t n = 0;

        if (strcmp(v, "unlimited") == 0 || strcmp(v, "infinity") == 0) {
                s->max_children = 0;
                return 0;
        }
        if (parse_u64(v, COUNT_MAX, &n) < 0 || n == 0)
                return fs_error(fs, "bad value '%s' for %s: expected an integer from 1 to %u or unlimited",
                                v, k->name, COUNT_MAX);
        s->max_children = (unsigned) n;
        return 0;
}

static int parse_auto_shutdown(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        const char *vals[_AUTO_SHUTDOWN_MAX];
        AutoShutdown t = auto_shutdown_from_string(v);

        if (t < 0) {
                for (int i = 0; i < _AUTO_SHUTDOWN_MAX; i++)
                        vals[i] = auto_shutdown_to_string(i);
                return bad_choice(fs, k, v, vals, _AUTO_SHUTDOWN_MAX, NULL);
        }
        s->auto_shutdown = t;
        return 0;
}

/* ---- [worker:NAME] --------------------------------------------------------------------- */

static int parse_exec(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        _cleanup_strv_free_ char **l = NULL;
        const char *err = NULL;
        int r;

        r = split_words(v, false, &l, &err);
        if (r == -ENOMEM)
                return oom(fs->p);
        if (r < 0)
                return fs_error(fs, "bad value for exec: %s", err);
        if (!l[0])
                return fs_error(fs, "empty exec: expected a command line");
        if (!l[0][0])
                return fs_error(fs, "bad value for exec: the program name is empty");

        STRV_FOREACH(a, l)
                for (const char *p = *a; (p = strchr(p, '%')); p += 2) {
                        if (p[1] == 'i' || p[1] == 'n' || p[1] == '%')
                                continue;
                        if (!p[1])
                                return fs_error(fs, "bad value for exec: a lone '%%' ends '%s' (write %%%% for a literal %%)", *a);
                        return fs_error(fs, "bad value for exec: unknown expansion '%%%c' in '%s' (expected %%i, %%n or %%%%)",
                                        p[1], *a);
                }

        strv_free(s->argv);
        s->argv = TAKE_PTR(l);
        return 0;
}

static const char *signal_name(int sig) {
        return sig > 0 && sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;
}

static int parse_signal(const char *v) {
        const char *n = v;
        uint64_t x;

        if (parse_u64(v, (uint64_t) SIGRTMAX, &x) >= 0)
                return x >= 1 ? (int) x : -EINVAL;
        if (strncasecmp(n, "SIG", 3) == 0)
                n += 3;
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *a = signal_name(sig);
                if (a && strcasecmp(a, n) == 0)
                        return sig;
        }
        if (strncasecmp(n, "RTMIN", 5) == 0 || strncasecmp(n, "RTMAX", 5) == 0) {
                bool min = strncasecmp(n, "RTMIN", 5) == 0;
                int off = 0;

                if (n[5]) {
                        if (n[5] != (min ? '+' : '-') || parse_u64(n + 6, (uint64_t) (SIGRTMAX - SIGRTMIN), &x) < 0)
                                return -EINVAL;
                        off = (int) x;
                }
                return min ? SIGRTMIN + off : SIGRTMAX - off;
        }
        return -EINVAL;
}

static int parse_stop_signal(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        int sig = parse_signal(v);

        if (sig < 0) {
                const char *names[64];
                const char *n = strncasecmp(v, "SIG", 3) == 0 ? v + 3 : v;
                size_t c = 0;
                const char *sg;

                for (int i = 1; i < SIGRTMIN && c < ELEMENTSOF(names); i++)
                        if (signal_name(i))
                                names[c++] = signal_name(i);
                sg = suggest(n, names, c);
                if (sg)
                        return fs_error(fs, "bad value '%s' for %s: expected a signal name (TERM, SIGTERM, ...) or a number from 1 to %d; did you mean '%s'?",
                                        v, k->name, SIGRTMAX, sg);
                return fs_error(fs, "bad value '%s' for %s: expected a signal name (TERM, SIGTERM, ...) or a number from 1 to %d",
                                v, k->name, SIGRTMAX);
        }
        s->stop_signal = sig;
        return 0;
}

static int parse_normal_exit(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        _cleanup_strv_free_ char **l = NULL;
        int r = get_list(fs, k, v, &l), ret = 0;

        if (r < 0)
                return r;
        /* handler() dropped the default { 0 } at the key line; continuation lines add. */
        STRV_FOREACH(i, l) {
                uint64_t x;
                int *n;
                bool dup = false;

                if (parse_u64(*i, 255, &x) < 0) {
                        ret = fs_error(fs, "bad value '%s' for %s: expected exit codes from 0 to 255", *i, k->name);
                        continue;
                }
                for (size_t j = 0; j < s->n_normal_exit; j++)
                        dup = dup || s->normal_exit[j] == (int) x;
                if (dup)
                        continue;
                n = reallocarray(s->normal_exit, s->n_normal_exit + 1, sizeof(int));
                if (!n)
                        return oom(fs->p);
                n[s->n_normal_exit++] = (int) x;
                s->normal_exit = n;
        }
        return ret;
}

static int parse_ready(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        const char *vals[_READY_MODE_MAX];
        ReadyMode t = ready_mode_from_string(v);

        if (t < 0) {
                for (int i = 0; i < _READY_MODE_MAX; i++)
                        vals[i] = ready_mode_to_string(i);
                return bad_choice(fs, k, v, vals, _READY_MODE_MAX, NULL);
        }
        s->ready = t;
        return 0;
}

static int parse_ready_timeout(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        uint64_t n = 0;

        if (parse_u64(v, MS_MAX, &n) < 0 || n == 0)
                return fs_error(fs, "bad value '%s' for %s: expected milliseconds from 1 to %u", v, k->name, MS_MAX);
        s->ready_timeout_ms = n;
        return 0;
}

static int parse_restart_delay(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_ms(fs, k, v, &s->restart_delay_ms);
}

static int parse_restart_delay_max(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_ms(fs, k, v, &s->restart_delay_max_ms);
}

static int parse_register(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        const char *name = v[0] == '+' ? v + 1 : v;

        if (strcmp(v, "none") == 0) {
                s->register_name = mfree(s->register_name);
                s->register_is_default = false;
                return 0;
        }
        if (!spec_registry_name_is_valid(name) || name[0] == '+')
                return fs_error(fs, "bad value '%s' for %s: expected none, a name or +group (1-%d printable characters, no whitespace)",
                                v, k->name, SPEC_REGISTRY_NAME_MAX);
        free(s->register_name);
        s->register_name = strdup(v);
        if (!s->register_name)
                return oom(fs->p);
        s->register_is_default = false;
        return 0;
}

static int parse_subscribe(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        _cleanup_strv_free_ char **l = NULL;
        int r = get_list(fs, k, v, &l), ret = 0;

        if (r < 0)
                return r;
        STRV_FOREACH(i, l) {
                if (!topic_pattern_is_valid(*i, strlen(*i))) {
                        ret = fs_error(fs, "bad topic '%s' for %s: expected 1-%d printable characters, no whitespace, '*' only at the end",
                                       *i, k->name, TOPIC_MAX);
                        continue;
                }
                if (strv_contains(s->subscribe, *i))
                        continue;
                if (strv_length(s->subscribe) >= TOPIC_SUBSCRIPTIONS_MAX) {
                        ret = fs_error(fs, "too many topics for %s: at most %d", k->name, TOPIC_SUBSCRIPTIONS_MAX);
                        break;
                }
                if (strv_push(&s->subscribe, *i) < 0)
                        return oom(fs->p);
        }
        return ret;
}

static int parse_mailbox_limit(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        uint64_t n = 0;
        int r = get_uint(fs, k, v, 1, COUNT_MAX, &n);
        if (r < 0)
                return r;
        s->mailbox_limit = (unsigned) n;
        return 0;
}

static bool account_name_ok(const char *v) {
        if (!*v || strlen(v) > 256)
                return false;
        for (; *v; v++)
                if (*v < 0x21 || *v > 0x7e || *v == ':')
                        return false;
        return true;
}

/* user and group are resolved once the section is complete (finish_worker()): the group
 * defaults to the user's, whichever key comes first. */
static int parse_user(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        if (!account_name_ok(v))
                return fs_error(fs, "bad value '%s' for %s: expected a user name or uid", v, k->name);
        s->user = strdup(v);
        return s->user ? 0 : oom(fs->p);
}

static int parse_group(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        if (!account_name_ok(v))
                return fs_error(fs, "bad value '%s' for %s: expected a group name or gid", v, k->name);
        s->group = strdup(v);
        return s->group ? 0 : oom(fs->p);
}

static int parse_directory(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        char *d;

        if (!*v)
                return fs_error(fs, "missing value for %s: expected a directory", k->name);
        d = path_resolve(fs, v);
        if (!d)
                return oom(fs->p);
        free(s->directory);
        s->directory = d;
        return 0;
}

static bool env_name_ok(const char *n, size_t len) {
        if (len == 0 || (n[0] >= '0' && n[0] <= '9'))
                return false;
        for (size_t i = 0; i < len; i++)
                if (!(isascii((unsigned char) n[i]) && (isalnum((unsigned char) n[i]) || n[i] == '_')))
                        return false;
        return true;
}

/* A later assignment of the same variable replaces the earlier one, as in a shell. */
static int parse_environment(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        _cleanup_strv_free_ char **l = NULL;
        int r = get_list(fs, k, v, &l), ret = 0;

        if (r < 0)
                return r;
        STRV_FOREACH(i, l) {
                const char *eq = strchr(*i, '=');
                size_t len = eq ? (size_t) (eq - *i) : 0;

                if (!eq || !env_name_ok(*i, len)) {
                        ret = fs_error(fs, "bad value '%s' for %s: expected KEY=VALUE with KEY of A-Z, a-z, 0-9 and '_', not starting with a digit",
                                       *i, k->name);
                        continue;
                }
                for (size_t j = 0; s->environment[j]; j++)
                        if (strncmp(s->environment[j], *i, len + 1) == 0) {
                                strv_remove_at(s->environment, j);
                                break;
                        }
                if (strv_push(&s->environment, *i) < 0)
                        return oom(fs->p);
        }
        return ret;
}

static int parse_umask(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        unsigned m = 0;
        size_t n = strlen(v);

        for (size_t i = 0; i < n; i++)
                if (v[i] < '0' || v[i] > '7')
                        n = 0;
        if (n >= 1 && n <= 4)
                for (size_t i = 0; i < n; i++)
                        m = m * 8 + (unsigned) (v[i] - '0');
        if (n < 1 || n > 4 || m > 0777)
                return fs_error(fs, "bad value '%s' for %s: expected an octal mode from 0 to 0777", v, k->name);
        s->umask = (int) m;
        return 0;
}

static int parse_nice(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        bool neg = v[0] == '-';
        const char *d = (v[0] == '-' || v[0] == '+') ? v + 1 : v;
        uint64_t n = 0;

        if (parse_u64(d, 20, &n) < 0 || (!neg && n > 19))
                return fs_error(fs, "bad value '%s' for %s: expected an integer from -20 to 19", v, k->name);
        s->nice = neg ? -(int) n : (int) n;
        s->nice_set = true;
        return 0;
}

static int parse_rlim_value(const char *v, bool sizes, rlim_t *ret) {
        _cleanup_free_ char *digits = NULL;
        uint64_t n, mult = 1;
        size_t len = strlen(v);

        if (strcmp(v, "infinity") == 0) {
                *ret = RLIM_INFINITY;
                return 0;
        }
        if (sizes && len > 1) {
                switch (v[len - 1]) {
                case 'K': mult = 1ull << 10; break;
                case 'M': mult = 1ull << 20; break;
                case 'G': mult = 1ull << 30; break;
                case 'T': mult = 1ull << 40; break;
                default: break;
                }
                if (mult > 1)
                        len--;
        }
        digits = strndup(v, len);
        if (!digits)
                return -ENOMEM;
        if (parse_u64(digits, UINT64_MAX / mult, &n) < 0 || n * mult >= (uint64_t) RLIM_INFINITY)
                return -EINVAL;
        *ret = (rlim_t) (n * mult);
        return 0;
}

static int parse_limit(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        static const char *const names[_SPEC_LIMIT_MAX] = {
                [SPEC_LIMIT_NOFILE] = "limit_nofile",
                [SPEC_LIMIT_CORE] = "limit_core",
                [SPEC_LIMIT_AS] = "limit_as",
                [SPEC_LIMIT_NPROC] = "limit_nproc",
        };
        _cleanup_free_ char *soft = NULL;
        const char *colon = strchr(v, ':');
        struct rlimit rl;
        size_t i;
        bool sizes;
        int r;

        for (i = 0; i < _SPEC_LIMIT_MAX; i++)
                if (strcmp(names[i], k->name) == 0)
                        break;
        assert(i < _SPEC_LIMIT_MAX);
        sizes = i == SPEC_LIMIT_CORE || i == SPEC_LIMIT_AS;

        soft = strndup(v, colon ? (size_t) (colon - v) : strlen(v));
        if (!soft)
                return oom(fs->p);
        r = parse_rlim_value(soft, sizes, &rl.rlim_cur);
        if (r >= 0)
                r = colon ? parse_rlim_value(colon + 1, sizes, &rl.rlim_max) : (rl.rlim_max = rl.rlim_cur, 0);
        if (r == -ENOMEM)
                return oom(fs->p);
        if (r < 0)
                return fs_error(fs, "bad value '%s' for %s: expected N, infinity or SOFT:HARD%s", v, k->name,
                                sizes ? " (N in bytes, or with a K, M, G or T suffix)" : "");
        if (rl.rlim_cur > rl.rlim_max)
                return fs_error(fs, "bad value '%s' for %s: the soft limit is above the hard limit", v, k->name);
        s->limit[i] = rl;
        s->limit_set[i] = true;
        return 0;
}

/* memory_max, pids_max, cpu_weight: set on the worker's cgroup (cgroup.c); whether the node
 * can is known only where it runs, so `forkvisor run` checks that, not the parser. */
static int parse_resource(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        bool memory = strcmp(k->name, "memory_max") == 0, cpu = strcmp(k->name, "cpu_weight") == 0;
        uint64_t n = 0;
        int r;

        if (cpu) {
                r = get_uint(fs, k, v, 1, 10000, &n);
                if (r < 0)
                        return r;
        } else {
                rlim_t rl;
                r = parse_rlim_value(v, memory, &rl);
                if (r == -ENOMEM)
                        return oom(fs->p);
                if (r < 0 || (rl != RLIM_INFINITY && rl == 0))
                        return fs_error(fs, "bad value '%s' for %s: expected %s or infinity", v, k->name,
                                        memory ? "bytes (N, or with a K, M, G or T suffix)" : "a positive number");
                n = rl == RLIM_INFINITY ? UINT64_MAX : (uint64_t) rl;
        }
        if (memory)
                s->memory_max = n;
        else if (cpu)
                s->cpu_weight = n;
        else
                s->pids_max = n;
        if (!s->resource_line)
                s->resource_line = fs->line;
        return 0;
}

static int parse_output(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        static const char *const vals[] = { "log", "inherit", "null", "file:PATH" };
        bool err = strcmp(k->name, "stderr") == 0;
        OutputMode *mode = err ? &s->stderr_mode : &s->stdout_mode;
        char **path = err ? &s->stderr_path : &s->stdout_path;
        OutputMode m;

        if (strncmp(v, "file:", 5) == 0) {
                char *p;

                if (!v[5])
                        return fs_error(fs, "bad value '%s' for %s: file: needs a path", v, k->name);
                p = path_resolve(fs, v + 5);
                if (!p)
                        return oom(fs->p);
                free(*path);
                *path = p;
                *mode = OUTPUT_FILE;
                return 0;
        }
        m = output_mode_from_string(v);
        if (m < 0 || m == OUTPUT_FILE)
                return bad_choice(fs, k, v, vals, ELEMENTSOF(vals), NULL);
        *mode = m;
        *path = mfree(*path);
        return 0;
}

static int parse_stdin(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        static const char *const vals[] = { "null", "inherit" };

        if (strcmp(v, "null") == 0)
                s->stdin_inherit = false;
        else if (strcmp(v, "inherit") == 0)
                s->stdin_inherit = true;
        else
                return bad_choice(fs, k, v, vals, ELEMENTSOF(vals), NULL);
        return 0;
}

static int parse_kill_group(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_bool(fs, k, v, &s->kill_group);
}

/* Every key, once. Which kinds accept it is checked against config_keys_* (spec.c) at the
 * first load, so the two tables cannot drift apart unnoticed (test-config checks it too). */
#define F KIND_FORKVISOR
#define S KIND_SUPERVISOR
#define W KIND_WORKER
static const KeyDef key_table[] = {
        { "root", F, false, parse_root },
        { "control", F, false, parse_control },
        { "log", F, false, parse_log },
        { "subreaper", F, false, parse_subreaper },
        { "include", F, true, parse_include },
        { "registry_size", F, false, parse_registry_size },
        { "strategy", S, false, parse_strategy },
        { "intensity", S, false, parse_intensity },
        { "period", S, false, parse_period },
        { "children", S, true, parse_children },
        { "template", S, false, parse_template },
        { "instances", S, false, parse_instances },
        { "max_children", S, false, parse_max_children },
        { "auto_shutdown", S, false, parse_auto_shutdown },
        { "restart", S | W, false, parse_restart },
        { "shutdown", S | W, false, parse_shutdown },
        { "significant", S | W, false, parse_significant },
        { "exec", W, false, parse_exec },
        { "stop_signal", W, false, parse_stop_signal },
        { "normal_exit", W, true, parse_normal_exit },
        { "ready", W, false, parse_ready },
        { "ready_timeout", W, false, parse_ready_timeout },
        { "restart_delay", W, false, parse_restart_delay },
        { "restart_delay_max", W, false, parse_restart_delay_max },
        { "register", W, false, parse_register },
        { "subscribe", W, true, parse_subscribe },
        { "mailbox_limit", W, false, parse_mailbox_limit },
        { "user", W, false, parse_user },
        { "group", W, false, parse_group },
        { "directory", W, false, parse_directory },
        { "environment", W, true, parse_environment },
        { "umask", W, false, parse_umask },
        { "nice", W, false, parse_nice },
        { "limit_nofile", W, false, parse_limit },
        { "limit_core", W, false, parse_limit },
        { "limit_as", W, false, parse_limit },
        { "limit_nproc", W, false, parse_limit },
        { "stdout", W, false, parse_output },
        { "stderr", W, false, parse_output },
        { "stdin", W, false, parse_stdin },
        { "kill_group", W, false, parse_kill_group },
        { "memory_max", W, false, parse_resource },
        { "pids_max", W, false, parse_resource },
        { "cpu_weight", W, false, parse_resource },
};
#undef F
#undef S
#undef W
static_assert(ELEMENTSOF(key_table) <= KEYS_MAX, "KEYS_MAX");

static bool kind_lists_key(unsigned kind, const char *name) {
        const char *const *l = kind_keys(kind);
        for (size_t i = 0; l[i]; i++)
                if (strcmp(l[i], name) == 0)
                        return true;
        return false;
}

/* The key NAME as accepted in KIND: both the table here and config_keys_* must agree. */
static const KeyDef *key_lookup(unsigned kind, const char *name, size_t *ret_index) {
        for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
                if ((key_table[i].kinds & kind) && strcmp(key_table[i].name, name) == 0 &&
                    kind_lists_key(kind, name)) {
                        *ret_index = i;
                        return &key_table[i];
                }
        return NULL;
}

static size_t key_index(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
                if (strcmp(key_table[i].name, name) == 0)
                        return i;
        assert_not_reached();
        return 0;
}

/* ---- hashing --------------------------------------------------------------------------- */

/* FNV-1a, 64 bits. Each field ends with a NUL byte so "ab"+"c" differs from "a"+"bc". */
static uint64_t fnv1a(uint64_t h, const char *s) {
        for (;; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(0x100000001b3);
                if (!*s)
                        return h;
        }
}

/* ---- sections -------------------------------------------------------------------------- */

static Spec *section_find(Parser *p, const char *name, size_t *ret_index) {
        SectionInfo *info = strindex_get(&p->by_name, name);
        if (!info)
                return NULL;
        if (ret_index)
                *ret_index = info->index;
        return info->spec;
}

static int section_new(FileState *fs, SpecKind kind, const char *name) {
        Parser *p = fs->p;
        Config *c = p->config;
        SectionInfo *info;
        Spec *s, **ns;
        SectionInfo **ni;

        /* Both arrays grow together, by doubling: one section costs no copy of the others. */
        if (c->n_sections == p->cap_sections) {
                size_t cap = p->cap_sections ? p->cap_sections * 2 : 16;
                ns = reallocarray(c->sections, cap, sizeof(Spec *));
                if (!ns)
                        return oom(p);
                c->sections = ns;
                ni = reallocarray(p->info, cap, sizeof(SectionInfo *));
                if (!ni)
                        return oom(p);
                p->info = ni;
                p->cap_sections = cap;
        }
        s = calloc(1, sizeof(Spec));
        info = calloc(1, sizeof(SectionInfo));
        if (!s || !info) {
                free(s);
                free(info);
                return oom(p);
        }
        /* Both owned from here on, by the config and the parser. */
        info->index = c->n_sections;
        c->sections[c->n_sections++] = s;
        p->info[p->n_info++] = info;

        s->kind = kind;
        s->name = strdup(name);
        s->file = strdup(fs->path);
        s->line = fs->line;
        s->restart = RESTART_PERMANENT;
        s->shutdown_ms = kind == SPEC_WORKER ? 5000 : SHUTDOWN_INFINITY;
        s->strategy = STRATEGY_ONE_FOR_ONE;
        s->intensity = 1;
        s->period_ms = 5000;
        s->auto_shutdown = AUTO_SHUTDOWN_NEVER;
        s->uid = (uid_t) -1;
        s->gid = (gid_t) -1;
        s->umask = -1;
        s->stdout_mode = s->stderr_mode = OUTPUT_LOG;
        if (!s->name || !s->file)
                return oom(p);
        info->spec = s;
        if (strindex_put(&p->by_name, s->name, info) < 0)
                return oom(p);
        if (kind == SPEC_WORKER) {
                s->stop_signal = SIGTERM;
                s->normal_exit = calloc(1, sizeof(int));
                s->n_normal_exit = 1;
                s->ready = READY_NONE;
                s->ready_timeout_ms = 10000;
                s->register_name = strdup(name);
                s->register_is_default = true;
                s->subscribe = strv_new_empty();
                s->mailbox_limit = 1024;
                s->directory = strdup(fs->abs_dir);
                s->environment = strv_new_empty();
                s->kill_group = true;
                if (!s->normal_exit || !s->register_name || !s->subscribe || !s->directory || !s->environment)
                        return oom(p);
        }

        info->hash = fnv1a(fnv1a(UINT64_C(0xcbf29ce484222325), spec_kind_to_string(kind)), fs->abs_dir);
        fs->cur = CUR_SPEC;
        fs->spec = s;
        fs->info = info;
        return 0;
}

/* TEXT is what is between the brackets, untruncated. */
static int section_begin(FileState *fs, const char *text) {
        static const char *const kinds[] = { "forkvisor", "supervisor", "worker" };
        _cleanup_free_ char *kind = NULL;
        const char *colon = strchr(text, ':'), *name = colon ? colon + 1 : NULL;
        Parser *p = fs->p;
        Spec *other;
        SpecKind k;

        fs->cur = CUR_SKIP;
        fs->spec = NULL;
        fs->info = NULL;

        kind = strndup(text, colon ? (size_t) (colon - text) : strlen(text));
        if (!kind)
                return oom(p);

        if (strcmp(kind, "forkvisor") == 0) {
                if (colon)
                        return fs_error(fs, "[forkvisor] takes no name: write [forkvisor]");
                if (fs->forkvisor_line)
                        return fs_error(fs, "duplicate section [forkvisor] (first defined at %s:%u)", fs->path,
                                        fs->forkvisor_line);
                fs->forkvisor_line = fs->line;
                if (!p->fv_file) {
                        p->fv_file = fs->path;
                        p->fv_line = fs->line;
                }
                fs->cur = CUR_FORKVISOR;
                return 0;
        }
        if (strcmp(kind, "supervisor") == 0)
                k = SPEC_SUPERVISOR;
        else if (strcmp(kind, "worker") == 0)
                k = SPEC_WORKER;
        else {
                const char *sg = suggest(kind, kinds, ELEMENTSOF(kinds));
                if (sg)
                        return fs_error(fs, "unknown section kind '%s', did you mean '%s'?", kind, sg);
                return fs_error(fs, "unknown section kind '%s': expected [forkvisor], [supervisor:NAME] or [worker:NAME]",
                                kind);
        }
        if (!name)
                return fs_error(fs, "section [%s] needs a name: write [%s:NAME]", kind, kind);
        if (!spec_name_is_valid(name))
                return fs_error(fs, "bad section name '%s': names are 1-%d characters of a-z, 0-9, '_' and '-'",
                                name, SPEC_NAME_MAX);
        other = section_find(p, name, NULL);
        if (other)
                return fs_error(fs, "duplicate section name '%s' (first defined as [%s:%s] at %s:%u)", name,
                                spec_kind_to_string(other->kind), other->name, other->file, other->line);
        return section_new(fs, k, name);
}

/* ---- the line reader ------------------------------------------------------------------- */

static const char *lskip(const char *s) {
        while (*s && isspace((unsigned char) *s))
                s++;
        return s;
}

/* ini.c's ini_find_chars_or_comment(): the first of CHARS, or of ';' after whitespace. */
static const char *find_chars_or_comment(const char *s, const char *chars) {
        bool was_space = false;

        while (*s && (!chars || !strchr(chars, *s)) && !(was_space && *s == ';')) {
                was_space = isspace((unsigned char) *s);
                s++;
        }
        return s;
}

/* Decides what inih will make of LINE (the text handed to it), exactly as ini.c does, and
 * acts on section headers. Returns false when the line must be replaced by a comment. */
static bool classify_line(FileState *fs, const char *line) {
        const char *s = lskip(line), *end, *rest;
        _cleanup_free_ char *text = NULL;

        if (!*s || *s == ';' || *s == '#')
                return true;
        if (s > line && fs->prev_key_set) {
                fs->line_is_continuation = true;
                return true;
        }
        if (*s == '[') {
                end = find_chars_or_comment(s + 1, "]");
                if (*end != ']') {
                        fs_error(fs, "missing ']' at the end of the section header");
                        fs->cur = CUR_SKIP;
                        return false;
                }
                fs->prev_key_set = false; /* inih forgets the previous key at a header */
                rest = lskip(end + 1);
                if (*rest && *rest != ';' && *rest != '#') {
                        fs_error(fs, "unexpected text after ']' in section header");
                        fs->cur = CUR_SKIP;
                        return true;
                }
                text = strndup(s + 1, (size_t) (end - s - 1));
                if (!text) {
                        oom(fs->p);
                        fs->cur = CUR_SKIP;
                        return true;
                }
                for (char *c = text; *c; c++)
                        if (*c == PLACEHOLDER)
                                *c = ';';
                (void) section_begin(fs, text);
                return true;
        }
        end = find_chars_or_comment(s, "=:");
        if (*end != '=' && *end != ':') {
                fs_error(fs, "expected 'key = value', a [section] header or a comment");
                return false;
        }
        return true;
}

static char *read_line(char *buf, int num, void *stream) {
        FileState *fs = stream;
        const char *start, *nl, *t;
        size_t len, i = 0, j = 0, first;

        /* Out of memory: the load fails, and reading on would work on half-made sections. */
        if (fs->pos >= fs->size || fs->p->oom)
                return NULL;
        start = fs->data + fs->pos;
        nl = memchr(start, '\n', fs->size - fs->pos);
        len = nl ? (size_t) (nl - start) : fs->size - fs->pos;
        fs->pos += len + (nl ? 1 : 0);
        fs->line++;
        fs->line_is_continuation = false;

        assert(num >= 3);
        if (fs->line == 1 && len >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0)
                i = 3; /* a UTF-8 byte order mark, as inih skips it */
        first = i;

        if (len - i > (size_t) num - 2) {
                fs_error(fs, "line too long (max %d bytes)", num - 2);
                goto comment;
        }
        for (size_t k = i; k < len; k++) {
                unsigned char c = (unsigned char) start[k];
                if ((c < 0x20 && c != '\t' && !(c == '\r' && k == len - 1)) || c == 0x7f) {
                        fs_error(fs, "control character 0x%02x in line", c);
                        goto comment;
                }
        }

        for (; i < len; i++) {
                if (start[i] == '\\' && i + 1 < len && start[i + 1] == ';') {
                        buf[j++] = PLACEHOLDER;
                        i++;
                } else
                        buf[j++] = start[i];
        }
        buf[j++] = '\n';
        buf[j] = '\0';
        if (classify_line(fs, buf))
                return buf;

comment:
        /* What inih sees instead of a refused line: a comment, which changes none of its
         * state, so the following lines are read as they would have been. Unless the refused
         * line continued a list, what follows it must not be taken for part of an earlier
         * key or section: one error per mistake. */
        for (t = start + first; t < start + len && (*t == ' ' || *t == '\t'); t++)
                ;
        if (!(t > start + first && fs->prev_key_set) && t < start + len && *t != ';' && *t != '#') {
                fs->cont = CONT_IGNORE;
                if (*t == '[')
                        fs->cur = CUR_SKIP;
        }
        buf[0] = ';';
        buf[1] = '\n';
        buf[2] = '\0';
        return buf;
}

/* ---- the handler ----------------------------------------------------------------------- */

static const char *section_display(FileState *fs, char *buf, size_t size) {
        if (fs->cur == CUR_FORKVISOR)
                return "[forkvisor]";
        snprintf(buf, size, "[%s:%s]", spec_kind_to_string(fs->spec->kind), fs->spec->name);
        return buf;
}

static int unknown_key(FileState *fs, unsigned kind, const char *name) {
        const char *const *keys = kind_keys(kind);
        const char *sg = suggest(name, keys, strv_count(keys));
        char buf[64];

        if (sg)
                return fs_error(fs, "unknown key '%s', did you mean '%s'?", name, sg);
        if (kind != KIND_FORKVISOR && kind_lists_key(KIND_FORKVISOR, name))
                return fs_error(fs, "unknown key '%s' in %s (it belongs in [forkvisor])", name,
                                section_display(fs, buf, sizeof(buf)));
        if (kind != KIND_WORKER && kind_lists_key(KIND_WORKER, name))
                return fs_error(fs, "unknown key '%s' in %s (only [worker:NAME] sections take it)", name,
                                section_display(fs, buf, sizeof(buf)));
        if (kind != KIND_SUPERVISOR && kind_lists_key(KIND_SUPERVISOR, name))
                return fs_error(fs, "unknown key '%s' in %s (only [supervisor:NAME] sections take it)", name,
                                section_display(fs, buf, sizeof(buf)));
        return fs_error(fs, "unknown key '%s' in %s", name, section_display(fs, buf, sizeof(buf)));
}

/* Strips an inline comment (whitespace then ';') and trailing whitespace from a continuation
 * line, which inih 55 passes on whole. */
static void strip_inline_comment(char *v) {
        char *e = (char *) find_chars_or_comment(v, NULL);
        *e = '\0';
        while (e > v && isspace((unsigned char) e[-1]))
                *--e = '\0';
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        FileState *fs = user;
        Parser *p = fs->p;
        _cleanup_free_ char *v = strdup(value ?: ""), *n = strdup(name ?: "");
        bool cont = fs->line_is_continuation;
        unsigned kind, *key_line, *first;
        const KeyDef *k;
        size_t idx;
        int r;

        fs->line_is_continuation = false;
        if (!v || !n)
                return oom(p), 0;
        for (char *c = v; *c; c++)
                if (*c == PLACEHOLDER)
                        *c = ';';
        for (char *c = n; *c; c++)
                if (*c == PLACEHOLDER)
                        *c = ';';

        if (cont) {
                if (fs->cur == CUR_SKIP || fs->cur == CUR_NONE || fs->cont == CONT_IGNORE)
                        return 1;
                if (fs->cont == CONT_SCALAR) {
                        fs->cont = CONT_IGNORE; /* one error per key is enough */
                        fs_error(fs, "indented line continues '%s', which takes one value: only lists (children, environment, subscribe, normal_exit, include) go on over indented lines",
                                 fs->cont_key->name);
                        return 0;
                }
                strip_inline_comment(v);
                k = fs->cont_key;
                if (fs->cur == CUR_SPEC && k->parse != parse_children)
                        fs->info->hash = fnv1a(fnv1a(fs->info->hash, k->name), v);
                return k->parse(fs, k, fs->spec, v) < 0 ? 0 : 1;
        }

        /* A new key line: inih now continues this key on indented lines. */
        fs->prev_key_set = n[0] != '\0';
        fs->cont = CONT_IGNORE;
        fs->cont_key = NULL;

        switch (fs->cur) {
        case CUR_NONE:
                fs_error(fs, "key '%s' outside of any section: start with a [section] header", n);
                return 0;
        case CUR_SKIP:
                return 1;
        case CUR_FORKVISOR:
                kind = KIND_FORKVISOR;
                key_line = p->fv_key_line;
                break;
        case CUR_SPEC:
                kind = fs->spec->kind == SPEC_WORKER ? KIND_WORKER : KIND_SUPERVISOR;
                key_line = fs->info->key_line;
                break;
        default:
                assert_not_reached();
                return 0;
        }

        if (!n[0]) {
                fs_error(fs, "missing key name before '='");
                return 0;
        }
        k = key_lookup(kind, n, &idx);
        if (!k) {
                unknown_key(fs, kind, n);
                return 0;
        }
        /* [forkvisor] keys are set once in all files, except `include`, once per file. */
        first = kind == KIND_FORKVISOR && k->parse == parse_include ? &fs->include_line : &key_line[idx];
        if (*first) {
                char buf[64];
                const char *file = kind == KIND_FORKVISOR && first == &key_line[idx] ? p->fv_key_file[idx] : fs->path;
                fs_error(fs, "key '%s' given twice in %s (first at %s:%u)", n,
                         section_display(fs, buf, sizeof(buf)), file, *first);
                return 0;
        }
        *first = fs->line;
        key_line[idx] = fs->line;
        if (kind == KIND_FORKVISOR)
                p->fv_key_file[idx] = fs->path;
        fs->cont_key = k;
        fs->cont = k->list ? CONT_LIST : CONT_SCALAR;

        /* `children` is left out: reload compares a supervisor's children as a structure
         * (reload.c), so a new child does not count as a change of its supervisor. */
        if (fs->cur == CUR_SPEC && k->parse != parse_children)
                fs->info->hash = fnv1a(fnv1a(fs->info->hash, n), v);

        if (!k->list && !*v) {
                fs_error(fs, "missing value for %s", n);
                return 0;
        }
        if (k->parse == parse_normal_exit) {
                /* the list replaces the default */
                free(fs->spec->normal_exit);
                fs->spec->normal_exit = NULL;
                fs->spec->n_normal_exit = 0;
        }
        r = k->parse(fs, k, fs->spec, v);
        return r < 0 ? 0 : 1;
}

/* ---- files and includes ---------------------------------------------------------------- */

static int read_all(int fd, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 0;

        for (;;) {
                ssize_t n;

                if (size + 4096 > alloc) {
                        char *nb;
                        alloc = alloc ? alloc * 2 : 16384;
                        nb = realloc(buf, alloc + 1);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                n = read(fd, buf + size, alloc - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > CONFIG_FILE_SIZE_MAX)
                        return -EFBIG;
        }
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
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

static int parse_text(Parser *p, size_t file_index, const char *data, size_t size);

static int include_file(FileState *fs, const char *path, unsigned line) {
        Parser *p = fs->p;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        size_t size, n;
        struct stat st;
        IncludedFile *seen;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0)
                return diag_add(p, fs->path, line, "cannot read include '%s': %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return diag_add(p, fs->path, line, "cannot read include '%s': not a regular file", path);
        for (size_t i = 0; i < p->n_seen; i++)
                if (p->seen[i].dev == st.st_dev && p->seen[i].ino == st.st_ino) {
                        if (i == fs->file_index)
                                return diag_add(p, fs->path, line, "include cycle: '%s' includes itself", path);
                        if (p->seen[i].reading)
                                return diag_add(p, fs->path, line, "include cycle: '%s' is already being read", path);
                        return diag_add(p, fs->path, line, "'%s' is included twice (first as '%s')", path, p->files[i]);
                }
        if (p->n_seen >= INCLUDE_FILES_MAX)
                return diag_add(p, fs->path, line, "too many included files (max %d)", INCLUDE_FILES_MAX);

        r = read_all(fd, &data, &size);
        if (r == -ENOMEM)
                return oom(p);
        if (r < 0)
                return diag_add(p, fs->path, line, "cannot read include '%s': %s", path,
                                r == -EFBIG ? "file too large" : strerror(-r));

        n = p->n_seen;
        seen = reallocarray(p->seen, n + 1, sizeof(IncludedFile));
        if (!seen)
                return oom(p);
        p->seen = seen;
        if (strv_push(&p->files, path) < 0)
                return oom(p);
        p->seen[n] = (IncludedFile) { .dev = st.st_dev, .ino = st.st_ino, .reading = true };
        p->n_seen++;

        r = parse_text(p, n, data, size);
        p->seen[n].reading = false;
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
                return oom(fs->p);

        /* A pattern with no wildcard names one file, which must exist; a wildcard may match
         * nothing (an empty conf.d is fine). */
        if (!strpbrk(pattern, "*?["))
                return include_file(fs, full, line);

        r = glob(full, 0, glob_errfunc, &g); /* sorted, as SPEC 3.1 promises an order */
        if (r == GLOB_NOSPACE) {
                globfree(&g);
                return oom(fs->p);
        }
        if (r != 0) {
                globfree(&g);
                return r == GLOB_NOMATCH ? 0 : diag_add(fs->p, fs->path, line, "cannot read include '%s'", pattern);
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

static int parse_text(Parser *p, size_t file_index, const char *data, size_t size) {
        const char *path = p->files[file_index];
        FileState fs = {
                .p = p,
                .path = path,
                .file_index = file_index,
                .data = data,
                .size = size,
        };
        int r, ret = 0;

        fs.dir = dir_of(path);
        fs.abs_dir = abs_dir_of(path);
        if (!fs.dir || !fs.abs_dir) {
                ret = oom(p);
                goto finish;
        }

        r = ini_parse_stream(read_line, &fs, handler, &fs);
        if (r < 0)
                ret = oom(p); /* -2: inih's own allocation failed */
        else if (r > 0 && p->n_errors == 0)
                /* cannot happen: every line inih refuses has been refused by the reader */
                diag_add(p, path, (unsigned) r, "syntax error");

        for (size_t i = 0; fs.includes && fs.includes[i] && !p->oom; i++)
                include_pattern(&fs, fs.includes[i], fs.include_lines[i]);

finish:
        free(fs.dir);
        free(fs.abs_dir);
        strv_free(fs.includes);
        free(fs.include_lines);
        return p->oom ? -ENOMEM : ret;
}

/* ---- validation ------------------------------------------------------------------------ */

/* getpwnam_r() and friends report "no such entry" as 0 or, depending on the NSS module, as
 * one of these; anything else is a real failure worth showing. */
static bool lookup_failed(int r) {
        return r != 0 && r != ENOENT && r != ESRCH && r != EBADF && r != EPERM;
}

static int resolve_credentials(Parser *p, Spec *s, SectionInfo *info) {
        _cleanup_free_ char *buf = NULL, *pw_name = NULL;
        long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t bufsize = sz > 0 ? (size_t) sz : 16384;
        uint64_t id;
        int r;

        if (s->user) {
                struct passwd pw, *res = NULL;

                for (;;) {
                        char *nb = realloc(buf, bufsize);
                        if (!nb)
                                return oom(p);
                        buf = nb;
                        r = getpwnam_r(s->user, &pw, buf, bufsize, &res);
                        if (r == 0 && !res && parse_u64(s->user, UINT32_MAX - 1, &id) >= 0)
                                r = getpwuid_r((uid_t) id, &pw, buf, bufsize, &res);
                        if (r != ERANGE || bufsize > 1024 * 1024)
                                break;
                        bufsize *= 2;
                }
                if (!res)
                        return diag_add(p, s->file, info->key_line[key_index("user")], "unknown user '%s'%s%s",
                                        s->user, lookup_failed(r) ? ": " : "", lookup_failed(r) ? strerror(r) : "");
                s->uid = pw.pw_uid;
                s->gid = pw.pw_gid;
                pw_name = strdup(pw.pw_name);
                if (!pw_name)
                        return oom(p);
        }
        if (s->group) {
                struct group gr, *res = NULL;

                for (;;) {
                        char *nb = realloc(buf, bufsize);
                        if (!nb)
                                return oom(p);
                        buf = nb;
                        r = getgrnam_r(s->group, &gr, buf, bufsize, &res);
                        if (r == 0 && !res && parse_u64(s->group, UINT32_MAX - 1, &id) >= 0)
                                r = getgrgid_r((gid_t) id, &gr, buf, bufsize, &res);
                        if (r != ERANGE || bufsize > 1024 * 1024)
                                break;
                        bufsize *= 2;
                }
                if (!res)
                        return diag_add(p, s->file, info->key_line[key_index("group")], "unknown group '%s'%s%s",
                                        s->group, lookup_failed(r) ? ": " : "", lookup_failed(r) ? strerror(r) : "");
                s->gid = gr.gr_gid;
        }
        if (pw_name) {
                /* The supplementary groups are read now, so the spawn path (after fork) does no
                 * NSS lookup. getgrouplist() includes s->gid itself. */
                int n = 16;

                for (int tries = 0; tries < 8; tries++) {
                        gid_t *g = reallocarray(s->groups, (size_t) n, sizeof(gid_t));
                        int want = n;

                        if (!g)
                                return oom(p);
                        s->groups = g;
                        if (getgrouplist(pw_name, s->gid, s->groups, &want) >= 0) {
                                s->n_groups = (size_t) want;
                                return 0;
                        }
                        n = want > n ? want : n * 2;
                }
                return diag_add(p, s->file, info->key_line[key_index("user")],
                                "cannot read the groups of user '%s'", s->user);
        }
        return 0;
}

static void finish_worker(Parser *p, Spec *s, SectionInfo *info) {
        unsigned max_line = info->key_line[key_index("restart_delay_max")];

        if (!s->argv && !info->key_line[key_index("exec")])
                diag_add(p, s->file, s->line, "missing required key 'exec' in [worker:%s]", s->name);
        if (!max_line)
                s->restart_delay_max_ms = s->restart_delay_ms;
        else if (s->restart_delay_max_ms < s->restart_delay_ms)
                diag_add(p, s->file, max_line, "restart_delay_max (%" PRIu64 ") is below restart_delay (%" PRIu64 ")",
                         s->restart_delay_max_ms, s->restart_delay_ms);
        if (info->key_line[key_index("normal_exit")] && s->n_normal_exit == 0)
                diag_add(p, s->file, info->key_line[key_index("normal_exit")],
                         "normal_exit needs at least one exit code");
        (void) resolve_credentials(p, s, info);
}

static void finish_supervisor(Parser *p, Spec *s, SectionInfo *info) {
        static const char *const only_s1f1[] = { "template", "instances", "max_children" };
        bool s1f1 = s->strategy == STRATEGY_SIMPLE_ONE_FOR_ONE;

        if (s1f1) {
                if (!info->template_name && !info->key_line[key_index("template")])
                        diag_add(p, s->file, s->line, "simple_one_for_one supervisor '%s' needs a template", s->name);
                if (info->children && info->children[0])
                        diag_add(p, s->file, info->key_line[key_index("children")],
                                 "children is not allowed with simple_one_for_one: its children are made from the template");
                if (s->max_children > 0 && s->instances > s->max_children)
                        diag_add(p, s->file, info->key_line[key_index("instances")],
                                 "instances (%u) is above max_children (%u)", s->instances, s->max_children);
        } else
                for (size_t i = 0; i < ELEMENTSOF(only_s1f1); i++) {
                        unsigned l = info->key_line[key_index(only_s1f1[i])];
                        if (l)
                                diag_add(p, s->file, l, "%s is only allowed with strategy = simple_one_for_one",
                                         only_s1f1[i]);
                }
}

/* Names of every section of KIND (or of any kind when ANY), for did-you-mean. */
static const char **section_names(Parser *p, bool any, SpecKind kind, size_t *ret_n) {
        const char **v = calloc(p->config->n_sections + 1, sizeof(char *));
        size_t n = 0;

        if (!v)
                return NULL;
        for (size_t i = 0; i < p->config->n_sections; i++)
                if (any || p->config->sections[i]->kind == kind)
                        v[n++] = p->config->sections[i]->name;
        *ret_n = n;
        return v;
}

static void undefined(Parser *p, const char *file, unsigned line, const char *what, const char *name, bool any,
                      SpecKind kind) {
        _cleanup_free_ const char **names = NULL;
        size_t n = 0;
        const char *sg;

        names = section_names(p, any, kind, &n);
        if (!names) {
                oom(p);
                return;
        }
        sg = suggest(name, names, n);
        if (sg)
                diag_add(p, file, line, "%sundefined section '%s', did you mean '%s'?", what, name, sg);
        else
                diag_add(p, file, line, "%sundefined section '%s'", what, name);
}

static void link_tree(Parser *p) {
        Config *c = p->config;

        /* Templates first, so that a template listed as a child is reported as such. */
        for (size_t i = 0; i < c->n_sections; i++) {
                Spec *s = c->sections[i], *t;
                SectionInfo *info = p->info[i];
                unsigned line = info->key_line[key_index("template")];
                size_t ti;

                if (s->kind != SPEC_SUPERVISOR || !info->template_name)
                        continue;
                t = section_find(p, info->template_name, &ti);
                if (!t) {
                        undefined(p, s->file, line, "template: ", info->template_name, false, SPEC_WORKER);
                        continue;
                }
                if (t->kind != SPEC_WORKER) {
                        diag_add(p, s->file, line, "template '%s' is a supervisor: a template must be a [worker:NAME] section",
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
                        oom(p);
                        return;
                }
                for (size_t j = 0; j < n; j++) {
                        const char *name = info->children[j];
                        unsigned line = info->children_line[j];
                        SectionInfo *ci;
                        Spec *ch;
                        size_t k;

                        ch = section_find(p, name, &k);
                        if (!ch) {
                                undefined(p, s->file, line, "", name, true, 0);
                                continue;
                        }
                        ci = p->info[k];
                        if (ch == s) {
                                diag_add(p, s->file, line, "cycle: supervisor '%s' lists itself as a child", s->name);
                                continue;
                        }
                        if (ci->template_of) {
                                diag_add(p, s->file, line,
                                         "'%s' is the template of supervisor '%s' and cannot also be a child",
                                         name, ci->template_of->name);
                                continue;
                        }
                        if (ci->parent) {
                                diag_add(p, s->file, line, "'%s' is listed under two supervisors: '%s' (%s:%u) and '%s'",
                                         name, ci->parent->spec->name, ci->parent->spec->file, ci->parent_line, s->name);
                                continue;
                        }
                        ci->parent = info;
                        ci->parent_line = line;
                        s->children[s->n_children++] = ch;
                }
        }
}

/* Each section has at most one parent, so a cycle is a loop of parent links. */
static void find_cycles(Parser *p) {
        Config *c = p->config;

        for (size_t i = 0; i < c->n_sections; i++) {
                SectionInfo *info = p->info[i], *x;
                size_t steps = 0;
                char *buf = NULL;
                size_t size = 0;
                FILE *f;

                if (info->spec->kind != SPEC_SUPERVISOR || info->in_cycle)
                        continue;
                for (x = info->parent; x && x != info && steps < c->n_sections; steps++)
                        x = x->parent;
                if (x != info)
                        continue;

                /* Report the cycle once, at the `children` line that closes it: a -> b -> a. */
                f = open_memstream(&buf, &size);
                if (!f) {
                        oom(p);
                        return;
                }
                fputs(info->spec->name, f);
                x = info;
                do {
                        x->in_cycle = true;
                        x = x->parent;
                        fprintf(f, " <- %s", x->spec->name);
                } while (x != info);
                if (fclose(f) != 0 || !buf) {
                        free(buf);
                        oom(p);
                        return;
                }
                diag_add(p, info->parent->spec->file, info->parent_line, "cycle: %s (each is a child of the next)", buf);
                free(buf);
        }
}

static void find_root(Parser *p) {
        Config *c = p->config;
        const char *file = p->fv_file ?: p->files[0];
        unsigned line = p->fv_file ? p->fv_line : 1;
        size_t n_sup = 0, n_cand = 0;
        Spec *cand = NULL;

        if (p->root) {
                size_t k;
                Spec *r = section_find(p, p->root, &k);

                if (!r) {
                        undefined(p, p->root_file, p->root_line, "root: ", p->root, false, SPEC_SUPERVISOR);
                        return;
                }
                if (r->kind != SPEC_SUPERVISOR) {
                        diag_add(p, p->root_file, p->root_line, "root '%s' is a worker: the root must be a supervisor",
                                 r->name);
                        return;
                }
                if (p->info[k]->parent) {
                        diag_add(p, p->root_file, p->root_line, "root '%s' is a child of supervisor '%s' (%s:%u)",
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
                diag_add(p, file, line, "no [supervisor:NAME] section: the tree needs a root supervisor");
                return;
        }
        if (n_cand == 1) {
                c->root = cand;
                return;
        }
        if (n_cand == 0) {
                /* Every supervisor has a parent: the cycles were reported already. */
                diag_add(p, file, line, "no root supervisor: every supervisor is listed as a child");
                return;
        }

        /* Several candidates: one message, at the second one, naming them all. */
        {
                char *buf = NULL;
                size_t size = 0, seen = 0;
                FILE *f = open_memstream(&buf, &size);
                Spec *second = NULL;

                if (!f) {
                        oom(p);
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
                        oom(p);
                        return;
                }
                diag_add(p, second->file, second->line,
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
                        diag_add(p, s->file, s->line, "worker '%s' is not listed in the children of any supervisor", s->name);
                else
                        diag_add(p, s->file, s->line,
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
                        diag_add(p, s->file, s->line,
                                 "registry name '%s' is already the name of [worker:%s] (%s:%u); use register = +%s for a name shared by several",
                                 s->register_name, o->name, o->file, o->line, s->register_name);
                else if (strindex_put(&first, s->register_name, s) < 0) {
                        oom(p);
                        break;
                }
        }
        strindex_done(&first);
}

static void validate(Parser *p) {
        Config *c = p->config;

        for (size_t i = 0; i < c->n_sections && !p->oom; i++) {
                Spec *s = c->sections[i];
                SectionInfo *info = p->info[i];

                s->hash = info->hash;
                if (s->significant && s->restart == RESTART_PERMANENT)
                        diag_add(p, s->file, info->key_line[key_index("significant")],
                                 "significant = yes needs restart = transient or temporary: a permanent child is always restarted");
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
}

/* ---- entry points ---------------------------------------------------------------------- */

static void parser_done(Parser *p) {
        strindex_done(&p->by_name);
        strindex_done(&p->listed_by);
        for (size_t i = 0; i < p->n_info; i++)
                if (p->info[i]) {
                        strv_free(p->info[i]->children);
                        free(p->info[i]->children_line);
                        free(p->info[i]->template_name);
                        free(p->info[i]);
                }
        free(p->info);
        free(p->root);
        strv_free(p->files);
        free(p->seen);
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
        p.config->registry_size = 4096;
        p.seen = calloc(1, sizeof(IncludedFile));
        if (!p.config->path || !p.seen || strv_push(&p.files, name) < 0) {
                parser_done(&p);
                return -ENOMEM;
        }
        /* The main file is "seen" too, so including it is a cycle. A string that names no
         * file has an identity nothing can match. */
        p.seen[0] = (IncludedFile) { .dev = st ? st->st_dev : (dev_t) -1, .ino = st ? st->st_ino : 0, .reading = true };
        p.n_seen = 1;

        r = parse_text(&p, 0, data, size);
        p.seen[0].reading = false;
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
                r = read_all(fd, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                Parser p = { .diag = diag };
                diag_add(&p, path, 0, "cannot read '%s': %s", path,
                         r == -EFBIG ? "file too large" : r == -EINVAL ? "not a regular file" : strerror(-r));
                return p.oom ? -ENOMEM : -EINVAL;
        }
        return load(path, data, size, &st, 0, ret, diag);
}
