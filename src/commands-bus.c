/* SPDX-License-Identifier: MIT */
/* The commands that reach workers through the router on behalf of someone outside the tree:
 * send, call and get-state to a registered name, publish, and the subscription streams of
 * subscribe and events (with events --since, the replay of the kept events first). */
#include "commands-bus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "log.h"
#include "proto.h"
#include "strv.h"
#include "topic.h"

/* What a router's refusal of a cast or a call means, for the operator. */
static const char *router_error(int r) {
        switch (r) {
        case -ESRCH:
                return "noproc: no process is registered under that name";
        case -ENOTCONN:
                return "noconnection: this node is not connected to its cluster now";
        case -EAGAIN:
                return "mailbox full";
        case -EMSGSIZE:
                return "message too long (more than 65536 bytes)";
        default:
                return strerror(-r);
        }
}

/* send NAME DATA: a cast from outside the tree. Unlike a cast between workers, the operator is
 * told when nobody holds the name. */
void bus_send(Manager *m, ControlRequest *req, char **argv) {
        int r = router_cast(manager_router(m), argv[1], argv[2], strlen(argv[2]));
        if (r < 0) {
                control_reply_errorf(req, "%s\n", router_error(r));
                control_reply_finish(req, 1);
                return;
        }
        control_reply_finish(req, 0);
}

/* publish TOPIC DATA */
void bus_publish(Manager *m, ControlRequest *req, char **argv) {
        int r = router_publish(manager_router(m), argv[1], argv[2], strlen(argv[2]));
        if (r < 0) {
                control_reply_errorf(req, "%s\n", r == -EINVAL ? "bad topic: 1-255 printable characters, no whitespace, no '*'"
                                                   : r == -EMSGSIZE ? "message too long (more than 65536 bytes)"
                                                   : strerror(-r));
                control_reply_finish(req, r == -EINVAL ? 2 : 1);
                return;
        }
        control_reply_finish(req, 0);
}

/* What an outside subscriber may have queued before it loses messages: the default
 * mailbox_limit of a worker. */
#define OUTSIDE_SUBSCRIBER_LIMIT 1024

/* The connection becomes a subscriber of patterns: see router_stream_new(). Its queue holds
 * extra messages more than a subscriber's, for what the caller sends at once. Returns the
 * stream, or NULL when the request was answered or the stream could not be opened. The client
 * says `ready` (subscribe --ready) when it reads CTL_STREAM: sent here, in the loop pass that
 * subscribes, so no request it makes after that can be served before the subscription is live. */
static Peer *stream_topics(Manager *m, ControlRequest *req, char **patterns, unsigned extra) {
        STRV_FOREACH(t, patterns)
                if (!topic_pattern_is_valid(*t, strlen(*t))) {
                        control_reply_errorf(req, "bad topic '%s': 1-255 printable characters, no whitespace, '*' only at the end\n",
                                             *t);
                        control_reply_finish(req, 2);
                        return NULL;
                }
        int fd = control_request_take_stream(req);
        if (fd < 0) {
                control_reply_finish(req, 1);
                return NULL;
        }
        Peer *p;
        int r = router_stream_new(manager_router(m), fd, patterns, OUTSIDE_SUBSCRIBER_LIMIT + extra, &p);
        if (r < 0) {
                log_warning("Cannot open a subscription for a client: %s", strerror(-r));
                return NULL;
        }
        return p;
}

/* subscribe PATTERN... */
void bus_subscribe(Manager *m, ControlRequest *req, char **argv) {
        (void) stream_topics(m, req, argv + 1, 0);
}

static int replay_one(void *ud, uint64_t seq, const char *topic, const char *data, size_t len) {
        return router_stream_send(ud, topic, data, len);
}

/* events [SINCE]: with SINCE, the events kept after it first, then the live ones. Both in this
 * loop pass, which no event can interrupt: none is missed or seen twice. */
