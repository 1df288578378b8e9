/* SPDX-License-Identifier: MIT */
/* The addresses of `listen` (socket activation, as systemd's ListenStream=/ListenDatagram=):
 * tcp:ADDR:PORT, udp:ADDR:PORT and unix:PATH, and the names LISTEN_FDNAMES carries. Pure: parsed
 * by config/ to check them, parsed again by listen.c to open them. */
#pragma once

#include <stdbool.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#define LISTEN_MAX 16          /* listen addresses of one worker */
#define LISTEN_NAME_MAX 255    /* systemd's FDNAME_MAX */
#define LISTEN_MODE_DEFAULT 0666 /* systemd's SocketMode= */

typedef enum ListenKind {
        LISTEN_KIND_TCP,
        LISTEN_KIND_UDP,
        LISTEN_KIND_UNIX,
        _LISTEN_KIND_MAX,
} ListenKind;

typedef struct ListenAddr {
        ListenKind kind;
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
                struct sockaddr_un un;
        } u;
        socklen_t len;
} ListenAddr;

/* tcp:IPV4:PORT, tcp:[IPV6]:PORT, tcp:*:PORT (every IPv4 address), the same with udp:, and
 * unix:/ABSOLUTE/PATH or unix:@ABSTRACT. No host names: nothing is looked up. 0 or -EINVAL. */
int listen_addr_parse(const char *s, ListenAddr *ret);

/* A name for LISTEN_FDNAMES: 1-LISTEN_NAME_MAX printable ASCII characters, no ':' (the
 * separator) and no space, as systemd's fdname_is_valid(). */
bool listen_name_is_valid(const char *s);
