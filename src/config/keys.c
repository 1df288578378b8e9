/* SPDX-License-Identifier: MIT */
/* The key table: every key of every section kind, once, with the parser of its value. A parser
 * turns one line's value into the Spec (or the Config, in [forkvisor]) or into one diagnostic
 * that names the key and what it expects. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "array.h"
#include "envfile.h"
#include "parser.h"
#include "registry.h"
#include "strv.h"
#include "suggest.h"
#include "topic.h"
#include "values.h"

#define SUN_PATH_MAX 107 /* sizeof(sockaddr_un.sun_path) - 1 */

/* In the order of SPEC 3.1-3.3: `forkvisor --dump-keys`, the man page check and did-you-mean
 * read them. A key of key_table that a kind's list does not name is refused in that kind. */
const char *const config_keys_forkvisor[] = {
        "root", "control", "log", "subreaper", "include", "registry_size", "exit_status", "log_timestamps",
        "state_dir", "metrics_file", "metrics_interval", NULL,
};

const char *const config_keys_supervisor[] = {
        "strategy", "intensity", "period", "children", "template", "instances", "max_children",
        "auto_shutdown", "restart", "shutdown", "significant", NULL,
};

const char *const config_keys_worker[] = {
        "exec", "restart", "shutdown", "stop_signal", "normal_exit", "ready", "ready_timeout",
        "min_uptime", "restart_delay", "restart_delay_max", "significant", "register", "register_global", "subscribe",
        "mailbox_limit", "user", "group", "directory", "environment", "env_file", "umask", "nice",
        "limit_nofile", "limit_core", "limit_as", "limit_nproc", "stdout", "stderr", "stdin",
        "kill_group", "memory_max", "pids_max", "cpu_weight", "log_max_bytes", "log_backups",
        "oom_score_adj", "ioprio", "cpu_affinity", "pre_start", "post_stop", "watchdog", "watchdog_signal",
        "health", "health_interval", "health_timeout", "health_retries", "health_start_period", "listen",
        "listen_name", "listen_mode", "listen_accept", NULL,
};

const char *const config_keys_cluster[] = {
        "nats", "node", "prefix", "credentials", "tls_ca", "tls_cert", "tls_key", "heartbeat", NULL,
};

/* ---- value helpers that word their own diagnostics -------------------------------------- */

static int bad_choice(FileState *fs, const KeyDef *k, const char *value, const char *const *v, size_t n,
                      const char *extra) {
        _cleanup_free_ char *choices = join_choices(v, n);
        const char *s = suggest(value, v, n);

        if (!choices)
                return parser_oom(fs->p);
        if (s)
                return fs_error(fs, "bad value '%s' for %s: expected %s%s; did you mean '%s'?", value,
                                k->name, choices, extra ?: "", s);
        return fs_error(fs, "bad value '%s' for %s: expected %s%s", value, k->name, choices, extra ?: "");
}

/* VALUE as one of the names of an enum (NAME_to_string() and NAME_from_string(), as spec.c
 * defines them) into DEST, or a diagnostic that lists them. */
#define PARSE_ENUM(fs, k, value, name, max, dest)                                               \
        ({                                                                                      \
                int r_ = name##_from_string(value);                                             \
                if (r_ >= 0)                                                                    \
                        (dest) = r_;                                                            \
                else {                                                                          \
                        const char *vals_[max];                                                 \
                        for (int i_ = 0; i_ < (max); i_++)                                      \
                                vals_[i_] = name##_to_string(i_);                               \
                        r_ = bad_choice(fs, k, value, vals_, max, NULL);                        \
                }                                                                               \
                r_ < 0 ? r_ : 0;                                                                \
        })

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

static int get_unsigned(FileState *fs, const KeyDef *k, const char *value, unsigned min, unsigned max,
                        unsigned *ret) {
        uint64_t v = 0;
        int r = get_uint(fs, k, value, min, max, &v);

        if (r < 0)
                return r;
        *ret = (unsigned) v;
        return 0;
}

