/* SPDX-License-Identifier: MIT */
#include "topic.h"

#include <string.h>

static bool printable(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (s[i] < 0x21 || s[i] > 0x7e)
                        return false;
        return true;
}

bool topic_is_valid(const char *s, size_t len) {
        return len >= 1 && len <= TOPIC_MAX && printable(s, len) && !memchr(s, '*', len);
}

bool topic_pattern_is_valid(const char *s, size_t len) {
        if (len >= 1 && s[len - 1] == '*')
                return len <= TOPIC_MAX && (len == 1 || topic_is_valid(s, len - 1));
        return topic_is_valid(s, len);
}

bool topic_matches(const char *pattern, size_t plen, const char *topic, size_t tlen) {
        if (plen > 0 && pattern[plen - 1] == '*')
                return tlen >= plen - 1 && memcmp(pattern, topic, plen - 1) == 0;
        return plen == tlen && memcmp(pattern, topic, tlen) == 0;
}
