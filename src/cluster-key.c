/* SPDX-License-Identifier: MIT */
/* Names, keys and values of global names (cluster-key.h). */
#include "cluster-key.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool plain(unsigned char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
               ch == '-';
}

int cluster_bucket_name(const char *prefix, char *buf, size_t n) {
        if (!cluster_name_is_valid(prefix))
                return -EINVAL;
        int r = snprintf(buf, n, "%s-names", prefix);
        return r < 0 || (size_t) r >= n ? -ENOBUFS : 0;
}

int cluster_key_encode(const char *name, char *buf, size_t n) {
        static const char hex[] = "0123456789ABCDEF";
        size_t o = 0;

        if (!registry_name_is_valid(name) || name[0] == '+')
                return -EINVAL;
        for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
                if (o + 4 > n)
                        return -ENOBUFS;
                if (plain(*p))
                        buf[o++] = (char) *p;
                else {
                        buf[o++] = '=';
                        buf[o++] = hex[*p >> 4];
                        buf[o++] = hex[*p & 15];
                }
        }
        if (o + 1 > n)
                return -ENOBUFS;
        buf[o] = '\0';
        return 0;
}

static int unhex(char ch) {
        return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

int cluster_key_decode(const char *key, char *buf, size_t n) {
        size_t o = 0;

        for (const char *p = key; *p; p++) {
                unsigned char ch = (unsigned char) *p;
                if (*p == '=') {
                        int hi = unhex(p[1]), lo = hi < 0 ? -1 : unhex(p[2]);
                        if (lo < 0)
                                return -EINVAL;
                        ch = (unsigned char) (hi << 4 | lo);
                        /* One spelling per name: an escaped plain byte is no key of ours. */
                        if (plain(ch))
                                return -EINVAL;
                        p += 2;
                } else if (!plain(ch))
                        return -EINVAL;
                if (o + 1 >= n)
                        return -ENOBUFS;
                buf[o++] = (char) ch;
        }
        if (o >= n)
                return -ENOBUFS;
        buf[o] = '\0';
        return registry_name_is_valid(buf) && buf[0] != '+' ? 0 : -EINVAL;
}

int cluster_value_encode(const NameValue *v, char *buf, size_t n) {
        if (!cluster_name_is_valid(v->node) || v->pid <= 0)
                return -EINVAL;
        int r = snprintf(buf, n, "1 %s %d %" PRIu32 " %" PRIu32, v->node, (int) v->pid, v->incarnation, v->ttl_ms);
        return r < 0 || (size_t) r >= n ? -ENOBUFS : r;
}

/* A decimal number of at most max, its digits ending at a space or the end. */
static int number(const char **p, const char *end, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;
        const char *s = *p;

        if (s >= end || *s < '0' || *s > '9')
                return -EBADMSG;
        for (; s < end && *s >= '0' && *s <= '9'; s++) {
                v = v * 10 + (uint64_t) (*s - '0');
                if (v > max)
                        return -EBADMSG;
        }
        if (s < end && *s != ' ')
                return -EBADMSG;
        *p = s < end ? s + 1 : s;
        *ret = v;
        return 0;
}

int cluster_value_decode(const void *data, size_t len, NameValue *ret) {
        const char *p = data, *end = p + len, *sp;
        uint64_t pid, inc, ttl;
        NameValue v = {};

        if (len < 2 || memcmp(p, "1 ", 2) != 0 || p[len - 1] == ' ')
                return -EBADMSG;
        p += 2;
        sp = memchr(p, ' ', (size_t) (end - p));
        if (!sp || sp == p || (size_t) (sp - p) > CLUSTER_NAME_MAX)
                return -EBADMSG;
        memcpy(v.node, p, (size_t) (sp - p));
        if (!cluster_name_is_valid(v.node))
                return -EBADMSG;
        p = sp + 1;
        if (number(&p, end, INT32_MAX, &pid) < 0 || pid == 0 || number(&p, end, UINT32_MAX, &inc) < 0 ||
            number(&p, end, UINT32_MAX, &ttl) < 0 || p != end)
                return -EBADMSG;
        v.pid = (pid_t) pid;
        v.incarnation = (uint32_t) inc;
        v.ttl_ms = (uint32_t) ttl;
        *ret = v;
        return 0;
}