/* Milliseconds from 1 (a time that must pass), up to MS_MAX. */
static int get_positive_ms(FileState *fs, const KeyDef *k, const char *v, uint64_t *ret) {
        uint64_t n = 0;

        if (parse_u64(v, MS_MAX, &n) < 0 || n == 0)
                return fs_error(fs, "bad value '%s' for %s: expected milliseconds from 1 to %u", v, k->name, MS_MAX);
        *ret = n;
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

static size_t strv_count_const(const char *const *l) {
        size_t n = 0;
        while (l[n])
                n++;
        return n;
}

static const char *const *kind_keys(unsigned kind) {
        return kind == KIND_FORKVISOR ? config_keys_forkvisor :
               kind == KIND_SUPERVISOR ? config_keys_supervisor :
               kind == KIND_CLUSTER ? config_keys_cluster : config_keys_worker;
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
                return parser_oom(fs->p);
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
                return parser_oom(fs->p);
        if (strlen(path) > SUN_PATH_MAX)
                return fs_error(fs, "control socket path '%s' is too long (max %d bytes)", path, SUN_PATH_MAX);
        free(fs->p->config->control);
        fs->p->config->control = TAKE_PTR(path);
        return 0;
}

/* Where operator holds are kept across restarts of the daemon (held.c checks it at start). */
static int parse_state_dir(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        _cleanup_free_ char *path = NULL;

        if (!*v)
                return fs_error(fs, "missing value for %s: expected a directory", k->name);
        path = path_resolve(fs, v);
        if (!path)
                return parser_oom(fs->p);
        free(fs->p->config->state_dir);
        fs->p->config->state_dir = TAKE_PTR(path);
        return 0;
}

static int parse_log(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return PARSE_ENUM(fs, k, v, log_target, _LOG_TARGET_MAX, fs->p->config->log);
}

/* A yes/no key whose default (-1) the daemon decides where it runs. */
static int get_bool_or_default(FileState *fs, const KeyDef *k, const char *value, int *ret) {
        bool b = false;
        int r = get_bool(fs, k, value, &b);
        if (r < 0)
                return r;
        *ret = b;
        return 0;
}

static int parse_subreaper(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_bool_or_default(fs, k, v, &fs->p->config->subreaper);
}

static int parse_log_timestamps(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_bool_or_default(fs, k, v, &fs->p->config->log_timestamps);
}

static int parse_include(FileState *fs, const KeyDef *k, Spec *s, const char *w) {
        if (ARRAY_GROW(fs->includes, fs->cap_includes, fs->n_includes + 1) < 0)
                return parser_oom(fs->p);
        fs->includes[fs->n_includes].pattern = strdup(w);
        if (!fs->includes[fs->n_includes].pattern)
                return parser_oom(fs->p);
        fs->includes[fs->n_includes++].line = fs->line;
        return 0;
}

static int parse_registry_size(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_unsigned(fs, k, v, 16, 1048576, &fs->p->config->registry_size);
}

static int parse_exit_status(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return PARSE_ENUM(fs, k, v, exit_status_mode, _EXIT_STATUS_MODE_MAX, fs->p->config->exit_status);
}

/* A file for node_exporter's textfile collector: a file's path (its directory need not exist
 * yet: the node says so when it writes, and goes on). */
static int parse_metrics_file(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        size_t len = strlen(v);
        if (len == 0 || v[len - 1] == '/' || strcmp(v, ".") == 0 || strcmp(v, "..") == 0 ||
            (len >= 2 && strcmp(v + len - 2, "/.") == 0) || (len >= 3 && strcmp(v + len - 3, "/..") == 0))
                return fs_error(fs, "bad value '%s' for %s: expected the path of a file", v, k->name);
        _cleanup_free_ char *path = path_resolve(fs, v);
        if (!path)
                return parser_oom(fs->p);
        if (strlen(path) >= PATH_MAX - 32) /* room for the temporary file's suffix */
                return fs_error(fs, "bad value '%s' for %s: the path is too long", v, k->name);
        free(fs->p->config->metrics_file);
        fs->p->config->metrics_file = TAKE_PTR(path);
        return 0;
}

static int parse_metrics_interval(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        uint64_t ms;
        if (parse_u64(v, METRICS_INTERVAL_MAX_MS, &ms) < 0 || ms < METRICS_INTERVAL_MIN_MS)
                return fs_error(fs, "bad value '%s' for %s: expected milliseconds from %u to %u", v, k->name,
                                METRICS_INTERVAL_MIN_MS, METRICS_INTERVAL_MAX_MS);
        fs->p->config->metrics_interval_ms = ms;
        return 0;
}

/* ---- keys of both kinds ---------------------------------------------------------------- */

static int parse_restart(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return PARSE_ENUM(fs, k, v, restart_type, _RESTART_TYPE_MAX, s->restart);
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
        return PARSE_ENUM(fs, k, v, strategy, _STRATEGY_MAX, s->strategy);
}

static int parse_intensity(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_unsigned(fs, k, v, 0, COUNT_MAX, &s->intensity);
}

static int parse_period(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        int r = parse_seconds_ms(v, MS_MAX / 1000, &s->period_ms);

        if (r == -ENOMEM)
                return parser_oom(fs->p);
        if (r < 0)
                return fs_error(fs, "bad value '%s' for %s: expected seconds above 0 (up to three decimals, at most %u)",
                                v, k->name, MS_MAX / 1000);
        return 0;
}

static int parse_children(FileState *fs, const KeyDef *k, Spec *s, const char *w) {
        SectionInfo *info = fs->info;
        size_t n = info->n_children;

        if (!spec_name_is_valid(w))
                return fs_error(fs, "bad child name '%s': names are 1-%d characters of a-z, 0-9, '_' and '-'",
                                w, SPEC_NAME_MAX);
        /* A supervisor's children are all on its one `children` key: a name it listed last is
         * one it lists twice. (Listed by two supervisors: validate.c says so.) */
        if (strindex_get(&fs->p->listed_by, w) == info)
                return fs_error(fs, "'%s' is listed twice in children of [supervisor:%s]", w, s->name);
        if (ARRAY_GROW(info->children, info->cap_children, n + 1) < 0)
                return parser_oom(fs->p);
        info->children[n].name = strdup(w);
        if (!info->children[n].name)
                return parser_oom(fs->p);
        info->children[n].line = fs->line;
        info->n_children++;
        if (strindex_put(&fs->p->listed_by, info->children[n].name, info) < 0)
                return parser_oom(fs->p);
        return 0;
}

static int parse_template(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        int r = check_name(fs, k, v);
        if (r < 0)
                return r;
        free(fs->info->template_name);
        fs->info->template_name = strdup(v);
        return fs->info->template_name ? 0 : parser_oom(fs->p);
}

static int parse_instances(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_unsigned(fs, k, v, 0, COUNT_MAX, &s->instances);
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
        return PARSE_ENUM(fs, k, v, auto_shutdown, _AUTO_SHUTDOWN_MAX, s->auto_shutdown);
}

/* ---- [worker:NAME] --------------------------------------------------------------------- */

/* V with ${NAME} taken from the node's environment (the one `forkvisor run` was started with,
 * and `check`'s own) and $$ made $: in exec, PERCENT keeps a value's '%' from the spawn's
 * %-expansion. */
static int expand(FileState *fs, const KeyDef *k, const char *v, bool percent, char **ret) {
        extern char **environ;
        size_t at = 0;
        int r = env_expand(v, environ, percent, ret, &at);

        if (r == -ENOMEM)
                return parser_oom(fs->p);
        if (r == -ENOENT) {
                const char *name = v + at + 2;
                return fs_error(fs, "undefined variable '%.*s' in %s (${NAME} is taken from the environment forkvisor runs in; write $$ for a literal $)",
                                (int) strcspn(name, "}"), name, k->name);
        }
        if (r < 0) {
                size_t n = strcspn(v + at, "}");
                n += v[at + n] == '}';
                return fs_error(fs, "bad value for %s: '%.*s' is not ${NAME} (write $$ for a literal $)", k->name,
                                (int) (n < 40 ? n : 40), v + at);
        }
        return 0;
}

/* A command line (exec, pre_start, post_stop, health) into *target: words split as a shell does, no
 * shell run. */
static int parse_command(FileState *fs, const KeyDef *k, char ***target, const char *v) {
        _cleanup_strv_free_ char **l = NULL;
        const char *err = NULL;
        int r;

        r = split_words(v, false, &l, &err);
        if (r == -ENOMEM)
                return parser_oom(fs->p);
        if (r < 0)
                return fs_error(fs, "bad value for %s: %s%s", k->name, err,
                                fs->line_has_comment ? " (a ';' after whitespace starts a comment, which cut the line "
                                                       "there: write '\\;' for a ';' in the command)"
                                                     : "");
        /* ${NAME} within a word: a value with spaces stays one argument, as in systemd. */
        for (size_t i = 0; l[i]; i++) {
                char *x;
                r = expand(fs, k, l[i], true, &x);
                if (r < 0)
                        return r;
                free(l[i]);
                l[i] = x;
        }
        if (!l[0])
                return fs_error(fs, "empty %s: expected a command line", k->name);
        if (!l[0][0])
                return fs_error(fs, "bad value for %s: the program name is empty", k->name);

        STRV_FOREACH(a, l)
                for (const char *p = *a; (p = strchr(p, '%')); p += 2) {
                        if (p[1] == 'i' || p[1] == 'n' || p[1] == '%')
                                continue;
                        if (!p[1])
                                return fs_error(fs, "bad value for %s: a lone '%%' ends '%s' (write %%%% for a literal %%)",
                                                k->name, *a);
                        return fs_error(fs, "bad value for %s: unknown expansion '%%%c' in '%s' (expected %%i, %%n or %%%%)",
                                        k->name, p[1], *a);
                }

        strv_free(*target);
        *target = TAKE_PTR(l);
        return 0;
}

static int parse_exec(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return parse_command(fs, k, &s->argv, v);
}

static int parse_pre_start(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return parse_command(fs, k, &s->pre_start, v);
}

static int parse_post_stop(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return parse_command(fs, k, &s->post_stop, v);
}

static int parse_health(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return parse_command(fs, k, &s->health, v);
}

static int parse_health_interval(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_positive_ms(fs, k, v, &s->health_interval_ms);
}

static int parse_health_timeout(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_positive_ms(fs, k, v, &s->health_timeout_ms);
}

static int parse_health_retries(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_unsigned(fs, k, v, 1, COUNT_MAX, &s->health_retries);
}

static int parse_health_start_period(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_ms(fs, k, v, &s->health_start_period_ms);
}

/* A signal name or number into *ret, or a diagnostic that suggests a name. */
static int get_signal(FileState *fs, const KeyDef *k, const char *v, int *ret) {
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
        *ret = sig;
        return 0;
}

static int parse_stop_signal(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_signal(fs, k, v, &s->stop_signal);
}

/* Checked against ready once the section is complete (validate.c). */
static int parse_watchdog(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_ms(fs, k, v, &s->watchdog_ms);
}

static int parse_watchdog_signal(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_signal(fs, k, v, &s->watchdog_signal);
}

/* reset_normal_exit() dropped the default { 0 } at the key line; each code adds to the list. */
static int parse_normal_exit(FileState *fs, const KeyDef *k, Spec *s, const char *w) {
        uint64_t x;
        int *n;

        if (parse_u64(w, 255, &x) < 0)
                return fs_error(fs, "bad value '%s' for %s: expected exit codes from 0 to 255", w, k->name);
        for (size_t j = 0; j < s->n_normal_exit; j++)
                if (s->normal_exit[j] == (int) x)
                        return 0;
        n = reallocarray(s->normal_exit, s->n_normal_exit + 1, sizeof(int));
        if (!n)
                return parser_oom(fs->p);
        n[s->n_normal_exit++] = (int) x;
        s->normal_exit = n;
        return 0;
}

/* The list replaces the default. */
static void reset_normal_exit(Spec *s) {
        s->normal_exit = mfree(s->normal_exit);
        s->n_normal_exit = 0;
}

static int parse_ready(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return PARSE_ENUM(fs, k, v, ready_mode, _READY_MODE_MAX, s->ready);
}

static int parse_ready_timeout(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_positive_ms(fs, k, v, &s->ready_timeout_ms);
}

/* Checked against ready_timeout once the section is complete (validate.c). */
static int parse_min_uptime(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_ms(fs, k, v, &s->min_uptime_ms);
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
        if (!registry_name_is_valid(name) || name[0] == '+')
                return fs_error(fs, "bad value '%s' for %s: expected none, a name or +group (1-%d printable characters, no whitespace or '@')",
                                v, k->name, REGISTRY_KEY_MAX);
        free(s->register_name);
        s->register_name = strdup(v);
        if (!s->register_name)
                return parser_oom(fs->p);
        s->register_is_default = false;
        return 0;
}

/* A global name of the cluster (forkvisor-cluster(7)): never a duplicate key. */
static int parse_register_global(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        if (!registry_name_is_valid(v) || v[0] == '+')
                return fs_error(fs, "bad value '%s' for %s: expected a name (1-%d printable characters, no whitespace, "
                                "'@' or leading '+')", v, k->name, REGISTRY_KEY_MAX);
        free(s->register_global);
        s->register_global = strdup(v);
        return s->register_global ? 0 : parser_oom(fs->p);
}

static int parse_subscribe(FileState *fs, const KeyDef *k, Spec *s, const char *w) {
        if (!topic_pattern_is_valid(w, strlen(w)))
                return fs_error(fs, "bad topic '%s' for %s: expected 1-%d printable characters, no whitespace, '*' only at the end",
                                w, k->name, TOPIC_MAX);
        if (strv_contains(s->subscribe, w))
                return 0;
        if (strv_length(s->subscribe) >= TOPIC_SUBSCRIPTIONS_MAX) {
                int r = fs_error(fs, "too many topics for %s: at most %d", k->name, TOPIC_SUBSCRIPTIONS_MAX);
                return r == -ENOMEM ? r : -ENOSPC; /* once a line is enough */
        }
        if (strv_push(&s->subscribe, w) < 0)
                return parser_oom(fs->p);
        return 0;
}

static int parse_mailbox_limit(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_unsigned(fs, k, v, 1, COUNT_MAX, &s->mailbox_limit);
}

/* user and group are resolved once the section is complete (validate.c): the group defaults to
 * the user's, whichever key comes first. */
static int parse_user(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        if (!account_name_is_valid(v))
                return fs_error(fs, "bad value '%s' for %s: expected a user name or uid", v, k->name);
        s->user = strdup(v);
        return s->user ? 0 : parser_oom(fs->p);
}

static int parse_group(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        if (!account_name_is_valid(v))
                return fs_error(fs, "bad value '%s' for %s: expected a group name or gid", v, k->name);
        s->group = strdup(v);
        return s->group ? 0 : parser_oom(fs->p);
}

static int parse_directory(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        char *d;

        if (!*v)
                return fs_error(fs, "missing value for %s: expected a directory", k->name);
        d = path_resolve(fs, v);
        if (!d)
                return parser_oom(fs->p);
        free(s->directory);
        s->directory = d;
        return 0;
}

/* A later assignment of the same variable replaces the earlier one, as in a shell. */
static int parse_environment(FileState *fs, const KeyDef *k, Spec *s, const char *w) {
        _cleanup_free_ char *value = NULL, *kv = NULL;
        const char *eq = strchr(w, '=');
        size_t len = eq ? (size_t) (eq - w) : 0;
        int r;

        if (!eq || !env_name_is_valid(w, len))
                return fs_error(fs, "bad value '%s' for %s: expected KEY=VALUE with KEY of A-Z, a-z, 0-9 and '_', not starting with a digit",
                                w, k->name);
        r = expand(fs, k, eq + 1, false, &value);
        if (r < 0)
                return r;
        if (asprintf(&kv, "%.*s=%s", (int) len, w, value) < 0)
                return parser_oom(fs->p);
        for (size_t j = 0; s->environment[j]; j++)
                if (strncmp(s->environment[j], w, len + 1) == 0) {
                        strv_remove_at(s->environment, j);
                        break;
                }
        if (strv_push(&s->environment, kv) < 0)
                return parser_oom(fs->p);
        return 0;
}

/* env_file = [-]PATH: read at each spawn (child.c); read here as well, so that `check` (and
 * `run`, and a reload) refuse a required file that is missing and any file that does not parse,
 * naming the env_file's own line. */
static int parse_env_file(FileState *fs, const KeyDef *k, Spec *s, const char *w) {
        _cleanup_strv_free_ char **scratch = NULL;
        _cleanup_free_ char *path = NULL, *entry = NULL;
        bool optional = w[0] == '-';
        EnvFileError err = {};
        char buf[64];
        int r;

        if (!w[optional])
                return fs_error(fs, "bad value '%s' for %s: expected a file path, with a '-' before it when the file may be missing",
                                w, k->name);
        path = path_resolve(fs, w + optional);
        if (!path || asprintf(&entry, "%s%s", optional ? "-" : "", path) < 0)
                return parser_oom(fs->p);
        /* The fuzzer reads no files. */
        if (!(fs->p->flags & CONFIG_LOAD_NO_INCLUDE)) {
                r = envfile_load(entry, &scratch, &err);
                if (r == -ENOMEM)
                        return parser_oom(fs->p);
                if (r < 0 && err.line == 0)
                        return fs_error(fs, "cannot read %s '%s': %s%s", k->name, path, err.msg,
                                        r == -ENOENT ? " (write -PATH for a file that may be missing)" : "");
                if (r < 0)
                        return parser_error(fs->p, path, err.line, "%s (%s of %s at %s:%u)", err.msg, k->name,
                                            section_display(fs, buf, sizeof buf), fs->path, fs->line);
        }
        if (strv_push(&s->env_files, entry) < 0)
                return parser_oom(fs->p);
        return 0;
}

static int parse_umask(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        if (parse_mode(v, 0777, &s->umask) < 0)
                return fs_error(fs, "bad value '%s' for %s: expected an octal mode from 0 to 0777", v, k->name);
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

static int parse_limit(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        static const char *const names[_SPEC_LIMIT_MAX] = {
                [SPEC_LIMIT_NOFILE] = "limit_nofile",
                [SPEC_LIMIT_CORE] = "limit_core",
                [SPEC_LIMIT_AS] = "limit_as",
                [SPEC_LIMIT_NPROC] = "limit_nproc",
        };
        struct rlimit rl;
        size_t i;
        bool sizes;
        int r;

        for (i = 0; i < _SPEC_LIMIT_MAX; i++)
                if (strcmp(names[i], k->name) == 0)
                        break;
        assert(i < _SPEC_LIMIT_MAX);
        sizes = i == SPEC_LIMIT_CORE || i == SPEC_LIMIT_AS;

        r = parse_rlimit(v, sizes, &rl);
        if (r == -ENOMEM)
                return parser_oom(fs->p);
        if (r == -ERANGE)
                return fs_error(fs, "bad value '%s' for %s: the soft limit is above the hard limit", v, k->name);
        if (r < 0)
                return fs_error(fs, "bad value '%s' for %s: expected N, infinity or SOFT:HARD%s", v, k->name,
                                sizes ? " (N in bytes, or with a K, M, G or T suffix)" : "");
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
                r = parse_rlimit_value(v, memory, &rl);
                if (r == -ENOMEM)
                        return parser_oom(fs->p);
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
                        return parser_oom(fs->p);
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

/* log_max_bytes: bytes, with a K, M, G or T suffix as memory_max; 0 never rotates. Whether the
 * section has a file: output to rotate is validate.c's to say, once every key is read. */
static int parse_log_max_bytes(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        rlim_t n = 0;
        int r = strcmp(v, "infinity") == 0 ? -EINVAL : parse_rlimit_value(v, true, &n);

        if (r == -ENOMEM)
                return parser_oom(fs->p);
        if (r < 0)
                return fs_error(fs, "bad value '%s' for %s: expected bytes (N, or with a K, M, G or T suffix)",
                                v, k->name);
        s->log_max_bytes = (uint64_t) n;
        return 0;
}

static int parse_log_backups(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return get_unsigned(fs, k, v, 0, 1000, &s->log_backups);
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

/* ---- [cluster] ------------------------------------------------------------------------- */

/* One URL of `nats`: what libnats takes, a scheme it speaks and a host. */
static bool nats_url_is_valid(const char *u) {
        static const char *const schemes[] = { "nats://", "tls://" };

        for (size_t i = 0; i < ELEMENTSOF(schemes); i++) {
                size_t n = strlen(schemes[i]);
                if (strncmp(u, schemes[i], n) != 0)
                        continue;
                /* A host (or user@host), no spaces or control characters. */
                if (!u[n] || u[n] == ':' || u[n] == '/')
                        return false;
                for (const char *p = u + n; *p; p++)
                        if ((unsigned char) *p <= ' ' || *p == 0x7f)
                                return false;
                return true;
        }
        return false;
}

/* nats = URL[,URL...]: libnats tries them in turn, on the first connect and on every reconnect. */
static int parse_nats(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        _cleanup_strv_free_ char **urls = strv_new_empty();
        _cleanup_free_ char *copy = strdup(v);
        size_t n = 0;

        if (!urls || !copy)
                return parser_oom(fs->p);
        for (char *save = NULL, *u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
                u += strspn(u, " \t");
                size_t len = strlen(u);
                while (len > 0 && (u[len - 1] == ' ' || u[len - 1] == '\t'))
                        u[--len] = '\0';
                if (!*u)
                        continue;
                if (!nats_url_is_valid(u))
                        return fs_error(fs, "bad value '%s' for %s: expected nats://HOST:PORT or tls://HOST:PORT", u,
                                        k->name);
                if (++n > CLUSTER_URLS_MAX)
                        return fs_error(fs, "too many URLs for %s: at most %d", k->name, CLUSTER_URLS_MAX);
                if (strv_push(&urls, u) < 0)
                        return parser_oom(fs->p);
        }
        if (n == 0)
                return fs_error(fs, "missing value for %s: expected server URLs, separated by commas", k->name);
        strv_free(fs->p->config->cluster.nats);
        fs->p->config->cluster.nats = TAKE_PTR(urls);
        return 0;
}

static int set_cluster_name(FileState *fs, const KeyDef *k, const char *v, char **dest) {
        if (!cluster_name_is_valid(v))
                return fs_error(fs, "bad value '%s' for %s: expected 1-%d characters of A-Z, a-z, 0-9, '_' and '-'", v,
                                k->name, CLUSTER_NAME_MAX);
        free(*dest);
        *dest = strdup(v);
        return *dest ? 0 : parser_oom(fs->p);
}

static int parse_cluster_node(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return set_cluster_name(fs, k, v, &fs->p->config->cluster.node);
}

static int parse_cluster_prefix(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        return set_cluster_name(fs, k, v, &fs->p->config->cluster.prefix);
}

/* credentials, tls_ca, tls_cert, tls_key: files libnats reads when it connects, so a file that
 * cannot be read is said by `check`, not found at the first connect. */
static int parse_cluster_file(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        ClusterConfig *c = &fs->p->config->cluster;
        char **dest = strcmp(k->name, "credentials") == 0 ? &c->credentials :
                      strcmp(k->name, "tls_ca") == 0 ? &c->tls_ca :
                      strcmp(k->name, "tls_cert") == 0 ? &c->tls_cert : &c->tls_key;
        _cleanup_free_ char *path = path_resolve(fs, v);

        if (!path)
                return parser_oom(fs->p);
        if (access(path, R_OK) < 0)
                return fs_error(fs, "cannot read %s '%s': %m", k->name, path);
        free(*dest);
        *dest = TAKE_PTR(path);
        return 0;
}

static int parse_heartbeat(FileState *fs, const KeyDef *k, Spec *s, const char *v) {
        uint64_t ms;

        if (parse_u64(v, 600000, &ms) < 0 || ms < 10)
                return fs_error(fs, "bad value '%s' for %s: expected milliseconds from 10 to 600000", v, k->name);
        fs->p->config->cluster.heartbeat_ms = ms;
        return 0;
}

/* Every key, once. Which kinds accept it is checked against config_keys_* (spec.c) at the
 * first load, so the two tables cannot drift apart unnoticed (test-config checks it too). */
#define F KIND_FORKVISOR
#define S KIND_SUPERVISOR
#define W KIND_WORKER
#define C KIND_CLUSTER
static const KeyDef key_table[] = {
        { "root", F, 0, parse_root },
        { "control", F, 0, parse_control },
        { "log", F, 0, parse_log },
        { "subreaper", F, 0, parse_subreaper },
        { "include", F, KEY_LIST | KEY_ONCE_PER_FILE, parse_include },
        { "registry_size", F, 0, parse_registry_size },
        { "exit_status", F, 0, parse_exit_status },
        { "log_timestamps", F, 0, parse_log_timestamps },
        { "state_dir", F, 0, parse_state_dir },
        { "metrics_file", F, 0, parse_metrics_file },
        { "metrics_interval", F, 0, parse_metrics_interval },
        { "strategy", S, 0, parse_strategy },
        { "intensity", S, 0, parse_intensity },
        { "period", S, 0, parse_period },
        { "children", S, KEY_LIST | KEY_UNHASHED, parse_children },
        { "template", S, 0, parse_template },
        { "instances", S, 0, parse_instances },
        { "max_children", S, 0, parse_max_children },
        { "auto_shutdown", S, 0, parse_auto_shutdown },
        { "restart", S | W, 0, parse_restart },
        { "shutdown", S | W, 0, parse_shutdown },
        { "significant", S | W, 0, parse_significant },
        { "exec", W, 0, parse_exec },
        { "pre_start", W, 0, parse_pre_start },
        { "post_stop", W, 0, parse_post_stop },
        { "health", W, 0, parse_health },
        { "health_interval", W, 0, parse_health_interval },
        { "health_timeout", W, 0, parse_health_timeout },
        { "health_retries", W, 0, parse_health_retries },
        { "health_start_period", W, 0, parse_health_start_period },
        { "stop_signal", W, 0, parse_stop_signal },
        { "normal_exit", W, KEY_LIST, parse_normal_exit, reset_normal_exit },
        { "ready", W, 0, parse_ready },
        { "ready_timeout", W, 0, parse_ready_timeout },
        { "min_uptime", W, 0, parse_min_uptime },
        { "restart_delay", W, 0, parse_restart_delay },
        { "restart_delay_max", W, 0, parse_restart_delay_max },
        { "register", W, 0, parse_register },
        { "register_global", W, 0, parse_register_global },
        { "subscribe", W, KEY_LIST, parse_subscribe },
        { "mailbox_limit", W, 0, parse_mailbox_limit },
        { "user", W, 0, parse_user },
        { "group", W, 0, parse_group },
        { "directory", W, 0, parse_directory },
        { "environment", W, KEY_LIST, parse_environment },
        { "env_file", W, KEY_LIST, parse_env_file },
        { "umask", W, 0, parse_umask },
        { "nice", W, 0, parse_nice },
        { "limit_nofile", W, 0, parse_limit },
        { "limit_core", W, 0, parse_limit },
        { "limit_as", W, 0, parse_limit },
        { "limit_nproc", W, 0, parse_limit },
        { "stdout", W, 0, parse_output },
        { "stderr", W, 0, parse_output },
        { "stdin", W, 0, parse_stdin },
        { "kill_group", W, 0, parse_kill_group },
        { "memory_max", W, 0, parse_resource },
        { "pids_max", W, 0, parse_resource },
        { "cpu_weight", W, 0, parse_resource },
        { "log_max_bytes", W, 0, parse_log_max_bytes },
        { "log_backups", W, 0, parse_log_backups },
        { "oom_score_adj", W, 0, keys_parse_oom_score_adj },
        { "ioprio", W, 0, keys_parse_ioprio },
        { "cpu_affinity", W, 0, keys_parse_cpu_affinity },
        { "watchdog", W, 0, parse_watchdog },
        { "watchdog_signal", W, 0, parse_watchdog_signal },
        { "listen", W, KEY_LIST, keys_parse_listen },
        { "listen_name", W, KEY_LIST, keys_parse_listen_name },
        { "listen_mode", W, 0, keys_parse_listen_mode },
        { "listen_accept", W, 0, keys_parse_listen_accept },
        { "nats", C, 0, parse_nats },
        { "node", C, 0, parse_cluster_node },
        { "prefix", C, 0, parse_cluster_prefix },
        { "credentials", C, 0, parse_cluster_file },
        { "tls_ca", C, 0, parse_cluster_file },
        { "tls_cert", C, 0, parse_cluster_file },
        { "tls_key", C, 0, parse_cluster_file },
        { "heartbeat", C, 0, parse_heartbeat },
};
#undef C
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

/* Splits a list value, reporting a quoting error. */
static int get_list(FileState *fs, const KeyDef *k, const char *value, char ***ret) {
        const char *err = NULL;
        int r = split_words(value, true, ret, &err);

        if (r == -ENOMEM)
                return parser_oom(fs->p);
        if (r < 0)
                return fs_error(fs, "bad value for %s: %s", k->name, err);
        return 0;
}

int keys_parse(FileState *fs, const KeyDef *k, Spec *s, const char *value) {
        _cleanup_strv_free_ char **l = NULL;
        int r, ret = 0;

        if (!(k->flags & KEY_LIST))
                return k->parse(fs, k, s, value);
        r = get_list(fs, k, value, &l);
        if (r < 0)
                return r;
        STRV_FOREACH(w, l) {
                r = k->parse(fs, k, s, *w);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        ret = -EINVAL;
                if (r == -ENOSPC)
                        break;
        }
        return ret;
}

/* The key NAME as accepted in KIND: both the table here and config_keys_* must agree. */
const KeyDef *keys_lookup(unsigned kind, const char *name, size_t *ret_index) {
        for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
                if ((key_table[i].kinds & kind) && strcmp(key_table[i].name, name) == 0 &&
                    kind_lists_key(kind, name)) {
                        *ret_index = i;
                        return &key_table[i];
                }
        return NULL;
}

size_t keys_index(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
                if (strcmp(key_table[i].name, name) == 0)
                        return i;
        assert_not_reached();
        return 0;
}


/* Says what is wrong with a key KIND does not take: a misspelling, or a key of another kind. */
int keys_unknown(FileState *fs, unsigned kind, const char *name) {
        const char *const *keys = kind_keys(kind);
        const char *sg = suggest(name, keys, strv_count_const(keys));
        char buf[64];

        if (sg)
                return fs_error(fs, "unknown key '%s', did you mean '%s'?", name, sg);
        if (kind != KIND_CLUSTER && kind_lists_key(KIND_CLUSTER, name))
                return fs_error(fs, "unknown key '%s' in %s (it belongs in [cluster])", name,
                                section_display(fs, buf, sizeof(buf)));
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
