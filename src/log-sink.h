/* SPDX-License-Identifier: MIT */
/* Where the daemon's log lines go when they go to stderr: a bounded queue in front of a
 * non-blocking descriptor, so a reader that stops reading (a paused pager, a stuck pipe) costs
 * the node log lines, never its loop. Whole records only: a record that does not fit is dropped
 * and counted, and once the reader has caught up one line says how many were lost. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "time-util.h"

#include <systemd/sd-event.h>

/* Room for queued records; a record is at most a few KiB. */
#define LOG_SINK_QUEUE_MAX (256 * 1024)

/* Starts queueing in front of fd (the daemon passes STDERR_FILENO), which must stay open. A
 * regular file is written as it is; a socket with MSG_DONTWAIT; anything else (pipe, FIFO, tty)
 * is opened again as a file description of our own that is made non-blocking, so children that
 * inherit fd keep a blocking one. capacity 0 means LOG_SINK_QUEUE_MAX (less is for tests). */
int log_sink_open(int fd, size_t capacity);
/* Stops queueing: what is left is written within a bounded time, then dropped. */
void log_sink_close(void);
bool log_sink_is_open(void);

/* From now on the loop writes what is queued whenever the descriptor takes more (EPOLLOUT).
 * Before this, and after detach, a record that cannot be written at once waits a bounded time. */
int log_sink_attach(sd_event *e);
/* Writes what is queued within a bounded time and leaves the loop (before it is freed). */
void log_sink_detach(void);

/* Queues one record (the iovecs together, ending in its newline). false when it was dropped. */
bool log_sink_write(const struct iovec *iov, size_t n);

/* Whether the stderr lines (log.c's, and the sink's own about dropped records) carry the time
 * after their "<N>" (log_timestamps). */
void log_sink_set_timestamps(bool on);
/* A stderr line's prefix into buf: "<N>" and, with timestamps on, the time and a space after it
 * (the level stays first, where journald and syslog parsers read it). Returns its length. */
#define LOG_SINK_PREFIX_MAX (16 + TIMESTAMP_ISO_MAX)
size_t log_sink_line_prefix(char *buf, size_t size, int prio);

/* Records dropped since the sink was opened, and bytes waiting now. */
uint64_t log_sink_dropped_total(void);
size_t log_sink_queued(void);
