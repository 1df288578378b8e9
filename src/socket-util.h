/* SPDX-License-Identifier: MIT */
/* Unix socket files on a path: binding one with its mode set from the start, and removing one
 * only when it is a dead socket of ours, never whatever else happens to sit on the path. */
#pragma once

#include <sys/types.h>

/* Makes path free for a socket of the given type (SOCK_SEQPACKET, SOCK_DGRAM...): 0 when nothing
 * is there or a stale socket of ours was removed (nobody listens: connect() is refused);
 * -EADDRINUSE when something answers on it, -EEXIST when it is not a socket, -EPERM when it is
 * another user's socket. Nothing but a stale socket of ours is ever unlinked. */
int socket_unlink_stale(const char *path, int type);

/* bind() to path with the socket file created as mode (under a umask set around the call), so
 * that no chmod by path, which would follow a symlink put in its place, is ever needed. */
int socket_bind_path(int fd, const char *path, mode_t mode);
