/* SPDX-License-Identifier: MIT */
/* The node's end of one worker's mailbox: a non-blocking SOCK_SEQPACKET socket, a bounded
 * queue of outgoing frames flushed as few records as possible, and inbound records decoded
 * into frames for the router. Knows frames, not names or calls. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "chunk.h"
#include "proto.h"

typedef struct Mailbox Mailbox;
/* What the mailboxes of one owner share: the receive buffer and the state of the owner's flush
 * passes. The owner makes one, passes it to each mailbox_new() and frees it after them. */
typedef struct MailboxGroup MailboxGroup;

/* The reason given to MailboxHandlers.broken when a record could not be kept for want of
 * memory: the worker did nothing wrong, but part of what it sent is lost. */
#define MAILBOX_OUT_OF_MEMORY "out of memory: the rest of a record could not be kept"

typedef struct MailboxHandlers {
        /* One decoded frame. fd is an fd passed with the record (owned by the handler) or -1.
         * Returns the work it took: 1, plus 1 for each mailbox it was queued in. */
        unsigned (*frame)(void *ud, Mailbox *mb, const Frame *f, int fd);
        /* The worker broke the protocol; the mailbox is already closed. why is static text. */
        void (*broken)(void *ud, Mailbox *mb, const char *why);
        /* There is something to flush: the owner calls mailbox_flush() once this loop pass. */
        void (*dirty)(void *ud, Mailbox *mb);
        /* The other end went away (end of file, or the socket failed); the mailbox is closed.
         * May be NULL. Must not free the mailbox. */
        void (*hangup)(void *ud, Mailbox *mb);
} MailboxHandlers;

typedef struct MailboxStats {
        uint64_t in, out, dropped;
        unsigned depth;        /* frames the worker has not read yet (in the node or in the socket) */
} MailboxStats;

int mailbox_group_new(MailboxGroup **ret);
MailboxGroup *mailbox_group_free(MailboxGroup *g);

/* Takes ownership of fd (made non-blocking here). limit: queued frames before
 * mailbox_queue_limited() refuses. g is borrowed. */
int mailbox_new(sd_event *e, MailboxGroup *g, int fd, unsigned limit, const MailboxHandlers *h, void *ud,
                Mailbox **ret);
Mailbox *mailbox_free(Mailbox *mb);

/* Appends a frame to the outgoing queue whatever its depth (replies, errors, DOWN: bounded by
 * what was asked for). -ENOBUFS when closed, -EMSGSIZE for a frame over the limits, -ENOMEM
 * (counted as dropped) when memory runs out. */
int mailbox_queue(Mailbox *mb, const Frame *f);
/* The same for casts and calls: -EAGAIN (and counted as dropped) once `limit` frames wait,
 * whether in the node's queue or read by nobody yet in the socket. */
int mailbox_queue_limited(Mailbox *mb, const Frame *f);

/* Queues the encoded frame at c->data[off..off+len) by reference, limited as casts are: one
 * chunk serves every subscriber of a publication. */
int mailbox_queue_shared(Mailbox *mb, Chunk *c, size_t off, size_t len);

/* Writes queued frames as records (one frame per record until the worker said it reads
 * batches). Never blocks: what does not fit waits for EPOLLOUT. Returns the bytes written. */
size_t mailbox_flush(Mailbox *mb);
/* The owner routes messages outside a mailbox's wake-up (a control request): a full mailbox may
 * ask the kernel again what its worker has read. */
void mailbox_group_new_turn(MailboxGroup *g);
/* The owner starts a flush pass (see mailbox_flush_due()). */
void mailbox_group_next_pass(MailboxGroup *g);
/* Whether to flush mb in this pass. While some mailbox still has input to read, a little is
 * left to gather into whole records (a publication fanned out costs a system call per record
 * per subscriber, whatever the record's size), but never for more than a few passes. */
bool mailbox_flush_due(const Mailbox *mb);

/* Delivers everything the worker wrote and the node has not read yet (it has terminated: what
 * it sent before is still delivered, as in Erlang). */
void mailbox_drain(Mailbox *mb);
/* Stops the mailbox for good (a protocol violation): nothing more is read or sent. */
void mailbox_close(Mailbox *mb);
void mailbox_set_batch(Mailbox *mb, bool batch);
void mailbox_get_stats(Mailbox *mb, MailboxStats *ret);
/* The totals of every mailbox the group has had (depth 0). */
void mailbox_group_get_stats(const MailboxGroup *g, MailboxStats *ret);
/* mailbox_limit frames are waiting for the worker, in the node or in the socket. */
bool mailbox_is_full(Mailbox *mb);
