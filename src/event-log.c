/* SPDX-License-Identifier: MIT */
/* The ring of the last events. Entries (topic, NUL, payload) are written one after another into
 * one circular byte buffer; an index of max_events slots, addressed by sequence number modulo
 * max_events, says where each lives. An entry that runs past the end of the buffer is written on
 * into a spare tail of EVENT_LOG_ENTRY_MAX bytes and its overflow copied to the start, so that
 * every entry reads as one contiguous piece and the circle still accounts for its bytes. */
#include "event-log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

typedef struct Entry {
        size_t off;    /* in bytes[]: where it starts */
        uint32_t len;  /* topic, NUL and payload */
        uint32_t tlen; /* topic */
} Entry;

struct EventLog {
        Entry *index;        /* max_events slots */
        size_t max_events;
        char *bytes;         /* cap bytes, then the spare tail */
        size_t cap, entry_max;
        uint64_t first, next; /* the kept events are [first, next) */
        size_t head;         /* where the next entry goes */
        size_t used;         /* the kept entries' bytes */
};

int event_log_new(size_t max_events, size_t max_bytes, EventLog **ret) {
        if (max_events == 0 || max_bytes == 0 || max_bytes > SIZE_MAX - EVENT_LOG_ENTRY_MAX)
                return -EINVAL;
        EventLog *l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->max_events = max_events;
        l->cap = max_bytes;
        l->entry_max = max_bytes < EVENT_LOG_ENTRY_MAX ? max_bytes : EVENT_LOG_ENTRY_MAX;
        l->index = calloc(max_events, sizeof *l->index);
        l->bytes = malloc(l->cap + l->entry_max);
        if (!l->index || !l->bytes) {
                event_log_free(l);
                return -ENOMEM;
        }
        l->first = l->next = 1;
        *ret = l;
        return 0;
}

EventLog *event_log_free(EventLog *l) {
        if (!l)
                return NULL;
        free(l->index);
        free(l->bytes);
        return mfree(l);
}

uint64_t event_log_next_seq(const EventLog *l) {
        return l->next;
}

uint64_t event_log_newest(const EventLog *l) {
        return l->next - 1;
}

uint64_t event_log_oldest(const EventLog *l) {
        return l->first;
}

static Entry *entry_of(const EventLog *l, uint64_t seq) {
        return &l->index[seq % l->max_events];
}

uint64_t event_log_append(EventLog *l, const char *topic, const void *data, size_t len) {
        uint64_t seq = l->next++;
        size_t tlen = strlen(topic);

        if (tlen >= l->entry_max || len > l->entry_max - tlen - 1) {
                /* Not kept, and nothing before it is any use to a replay that would need it. */
                l->first = l->next;
                l->used = 0;
                return seq;
        }
        size_t total = tlen + 1 + len;
        while (seq - l->first >= l->max_events || l->used + total > l->cap) {
                l->used -= entry_of(l, l->first)->len;
                l->first++;
        }
        char *p = l->bytes + l->head;
        memcpy(p, topic, tlen + 1);
        if (len > 0)
                memcpy(p + tlen + 1, data, len);
        if (l->head + total > l->cap)
                memcpy(l->bytes, l->bytes + l->cap, l->head + total - l->cap);
        *entry_of(l, seq) = (Entry) { .off = l->head, .len = (uint32_t) total, .tlen = (uint32_t) tlen };
        l->head = (l->head + total) % l->cap;
        l->used += total;
        return seq;
}

int event_log_count_since(const EventLog *l, uint64_t since) {
        uint64_t newest = event_log_newest(l);
        if (since >= newest)
                return 0;
        if (since + 1 < l->first)
                return -ESRCH;
        return (int) (newest - since);
}

int event_log_replay(const EventLog *l, uint64_t since, EventLogVisit fn, void *ud) {
        int n = event_log_count_since(l, since);
        if (n <= 0)
                return n;
        for (uint64_t seq = since + 1; seq <= event_log_newest(l); seq++) {
                const Entry *e = entry_of(l, seq);
                const char *p = l->bytes + e->off;
                int r = fn(ud, seq, p, p + e->tlen + 1, e->len - e->tlen - 1);
                if (r < 0)
                        return r;
        }
        return n;
}
