/* SPDX-License-Identifier: MIT */
/* Unix socket files on a path: binding one with its mode set from the start, and removing one
 * only when it is a dead socket of ours, never whatever else happens to sit on the path. */
#pragma once

#include <sys/types.h>

typedef enum SocketBindFlags {
        SOCKET_PASSCRED = 1 << 0, /* SO_PASSCRED before bind: every datagram names its sender */
} SocketBindFlags;

/* Makes path free for a socket of the given type (SOCK_SEQPACKET, SOCK_DGRAM...): 0 when nothing
 * is there or a stale socket of ours was removed (nobody listens: connect() is refused);
 * -EADDRINUSE when something answers on it, -EEXIST when it is not a socket, -EPERM when it is
 * another user's socket. Nothing but a stale socket of ours is ever unlinked. */
int socket_unlink_stale(const char *path, int type);

/* bind() to path with the socket file created as mode (under a umask set around the call), so
 * that no chmod by path, which would follow a symlink put in its place, is ever needed. */
int socket_bind_path(int fd, const char *path, mode_t mode);

/* A server's socket on path, the one way the node makes one: a non-blocking, close-on-exec unix
 * socket of type, the stale socket of ours on path replaced (socket_unlink_stale: anything else
 * there is kept and refused), bound with its file created as mode. Returns the fd and, in
 * *ret_path, a copy of path that the caller unlinks when it closes the socket; on failure
 * nothing is left open and no file of ours is left on path. */
int socket_bind_unix(int type, const char *path, mode_t mode, SocketBindFlags flags, char **ret_path);
