/* SPDX-License-Identifier: MIT */
/* listen = ADDRESS, parsed: a leaf, so that `check`, the fuzzer and the node agree on what an
 * address is. */
#include "listen-addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "macro.h"

/* PORT: 1-65535, digits only (port 0 would bind a port nobody can know). */
static int parse_port(const char *s, uint16_t *ret) {
        unsigned v = 0;
        if (!*s || strlen(s) > 5)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (*p - '0');
        }
        if (v < 1 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

static int parse_inet(const char *s, ListenAddr *a) {
        char host[INET6_ADDRSTRLEN + 1];
        const char *colon;
        uint16_t port;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                size_t len = close ? (size_t) (close - s - 1) : 0;
                if (!close || close[1] != ':' || len == 0 || len >= sizeof host)
                        return -EINVAL;
                memcpy(host, s + 1, len);
                host[len] = '\0';
                if (parse_port(close + 2, &port) < 0 || inet_pton(AF_INET6, host, &a->u.in6.sin6_addr) != 1)
                        return -EINVAL;
                a->u.in6.sin6_family = AF_INET6;
                a->u.in6.sin6_port = htons(port);
                a->len = sizeof a->u.in6;
                return 0;
        }
        colon = strrchr(s, ':');
        if (!colon || (size_t) (colon - s) >= sizeof host || colon == s)
                return -EINVAL;
        memcpy(host, s, (size_t) (colon - s));
        host[colon - s] = '\0';
        if (parse_port(colon + 1, &port) < 0)
                return -EINVAL;
        if (strcmp(host, "*") == 0)
                a->u.in.sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, host, &a->u.in.sin_addr) != 1)
                return -EINVAL;
        a->u.in.sin_family = AF_INET;
        a->u.in.sin_port = htons(port);
        a->len = sizeof a->u.in;
        return 0;
}

static int parse_unix(const char *s, ListenAddr *a) {
        size_t len = strlen(s);

        /* sun_path without its NUL (abstract: '@' stands for the leading NUL byte). */
        if ((s[0] != '/' && s[0] != '@') || len < 2 || len >= sizeof a->u.un.sun_path)
                return -EINVAL;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return -EINVAL;
        a->u.un.sun_family = AF_UNIX;
        memcpy(a->u.un.sun_path, s, len);
        if (s[0] == '@') {
                a->u.un.sun_path[0] = '\0';
                a->len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len);
        } else
                a->len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + 1);
        return 0;
}

int listen_addr_parse(const char *s, ListenAddr *ret) {
        ListenAddr a = {};
        int r;

        if (strncmp(s, "tcp:", 4) == 0) {
                a.kind = LISTEN_KIND_TCP;
                r = parse_inet(s + 4, &a);
        } else if (strncmp(s, "udp:", 4) == 0) {
                a.kind = LISTEN_KIND_UDP;
                r = parse_inet(s + 4, &a);
        } else if (strncmp(s, "unix:", 5) == 0) {
                a.kind = LISTEN_KIND_UNIX;
                r = parse_unix(s + 5, &a);
        } else
                r = -EINVAL;
        if (r < 0)
                return r;
        *ret = a;
        return 0;
}

bool listen_name_is_valid(const char *s) {
        size_t len = strlen(s);
        if (len == 0 || len > LISTEN_NAME_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if (*p <= ' ' || *p >= 0x7f || *p == ':')
                        return false;
        return true;
}
