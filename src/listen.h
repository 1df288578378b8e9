/* SPDX-License-Identifier: MIT */
/* Socket activation's sockets: opened by the node (socket, SO_REUSEADDR, bind, listen) before
 * the worker first starts, kept across its restarts so that the backlog holds what arrives
 * meanwhile, closed when the worker is removed or the node exits. */
#pragma once

#include <stddef.h>

typedef struct ListenSet {
        int *fds;                  /* owned; in the order of the addresses */
        size_t n;
} ListenSet;

/* Opens one socket per address (listen_addr_parse()'s text), unix ones with mode (a stale socket
 * file is unlinked first). 0, or -errno with what failed in error (the set is left empty). */
int listen_set_open(ListenSet *set, char *const *addrs, int mode, char *error, size_t size);
void listen_set_close(ListenSet *set);
/* LISTEN_FDNAMES's value for n sockets and names (none: "unknown" for each, as systemd; one:
 * for all; else one each), in a new string, or NULL. */
char *listen_fdnames(char *const *names, size_t n);
