/* SPDX-License-Identifier: MIT */
#include "cluster-subject.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"

static bool literal(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-' || c == ':';
}

static int put(char *buf, size_t size, size_t *at, const char *s, size_t n) {
        if (*at + n + 1 > size)
                return -ENOBUFS;
        memcpy(buf + *at, s, n);
        *at += n;
        buf[*at] = '\0';
        return 0;
}

/* PREFIX.pub, then a token for each of the len bytes of s. */
static int encode(const char *prefix, const char *s, size_t len, char *buf, size_t size, size_t *at) {
        static const char hex[] = "0123456789ABCDEF";
        int r;

        *at = 0;
        if ((r = put(buf, size, at, prefix, strlen(prefix))) < 0 || (r = put(buf, size, at, ".pub", 4)) < 0)
                return r;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                char tok[4] = { '.', (char) c };
                if (literal((char) c))
                        r = put(buf, size, at, tok, 2);
                else {
                        char esc[4] = { '.', '%', hex[c >> 4], hex[c & 15] };
                        r = put(buf, size, at, esc, 4);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int cluster_subject_of_topic(const char *prefix, const char *topic, size_t len, char *buf, size_t size) {
        size_t at;
        int r;

        if (!topic_is_valid(topic, len))
                return -EINVAL;
        if ((r = encode(prefix, topic, len, buf, size, &at)) < 0 || (r = put(buf, size, &at, ".%", 2)) < 0)
                return r;
        return (int) at;
}

int cluster_subject_of_pattern(const char *prefix, const char *pattern, size_t len, char *buf, size_t size) {
        size_t at;
        int r;

        if (!topic_pattern_is_valid(pattern, len))
                return -EINVAL;
        if (pattern[len - 1] != '*')
                return cluster_subject_of_topic(prefix, pattern, len, buf, size);
        if ((r = encode(prefix, pattern, len - 1, buf, size, &at)) < 0 || (r = put(buf, size, &at, ".>", 2)) < 0)
                return r;
        return (int) at;
}

int cluster_subject_to_topic(const char *prefix, const char *subject, char *buf, size_t size) {
        size_t plen = strlen(prefix), n = 0;
        const char *p;

        if (strncmp(subject, prefix, plen) != 0 || strncmp(subject + plen, ".pub.", 5) != 0)
                return -EINVAL;
        p = subject + plen + 4; /* at the '.' before the first token */
        for (;;) {
                if (*p != '.')
                        return -EINVAL; /* the subject ended before its end token */
                const char *tok = p + 1, *end = strchrnul(tok, '.');
                size_t tl = (size_t) (end - tok);
                if (tl == 1 && tok[0] == '%') {
                        if (*end != '\0')
                                return -EINVAL;
                        break;
                }
                if (n + 1 >= size)
                        return -EINVAL;
                if (tl == 1 && literal(tok[0]))
                        buf[n++] = tok[0];
                else if (tl == 3 && tok[0] == '%' && unhex_upper(tok[1]) >= 0 && unhex_upper(tok[2]) >= 0) {
                        char c = (char) (unhex_upper(tok[1]) << 4 | unhex_upper(tok[2]));
                        if (literal(c)) /* one spelling only */
                                return -EINVAL;
                        buf[n++] = c;
                } else
                        return -EINVAL;
                p = end;
        }
        buf[n] = '\0';
        return topic_is_valid(buf, n) ? (int) n : -EINVAL;
}

int cluster_header_format(char *buf, size_t size, const char *node, uint64_t boot, uint64_t seq) {
        int n;

        if (strlen(node) > 64 || strchr(node, ' ') || strchr(node, '\n'))
                return -EINVAL;
        n = snprintf(buf, size, "%s %" PRIx64 " %" PRIu64 "\n", node, boot, seq);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : n;
}

/* Digits of base at p (up to 20), up to stop; NULL when there are none or something else. */
static const char *number(const char *p, const char *end, char stop, int base, uint64_t *ret) {
        uint64_t v = 0;
        const char *start = p;

        for (; p < end && *p != stop; p++) {
                int d = base == 16 ? unhex_upper(*p >= 'a' && *p <= 'f' ? (char) (*p - 'a' + 'A') : *p)
                                   : (*p >= '0' && *p <= '9' ? *p - '0' : -1);
                if (d < 0 || p - start >= (base == 16 ? 16 : 19))
                        return NULL;
                v = v * (uint64_t) base + (uint64_t) d;
        }
        if (p == start || p == end)
                return NULL;
        *ret = v;
        return p + 1;
}

int cluster_header_parse(const char *msg, size_t len, ClusterHeader *ret) {
        const char *end = msg + (len < CLUSTER_HEADER_MAX ? len : CLUSTER_HEADER_MAX);
        const char *sp = memchr(msg, ' ', (size_t) (end - msg));
        const char *p;
        ClusterHeader h = { .node = msg };

        if (!sp || sp == msg || sp - msg > 64)
                return -EINVAL;
        h.node_len = (size_t) (sp - msg);
        if (memchr(msg, '\n', h.node_len))
                return -EINVAL;
        p = number(sp + 1, end, ' ', 16, &h.boot);
        if (!p || !(p = number(p, end, '\n', 10, &h.seq)))
                return -EINVAL;
        h.data_offset = (size_t) (p - msg);
        *ret = h;
        return 0;
}

void cluster_record_put(char *buf, size_t *off, const void *data, size_t len) {
        uint8_t *p = (uint8_t *) buf + *off;
        for (int i = 0; i < CLUSTER_RECORD_HEADER; i++)
                p[i] = (uint8_t) (len >> (8 * i));
        if (len)
                memcpy(p + CLUSTER_RECORD_HEADER, data, len);
        *off += CLUSTER_RECORD_HEADER + len;
}

int cluster_record_next(const char *msg, size_t len, size_t *off, const char **data, size_t *data_len) {
        const uint8_t *p = (const uint8_t *) msg + *off;
        size_t n = 0;

        if (*off >= len)
                return 0;
        if (len - *off < CLUSTER_RECORD_HEADER)
                return -EINVAL;
        for (int i = 0; i < CLUSTER_RECORD_HEADER; i++)
                n |= (size_t) p[i] << (8 * i);
        if (n > len - *off - CLUSTER_RECORD_HEADER)
                return -EINVAL;
        *data = msg + *off + CLUSTER_RECORD_HEADER;
        *data_len = n;
        *off += CLUSTER_RECORD_HEADER + n;
        return 1;
}
