/* SPDX-License-Identifier: MIT */
/* sd_notify in both directions: towards our own service manager (READY=1, STATUS=, STOPPING=1;
 * no-ops without $NOTIFY_SOCKET), and a NOTIFY_SOCKET of our own for `ready = notify` children,
 * whose datagrams are told apart by the sender's credentials (SCM_CREDENTIALS). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

typedef struct NotifyServer NotifyServer;

/* One datagram: msg is NUL-terminated, newline-separated assignments; sender is the pid the
 * kernel vouches for. Returns < 0 when sender is none of the node's children: the datagram is
 * then dropped and counted, and msg must have been left alone. */
typedef int (*NotifyHandler)(void *ud, pid_t sender, const char *msg);

int notify_server_new(sd_event *e, const char *path, NotifyHandler handler, void *ud, NotifyServer **ret);
NotifyServer *notify_server_free(NotifyServer *s);
const char *notify_server_path(const NotifyServer *s);
/* An O_PATH descriptor of the socket file (close-on-exec): a child of another uid, which cannot
 * reach the path, is given it and sends to /proc/self/fd/N. */
int notify_server_path_fd(const NotifyServer *s);
/* Datagrams dropped because their sender was not a child of ours. */
unsigned long notify_server_dropped(const NotifyServer *s);

/* The value of KEY in a notify message ("READY", "STATUS"...), copied to buf; NULL if absent. */
const char *notify_field(const char *msg, const char *key, char *buf, size_t size);
