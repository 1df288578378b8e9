/* SPDX-License-Identifier: MIT */
/* Writing JSON strings: the one escaper of status --json, registry --json and the lifecycle
 * events. */
#pragma once

#include <stddef.h>

typedef void (*JsonWrite)(void *ud, const char *p, size_t n);

/* Writes s as a quoted JSON string: '"' and '\\' escaped, control characters as \u00XX, every
 * other byte (UTF-8 included) as it is. */
void json_write_string(const char *s, JsonWrite write, void *ud);
