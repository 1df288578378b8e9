/* SPDX-License-Identifier: MIT */
/* The node's memory of its last lifecycle events, for `forkvisor events --since SEQ`: a bounded
 * ring of (sequence number, topic, payload), numbered 1, 2, 3, ... in the order they were
 * appended. The oldest are dropped to make room, so that at most max_events events of at most
 * max_bytes bytes are kept; the memory is taken once, at event_log_new(), never per event. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* What the node keeps (forkvisor(1), "events"): the last 1024 events, fewer if they take more
 * than 256 KiB (an event is a line of 150 to 400 bytes, its path's length and more). */
#define EVENT_LOG_EVENTS 1024
#define EVENT_LOG_BYTES (256 * 1024)
/* The largest entry (topic, NUL and payload) that can be kept. */
#define EVENT_LOG_ENTRY_MAX 4096

typedef struct EventLog EventLog;

/* max_events >= 1; max_bytes >= 1 (entries longer than max_bytes or EVENT_LOG_ENTRY_MAX cannot
 * be kept). -ENOMEM, -EINVAL. */
int event_log_new(size_t max_events, size_t max_bytes, EventLog **ret);
EventLog *event_log_free(EventLog *l);

/* The sequence number the next appended event gets: 1 for the first. */
uint64_t event_log_next_seq(const EventLog *l);
/* The sequence number of the last appended event: 0 before the first. */
uint64_t event_log_newest(const EventLog *l);
/* The sequence number of the oldest event still kept; newest + 1 when none is kept. */
uint64_t event_log_oldest(const EventLog *l);

/* Appends an event and returns its sequence number (event_log_next_seq() before the call),
 * dropping the oldest as needed. It never fails: an entry too long to keep still takes its
 * number, and then empties the ring, so that no replay can pass over it unnoticed. */
uint64_t event_log_append(EventLog *l, const char *topic, const void *data, size_t len);

/* Called with each event replayed; topic is NUL-terminated, data is not. Valid during the call
 * only. A negative return stops the replay and is returned. */
typedef int (*EventLogVisit)(void *ud, uint64_t seq, const char *topic, const char *data, size_t len);

/* How many events have a sequence number above since (0 when since is at or above the newest),
 * or -ESRCH when one of them is no longer kept. */
int event_log_count_since(const EventLog *l, uint64_t since);
/* Calls fn for every event with a sequence number above since, oldest first, and returns how
 * many; -ESRCH (nothing called) when one of them is no longer kept (event_log_oldest() says from
 * which one on they are). A since at or above event_log_newest() replays nothing. */
int event_log_replay(const EventLog *l, uint64_t since, EventLogVisit fn, void *ud);
