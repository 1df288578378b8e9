/* SPDX-License-Identifier: MIT */
/* The syntax of configuration values (values.c): pure functions, no diagnostics. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "envfile.h" /* env_name_is_valid() */
#include "signame.h"

/* Non-empty and only 0-9. */
bool all_digits(const char *s);
/* A decimal integer up to MAX: -EINVAL when not all digits, -ERANGE above MAX. */
int parse_u64(const char *s, uint64_t max, uint64_t *ret);
/* yes/true/on/1 and no/false/off/0, any case: 1 or 0, else -EINVAL. */
int parse_bool(const char *s);

/* Splits S into words the way sh(1) does, without any expansion (and at ',' too when LIST).
 * -EINVAL with *reterr saying why, or -ENOMEM. */
int split_words(const char *s, bool list, char ***ret, const char **reterr);

/* "infinity" or N (with SIZES, also NK, NM, NG, NT): -EINVAL, or -ENOMEM. */
int parse_rlimit_value(const char *v, bool sizes, rlim_t *ret);

/* oom_score_adj: an integer from -1000 to 1000 (an optional sign). -EINVAL. */
int parse_oom_score_adj(const char *v, int *ret);

/* ioprio = CLASS[:LEVEL]: realtime, best-effort (LEVEL 0-7, default 4) or idle (no LEVEL), as
 * the kernel's ioprio value (class << 13 | level: never 0). -EINVAL. */
#define IOPRIO_VALUE(class, level) (((class) << 13) | (level))
#define IOPRIO_LEVEL_DEFAULT 4
int parse_ioprio(const char *v, int *ret);

/* cpu_affinity: CPU numbers and ranges (N or N-M, M >= N) separated by ',' or whitespace, as
 * taskset -c and systemd's CPUAffinity= take them; every CPU below CPU_LIST_MAX. A new mask of
 * *ret_n 64-bit words (bit N of word N / 64 is CPU N), as many as the highest CPU needs.
 * -EINVAL, -ERANGE for a CPU beyond CPU_LIST_MAX, or -ENOMEM. */
#define CPU_LIST_MAX 8192 /* the kernel's NR_CPUS at most (CONFIG_MAXSMP) */
int parse_cpu_list(const char *v, uint64_t **ret, size_t *ret_n);

/* A user or group as written: 1-256 printable characters, no whitespace and no ':'. */
bool account_name_is_valid(const char *v);

/* Seconds with up to three decimals, above 0 and at most MAX_SECONDS ("5", "2.5", "0.250"), as
 * milliseconds: -EINVAL, or -ENOMEM. */
int parse_seconds_ms(const char *v, uint64_t max_seconds, uint64_t *ret);
/* An octal mode of 1-4 digits, at most MAX. */
int parse_mode(const char *v, unsigned max, int *ret);
/* N or SOFT:HARD, each parse_rlimit_value(): -EINVAL, -ERANGE when SOFT is above HARD, or
 * -ENOMEM. */
int parse_rlimit(const char *v, bool sizes, struct rlimit *ret);