static void events_stream(Manager *m, ControlRequest *req, char **argv, char **patterns) {
        if (!argv[1]) {
                (void) stream_topics(m, req, patterns, 0);
                return;
        }
        const EventLog *log = events_log(manager_events(m));
        uint64_t since, newest = event_log_newest(log);
        char *end;
        errno = 0;
        since = strtoull(argv[1], &end, 10);
        if (!argv[1][0] || *end || errno || strspn(argv[1], "0123456789") != strlen(argv[1])) {
                control_reply_errorf(req, "--since takes a sequence number, not '%s'\n", argv[1]);
                control_reply_finish(req, 2);
                return;
        }
        if (since > newest) {
                control_reply_errorf(req, "no event %" PRIu64 " yet: the last is %" PRIu64
                                     " (a sequence number from an earlier daemon?)\n", since, newest);
                control_reply_finish(req, 1);
                return;
        }
        int n = event_log_count_since(log, since);
        if (n < 0) {
                control_reply_errorf(req, "events after %" PRIu64 " are no longer kept: the oldest kept is %" PRIu64 "\n",
                                     since, event_log_oldest(log));
                control_reply_finish(req, 1);
                return;
        }
        Peer *p = stream_topics(m, req, patterns, (unsigned) n);
        if (p && event_log_replay(log, since, replay_one, p) < 0)
                log_warning("Cannot replay the events after %" PRIu64 " to a client", since);
}

void bus_events(Manager *m, ControlRequest *req, char **argv) {
        char *patterns[] = { (char *) "forkvisor:*", NULL };
        events_stream(m, req, argv, patterns);
}

/* events --cluster [SINCE]: this node's, and the other nodes' as they come
 * (forkvisor-cluster:*, cluster-pubsub.h). */
void bus_events_cluster(Manager *m, ControlRequest *req, char **argv) {
        char *patterns[] = { (char *) "forkvisor:*", (char *) "forkvisor-cluster:*", NULL };
        events_stream(m, req, argv, patterns);
}

/* A call from outside the tree in flight: answered by the router, or abandoned by its client. */
typedef struct OutsideCall {
        Manager *manager;
        ControlRequest *req;
        uint64_t ref;
} OutsideCall;

static void on_call_answer(void *ud, int status, const void *data, size_t len) {
        OutsideCall *oc = ud;
        control_request_set_abandon(oc->req, NULL, NULL);
        if (status == 0) {
                control_reply_append(oc->req, data, len);
                control_reply_append(oc->req, "\n", 1);
        } else
                control_reply_errorf(oc->req, "%.*s\n", (int) len, (const char *) data);
        control_reply_finish(oc->req, status == 0 ? 0 : 1);
        free(oc);
}

static void on_call_abandoned(ControlRequest *req, void *ud) {
        OutsideCall *oc = ud;
        router_cancel(manager_router(oc->manager), oc->ref);
        free(oc);
}

static void outside_call(Manager *m, ControlRequest *req, uint8_t kind, const char *name, const char *data,
                         const char *timeout) {
        char *end;
        unsigned long long ms = timeout[0] ? strtoull(timeout, &end, 10) : 0;
        if ((timeout[0] && *end) || ms > UINT32_MAX) {
                control_reply_errorf(req, "bad timeout '%s'\n", timeout);
                control_reply_finish(req, 2);
                return;
        }
        OutsideCall *oc = calloc(1, sizeof *oc);
        if (!oc) {
                control_reply_errorf(req, "out of memory\n");
                control_reply_finish(req, 1);
                return;
        }
        oc->manager = m;
        oc->req = req;
        control_request_set_abandon(req, on_call_abandoned, oc);
        int r = router_call(manager_router(m), kind, name, data, strlen(data), (uint32_t) ms,
                            on_call_answer, oc, &oc->ref);
        if (r < 0) {
                control_request_set_abandon(req, NULL, NULL);
                free(oc);
                control_reply_errorf(req, "%s\n", router_error(r));
                control_reply_finish(req, 1);
        }
}

/* call NAME DATA TIMEOUT_MS */
void bus_call(Manager *m, ControlRequest *req, char **argv) {
        outside_call(m, req, PROTO_CALL, argv[1], argv[2], argv[3]);
}

/* get-state NAME TIMEOUT_MS */
void bus_get_state(Manager *m, ControlRequest *req, char **argv) {
        outside_call(m, req, PROTO_GET_STATE, argv[1], "", argv[2]);
}
