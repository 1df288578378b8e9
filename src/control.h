/* SPDX-License-Identifier: MIT */
/* The control socket server: accepts clients of the daemon's own uid (or root), reads one
 * length-checked request per connection and sends the answer without ever blocking. What a
 * request means is the handler's business (commands.c); this module only moves bytes. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "macro.h"

/* Connection limits (forkvisor(1), FILES): connections in all, per client uid other than root,
 * and the extra ones root may still open when the rest are taken. A connection that has not
 * sent its request (or not read its finished answer) within CONTROL_IDLE_SEC is closed. */
#define CONTROL_CONNECTIONS_MAX 256
#define CONTROL_CONNECTIONS_PER_UID 64
#define CONTROL_ROOT_RESERVE 16
#define CONTROL_IDLE_SEC 10

typedef struct ControlServer ControlServer;
typedef struct ControlRequest ControlRequest;

/* Called once per request. The handler answers now or later with control_reply_finish(). */
typedef void (*ControlHandler)(void *ud, ControlRequest *req, int argc, char **argv);
/* Called when a request that is still unanswered loses its client (or the server goes away). */
typedef void (*ControlAbandon)(ControlRequest *req, void *ud);

/* Listens on path (mode 0600). -EADDRINUSE when a daemon answers there, -EEXIST when the path is
 * something other than a socket, -EPERM when it is another user's socket. */
int control_server_new(sd_event *e, const char *path, ControlHandler handler, void *ud, ControlServer **ret);
ControlServer *control_server_free(ControlServer *s);
/* The idle time of connections accepted from now on (µs), CONTROL_IDLE_SEC unless changed: the
 * unit tests' seam, so that they need not wait ten seconds. */
void control_server_set_idle(ControlServer *s, uint64_t usec);
/* The connections open now (the one asking included). */
unsigned control_server_connections(const ControlServer *s);

void control_reply_printf(ControlRequest *r, const char *fmt, ...) _printf_(2, 3);
void control_reply_errorf(ControlRequest *r, const char *fmt, ...) _printf_(2, 3);
/* Text for the client's stderr printed as it is, without the "forkvisor: " of an error: the
 * "FILE:LINE: message" lines of an invalid configuration. */
void control_reply_diagnostic(ControlRequest *r, const char *fmt, ...) _printf_(2, 3);
void control_reply_append(ControlRequest *r, const char *data, size_t len);
/* The request's deadline (CLOCK_MONOTONIC µs) after which its client no longer waits; 0: none
 * (a client before deadlines). */
uint64_t control_request_deadline(const ControlRequest *r);
/* To be called before a request is carried out: -ECONNRESET (or another -errno) when its client
 * is already gone, so it must not be; else tells a client that asked for it (FV2) that the
 * request is being carried out, and returns 0. */
int control_request_accept(ControlRequest *r);
/* Ends the answer with an exit status; the connection closes once everything is sent. */
void control_reply_finish(ControlRequest *r, int status);
/* Ends the request with a CTL_STREAM packet and hands its connection over: returns the fd (the
 * request is freed), or -errno when nothing can be sent (the request is left as it was). */
int control_request_take_stream(ControlRequest *r);
void control_request_set_abandon(ControlRequest *r, ControlAbandon cb, void *ud);
/* Keeps the client's connection open until this process exits, so the client's end of file
 * means "the daemon has exited" (for `forkvisor shutdown`). */
void control_request_hold_until_exit(ControlRequest *r);
