/* SPDX-License-Identifier: MIT */
/* libnats driven by the node's sd-event loop (DESIGN 1: one loop owns the state). libnats calls
 * its event-loop hooks (natsOptions_SetEventLoop: attach, read, write, detach) from whichever
 * thread it is on: its reconnect thread attaches a new socket, its timer thread stops polling a
 * stale one. What runs on another thread is queued here (a mutex-protected list) and the loop is
 * woken by an eventfd; on the loop thread, with nothing queued, it is done at once. Whatever else
 * libnats hands over from its threads (messages, connection callbacks) goes through the same
 * queue with nats_loop_post(), so every change of the node's state happens on the loop thread.
 *
 * The queue is bounded for what may be dropped (messages), per class, so that a flood of
 * publications never crowds out the heartbeats that say which nodes are alive; libnats' own
 * hooks and connection callbacks are never dropped (a few per reconnect). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>
#include <systemd/sd-event.h>

typedef struct NatsLoop NatsLoop;

/* Runs on the loop thread with what was posted. */
typedef void (*NatsLoopFn)(void *ud, void *payload);

typedef enum NatsLoopClass {
        NATS_LOOP_KEEP,         /* never dropped: few, and what the state depends on */
        NATS_LOOP_CONTROL,      /* heartbeats, changes of global names: NATS_LOOP_CONTROL_LIMIT */
        NATS_LOOP_BULK,         /* traffic (publications, calls): the loop's limit */
        _NATS_LOOP_CLASS_MAX,
} NatsLoopClass;

/* Control posts that may wait at once. */
#define NATS_LOOP_CONTROL_LIMIT 4096

/* A loop on e (borrowed), which must be run by the calling thread. limit: how many bulk posts
 * may wait at once. */
int nats_loop_new(sd_event *e, size_t limit, NatsLoop **ret);
/* Applies the hooks still queued (sockets closed, connections' state freed) and hands every
 * payload still waiting to its drop function (nats_loop_drop_posts() did so for the messages).
 * Call after the connections are destroyed and nats_CloseAndWait() has returned: nothing of
 * libnats may post any more. */
NatsLoop *nats_loop_free(NatsLoop *l);

/* Makes o's connections use l's loop. */
int nats_loop_use(NatsLoop *l, natsOptions *o);

/* From any thread: fn(ud, payload) on the loop thread, after everything posted before it.
 * Posts of a class other than NATS_LOOP_KEEP count against its bound: when it is reached,
 * -ENOBUFS (counted, and the caller keeps payload). drop (may be NULL) frees a payload never
 * delivered (nats_loop_free). 0, -ENOBUFS or -ENOMEM. */
int nats_loop_post(NatsLoop *l, NatsLoopFn fn, NatsLoopFn drop, void *ud, void *payload, NatsLoopClass cls);

/* A message libnats delivered on its thread, handed to fn(ud, msg) on the loop thread (a post
 * of class cls): when its bound is reached, or at nats_loop_free(), the message is destroyed.
 * fn owns it. */
void nats_loop_post_msg(NatsLoop *l, NatsLoopFn fn, void *ud, natsMsg *msg, NatsLoopClass cls);
/* Subscribes nc to subject: each message goes to fn(ud, msg) on the loop thread, as
 * nats_loop_post_msg() hands it. libnats delivers every subscription's messages on one thread
 * (the connection's options say natsOptions_UseGlobalMessageDelivery), in the order the server
 * sent them. The subscription is counted until libnats has delivered its last message, after
 * natsSubscription_Destroy() or the connection's close. 0, -ENOMEM or -EIO (libnats' error). */
int nats_loop_subscribe(NatsLoop *l, natsConnection *nc, const char *subject, NatsLoopFn fn, void *ud,
                        NatsLoopClass cls, natsSubscription **ret);
/* After the subscriptions are destroyed: waits at most timeout_ms for libnats to finish with
 * them (what it still had queued), which nats_CloseAndWait() does not wait for. True when done. */
bool nats_loop_wait_subscriptions(NatsLoop *l, int timeout_ms);
/* Hands every post still waiting to its drop function (messages are destroyed), keeping the
 * hooks. Call after nats_loop_wait_subscriptions() and before nats_CloseAndWait(): a message
 * destroyed after it crashes in libnats' freed garbage collector. */
void nats_loop_drop_posts(NatsLoop *l);
/* Posts refused because their class's bound was reached. */
uint64_t nats_loop_dropped(NatsLoop *l);
/* True on the thread that runs the loop. */
bool nats_loop_is_loop_thread(const NatsLoop *l);
