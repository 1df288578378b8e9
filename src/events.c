/* SPDX-License-Identifier: MIT */
#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exitdesc.h"
#include "json.h"
#include "macro.h"
#include "time-util.h"

#define EVENT_MAX 1024 /* a path is at most a few hundred bytes */
_Static_assert(EVENT_MAX + sizeof "forkvisor:restarting" <= EVENT_LOG_ENTRY_MAX, "every event can be kept");

struct Events {
        Router *router;    /* borrowed */
        EventLog *log;     /* owned: the last events, and the numbering */
};

typedef struct Out {
        char *p;
        size_t size, len;
        bool overflow;
} Out;

static void put(Out *o, const char *fmt, ...) _printf_(2, 3);
static void put(Out *o, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->p + o->len, o->size - o->len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= o->size - o->len) {
                o->overflow = true;
                o->len = o->size - 1;
                return;
        }
        o->len += (size_t) n;
}

static void out_write(void *ud, const char *p, size_t n) {
        put(ud, "%.*s", (int) n, p);
}

static void put_string(Out *o, const char *s) {
        json_write_string(s, out_write, o);
}

/* RFC 3339, UTC, milliseconds: "2026-11-27T04:05:06.789Z". */
static void put_time(Out *o, uint64_t usec) {
        char buf[TIMESTAMP_ISO_MAX];
        format_time_iso(usec, buf, sizeof buf);
        put(o, "\"%s\"", buf);
}

static void begin(Out *o, const char *event, const char *path, pid_t pid) {
        put(o, "{\"event\": \"%s\", \"path\": ", event);
        put_string(o, path);
        if (pid > 0)
                put(o, ", \"pid\": %d", (int) pid);
        else
                put(o, ", \"pid\": null");
}

/* "seq" last: a script that matches the start of a line ({"event": "exited", "path": ...) still
 * does. */
static int end(Out *o, uint64_t realtime_usec, uint64_t seq) {
        put(o, ", \"time\": ");
        put_time(o, realtime_usec);
        put(o, ", \"seq\": %" PRIu64 "}", seq);
        return o->overflow ? -ENOBUFS : (int) o->len;
}

int events_format(char *buf, size_t size, const char *event, uint64_t seq, const char *path, pid_t pid, int code,
                  int status, const char *reason, unsigned restarts, uint64_t realtime_usec) {
        Out o = { buf, size, 0, size == 0 };
        if (size == 0)
                return -ENOBUFS;
        buf[0] = '\0';
        begin(&o, event, path, pid);
        char how[64];
        exit_describe(&(ExitHow) { code, status, false }, EXIT_STYLE_EVENT_JSON, how, sizeof how);
        put(&o, "%s", how);
        if (reason) {
                put(&o, ", \"reason\": ");
                put_string(&o, reason);
        }
        put(&o, ", \"restarts\": %u", restarts);
        return end(&o, realtime_usec, seq);
}

/* Every event is numbered and kept, whether anybody listens or not: `events --since` replays
 * what happened while nobody did. */
static void keep_and_publish(Events *e, const char *topic, const char *payload, int n) {
        if (n <= 0)
                return;
        event_log_append(e->log, topic, payload, (size_t) n);
        if (router_has_subscribers(e->router, topic))
                (void) router_publish(e->router, topic, payload, (size_t) n);
}

static void publish(Events *e, const char *event, const char *path, pid_t pid, int code, int status,
                    const char *reason, unsigned restarts) {
        char topic[64], payload[EVENT_MAX];
        snprintf(topic, sizeof topic, "forkvisor:%s", event);
        int n = events_format(payload, sizeof payload, event, event_log_next_seq(e->log), path, pid, code, status,
                              reason, restarts, now_realtime_usec());
        keep_and_publish(e, topic, payload, n);
}

void events_publish_tree(Events *e, Node *n, TreeEvent ev) {
        switch (ev) {
        case TREE_EVENT_STARTED:
                /* A supervisor's "started" is its READY, below: one per start, not two. */
                if (!node_is_supervisor(n))
                        publish(e, "started", n->path, n->pid, 0, 0, NULL, n->restarts);
                return;
        case TREE_EVENT_READY:
                /* A supervisor has no process: it has started when all its children have. */
                if (node_is_supervisor(n))
                        publish(e, "started", n->path, 0, 0, 0, NULL, n->restarts);
                return;
        case TREE_EVENT_EXITED:
                publish(e, "exited", n->path, n->pid, n->exit_code, n->exit_status,
                        node_reason_to_string(n->exit_reason), n->restarts);
                return;
        case TREE_EVENT_RESTARTING:
                /* Why it went down: restarted by its policy after a crash, a normal exit, ... */
                publish(e, "restarting", n->path, n->pid, 0, 0, node_reason_to_string(n->exit_reason), n->restarts);
                return;
        case TREE_EVENT_GAVE_UP:
                publish(e, "gave_up", n->path, 0, 0, 0, NULL, n->restarts);
                return;
        default:
                return;
        }
}

void events_publish_reload(Events *e, const char *root_path, const ReloadCounts *c) {
        char payload[EVENT_MAX];
        Out o = { payload, sizeof payload, 0, false };
        begin(&o, "reload", root_path, getpid());
        put(&o, ", \"unchanged\": %u, \"changed\": %u, \"added\": %u, \"removed\": %u", c->unchanged, c->changed,
            c->added, c->removed);
        if (c->scaled > 0) /* simple_one_for_one supervisors whose instances changed */
                put(&o, ", \"scaled\": %u", c->scaled);
        put(&o, ", \"restarts\": 0");
        keep_and_publish(e, "forkvisor:reload", payload, end(&o, now_realtime_usec(), event_log_next_seq(e->log)));
}

void events_publish_cluster(Events *e, const char *event, const char *node, const char *server) {
        char topic[64], payload[EVENT_MAX];
        Out o = { payload, sizeof payload, 0, false };
        bool of_cluster = strncmp(event, "cluster:", 8) == 0;

        snprintf(topic, sizeof topic, "forkvisor:%s", event);
        put(&o, "{\"event\": \"%s\", \"path\": null, \"pid\": null, \"node\": ", event);
        put_string(&o, node);
        if (of_cluster) {
                put(&o, ", \"server\": ");
                if (server)
                        put_string(&o, server);
                else
                        put(&o, "null");
        }
        keep_and_publish(e, topic, payload, end(&o, now_realtime_usec(), event_log_next_seq(e->log)));
}

int events_new(Router *router, Events **ret) {
        Events *e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        int r = event_log_new(EVENT_LOG_EVENTS, EVENT_LOG_BYTES, &e->log);
        if (r < 0) {
                free(e);
                return r;
        }
        e->router = router;
        *ret = e;
        return 0;
}

Events *events_free(Events *e) {
        if (!e)
                return NULL;
        event_log_free(e->log);
        return mfree(e);
}

const EventLog *events_log(const Events *e) {
        return e->log;
}
