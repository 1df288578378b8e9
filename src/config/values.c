/* SPDX-License-Identifier: MIT */
/* The syntax of configuration values, as pure functions over strings: numbers, booleans, words
 * split the way sh(1) splits them, signal names, resource limits and the names of variables and
 * accounts. No diagnostics here: the key parsers (keys.c) word them. */
#include "values.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "strv.h"

bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

int parse_u64(const char *s, uint64_t max, uint64_t *ret) {
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

int parse_bool(const char *s) {
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

/* Splits S into words the way sh(1) does, without any expansion: whitespace separates
 * (and ',' too when LIST), '...' is literal, "..." is literal except for \" \\ \$ \`, and a
 * backslash outside quotes makes the next character literal. Quotes inside a word join
 * (a"b c"d is one word), and "" is an empty word. */
int split_words(const char *s, bool list, char ***ret, const char **reterr) {
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

int parse_rlimit_value(const char *v, bool sizes, rlim_t *ret) {
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

bool account_name_is_valid(const char *v) {
        if (!*v || strlen(v) > 256)
                return false;
        for (; *v; v++)
                if (*v < 0x21 || *v > 0x7e || *v == ':')
                        return false;
        return true;
}

/* A later assignment of the same variable replaces the earlier one, as in a shell. */

int parse_oom_score_adj(const char *v, int *ret) {
        bool neg = v[0] == '-';
        uint64_t n;

        if (parse_u64(v[0] == '-' || v[0] == '+' ? v + 1 : v, 1000, &n) < 0)
                return -EINVAL;
        *ret = neg ? -(int) n : (int) n;
        return 0;
}

int parse_ioprio(const char *v, int *ret) {
        /* The kernel's classes (linux/ioprio.h), named as ionice(1) and systemd name them. */
        static const char *const classes[] = { [1] = "realtime", [2] = "best-effort", [3] = "idle" };
        const char *colon = strchr(v, ':');
        size_t len = colon ? (size_t) (colon - v) : strlen(v);
        uint64_t level = IOPRIO_LEVEL_DEFAULT;

        for (int c = 1; c < (int) ELEMENTSOF(classes); c++) {
                if (strlen(classes[c]) != len || strncmp(v, classes[c], len) != 0)
                        continue;
                if (c == 3) { /* the idle class has no levels */
                        if (colon)
                                return -EINVAL;
                        level = 0;
                } else if (colon && parse_u64(colon + 1, 7, &level) < 0)
                        return -EINVAL;
                *ret = IOPRIO_VALUE(c, (int) level);
                return 0;
        }
        return -EINVAL;
}

/* One CPU number of a list at *p, moving past it. */
static int cpu_number(const char **p, unsigned *ret) {
        uint64_t n = 0;
        const char *s = *p;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++)
                if ((n = n * 10 + (unsigned) (*s - '0')) >= CPU_LIST_MAX)
                        return -ERANGE;
        *p = s;
        *ret = (unsigned) n;
        return 0;
}

int parse_cpu_list(const char *v, uint64_t **ret, size_t *ret_n) {
        uint64_t mask[CPU_LIST_MAX / 64] = {};
        unsigned highest = 0;
        bool any = false;
        int r;

        for (const char *p = v;;) {
                unsigned lo, hi;

                p += strspn(p, ", \t\n");
                if (!*p)
                        break;
                r = cpu_number(&p, &lo);
                if (r < 0)
                        return r;
                hi = lo;
                if (*p == '-') {
                        p++;
                        r = cpu_number(&p, &hi);
                        if (r < 0)
                                return r;
                        if (hi < lo)
                                return -EINVAL;
                }
                if (*p && !strchr(", \t\n", *p))
                        return -EINVAL;
                for (unsigned c = lo; c <= hi; c++)
                        mask[c / 64] |= UINT64_C(1) << (c % 64);
                if (hi > highest)
                        highest = hi;
                any = true;
        }
        if (!any)
                return -EINVAL;
        size_t n = highest / 64 + 1;
        uint64_t *m = malloc(n * sizeof *m);
        if (!m)
                return -ENOMEM;
        memcpy(m, mask, n * sizeof *m);
        *ret = m;
        *ret_n = n;
        return 0;
}

int parse_seconds_ms(const char *v, uint64_t max_seconds, uint64_t *ret) {
        uint64_t sec = 0, ms = 0;
        const char *dot = strchr(v, '.');
        _cleanup_free_ char *ip = strndup(v, dot ? (size_t) (dot - v) : strlen(v));
        bool ok;

        if (!ip)
                return -ENOMEM;
        ok = parse_u64(ip, max_seconds, &sec) >= 0;
        if (ok && dot) {
                size_t nd = strlen(dot + 1);
                ok = nd >= 1 && nd <= 3 && parse_u64(dot + 1, 999, &ms) >= 0;
                for (size_t i = nd; ok && i < 3; i++)
                        ms *= 10;
        }
        if (!ok || sec * 1000 + ms == 0)
                return -EINVAL;
        *ret = sec * 1000 + ms;
        return 0;
}

int parse_mode(const char *v, unsigned max, int *ret) {
        unsigned m = 0;
        size_t n = strlen(v);

        for (size_t i = 0; i < n; i++)
                if (v[i] < '0' || v[i] > '7')
                        n = 0;
        if (n >= 1 && n <= 4)
                for (size_t i = 0; i < n; i++)
                        m = m * 8 + (unsigned) (v[i] - '0');
        if (n < 1 || n > 4 || m > max)
                return -EINVAL;
        *ret = (int) m;
        return 0;
}

int parse_rlimit(const char *v, bool sizes, struct rlimit *ret) {
        _cleanup_free_ char *soft = NULL;
        const char *colon = strchr(v, ':');
        struct rlimit rl;
        int r;

        soft = strndup(v, colon ? (size_t) (colon - v) : strlen(v));
        if (!soft)
                return -ENOMEM;
        r = parse_rlimit_value(soft, sizes, &rl.rlim_cur);
        if (r >= 0)
                r = colon ? parse_rlimit_value(colon + 1, sizes, &rl.rlim_max) : (rl.rlim_max = rl.rlim_cur, 0);
        if (r < 0)
                return r;
        if (rl.rlim_cur > rl.rlim_max)
                return -ERANGE;
        *ret = rl;
        return 0;
}
