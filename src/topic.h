/* SPDX-License-Identifier: MIT */
/* Pub/sub topics: "orders:eu", and patterns that are a topic or a prefix followed by '*'
 * ("orders:*", or "*" for everything). The one definition of what is valid, for the
 * configuration, the broker and the CLI. Bytes only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define TOPIC_MAX 255
/* Subscriptions one process may hold: who a topic reaches is worked out by scanning them. */
#define TOPIC_SUBSCRIPTIONS_MAX 1024

/* 1-255 printable ASCII characters, no whitespace; a pattern may end with one '*', a topic has
 * none. */
bool topic_is_valid(const char *s, size_t len);
bool topic_pattern_is_valid(const char *s, size_t len);
/* pattern (valid) matches topic: equal, or topic starts with what precedes the final '*'. */
bool topic_matches(const char *pattern, size_t plen, const char *topic, size_t tlen);
