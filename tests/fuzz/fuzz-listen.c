/* SPDX-License-Identifier: MIT */
/* libFuzzer target for listen's addresses and names (listen-addr.c): any bytes, up to the first
 * NUL, must neither crash nor read past what they are, and answer 0 with an address whose family
 * and length agree with its kind (a TCP or UDP port never 0; a unix path NUL-terminated within
 * sun_path, or abstract), or -EINVAL. A name that is valid has no ':' (LISTEN_FDNAMES' separator). */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "listen-addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = strndup((const char *) data, size);
        ListenAddr a;

        if (!s)
                return 0;
        int r = listen_addr_parse(s, &a);
        if (r == 0) {
                switch (a.kind) {
                case LISTEN_KIND_TCP:
                case LISTEN_KIND_UDP:
                        if (a.u.sa.sa_family == AF_INET) {
                                if (a.len != sizeof a.u.in || a.u.in.sin_port == 0)
                                        abort();
                        } else if (a.u.sa.sa_family != AF_INET6 || a.len != sizeof a.u.in6 || a.u.in6.sin6_port == 0)
                                abort();
                        if (strncmp(s, a.kind == LISTEN_KIND_TCP ? "tcp:" : "udp:", 4) != 0)
                                abort();
                        break;
                case LISTEN_KIND_UNIX:
                        if (a.u.sa.sa_family != AF_UNIX || a.len > sizeof a.u.un || strncmp(s, "unix:", 5) != 0)
                                abort();
                        if (a.u.un.sun_path[0] && strnlen(a.u.un.sun_path, sizeof a.u.un.sun_path) == sizeof a.u.un.sun_path)
                                abort();
                        break;
                case _LISTEN_KIND_MAX:
                default:
                        abort();
                }
        } else if (r != -EINVAL)
                abort();
        if (listen_name_is_valid(s) && (strchr(s, ':') || strlen(s) > LISTEN_NAME_MAX))
                abort();
        free(s);
        return 0;
}
