/* SPDX-License-Identifier: MIT */
/* One mailbox, node side. Outgoing frames are queued as ranges of encoded frames in refcounted
 * chunks (a publication is encoded once and queued by every subscriber) and written as records
 * of many frames (or one per record for workers that did not ask for batches), once per flush
 * pass; incoming records are checked whole, then delivered frame by frame within a bounded amount
 * of work per wake-up. */
#include "mailbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "array.h"
#include "chunk.h"
#include "macro.h"
#include "priority.h"

/* The work done per wake-up, after which child exits and timers get their turn: a frame counts
 * 1, and 1 more for every mailbox it is queued in (a publication to 100 subscribers counts 101).
 * A record holds up to ~650 frames, each of which may fan out: a record is delivered in parts
 * when it is more than that. */
#define MAILBOX_WORK_PER_WAKEUP 16384
#define MAILBOX_FDS_MAX 4
/* While input waits to be read, a mailbox is flushed once it holds this much (whole records are
 * what makes fan-out cheap), or once it has waited this many passes. */
#define MAILBOX_FLUSH_EARLY_BYTES (48 * 1024)
#define MAILBOX_FLUSH_MAX_PASSES 8

struct Mailbox {
        int fd;
        sd_event *event;           /* borrowed */
        MailboxGroup *group;       /* borrowed: outlives the mailbox */
        uint64_t refreshed_at;     /* turn of the last SIOCOUTQ refresh */
        uint64_t dirty_since;      /* flush pass in which it had something to send */
        size_t out_bytes;          /* queued in segs */
        bool backlog;              /* the last wake-up ran out of work budget: more input waits */
        sd_event_source *source;
        /* The part of a record not delivered yet (the wake-up's work ran out), and the source
         * that delivers it on a later pass. */
        char *rest;
        size_t rest_len, rest_off;
        sd_event_source *resume;
        unsigned limit;
        MailboxHandlers handlers;
        void *ud;
        /* What is still to send, in order: ranges of whole encoded frames in chunks, either the
         * mailbox's own (replies, casts: encoded here) or one shared with other mailboxes (a
         * publication, encoded once for every subscriber). */
        struct Segment { Chunk *chunk; uint32_t off, len, frames; } *segs;
        size_t seg_head, seg_len, seg_cap;
        Chunk *own;
        bool blocked;              /* the socket is full: waiting for EPOLLOUT */
        unsigned depth;            /* frames in segs */
        /* Records written but not yet read by the worker: mailbox_limit counts these too. The
         * kernel only tells how many bytes of buffer they hold (SIOCOUTQ), so while the limit
         * is in sight each record's share is measured when it is sent, and records leave from
         * the front as that total falls. Far from the limit nothing is measured: `unmeasured`
         * counts the frames sent since the socket was last seen empty, an upper bound of what
         * is unread, and one SIOCOUTQ when that bound reaches half the limit says whether to
         * start measuring (a worker that keeps up costs one system call per `limit`/2 frames). */
        struct Flight { uint32_t bytes, frames; } *flight;
        size_t flight_head, flight_len, flight_cap;
        size_t flight_bytes;
        unsigned flight_frames;
        unsigned unmeasured;
        bool measuring;
        bool batch;
        bool closed;               /* protocol error or the worker went away: nothing more */
        bool eof;                  /* the worker closed its end for reading */
        bool write_closed;         /* sending failed for good: only reading goes on */
        bool dirty;
        uint64_t in, sent, dropped;
};

/* What the mailboxes of one owner share. The node has one thread, so one receive buffer serves
 * them all; the counters drive the owner's flush passes (mailbox_flush_due()). */
struct MailboxGroup {
        char record_buf[PROTO_RECORD_MAX + 1];
        /* Counts the owner's flush passes (mailbox_group_next_pass()), to tell how long a
         * mailbox has waited. */
        uint64_t flush_pass;
        /* Counts the loop's turns that route messages (a mailbox's wake-up, a control request): a
         * full mailbox asks the kernel what its worker has read at most once a turn. Cheaper than
         * asking sd-event for its iteration at every message a flood drops. */
        uint64_t turn;
        /* Mailboxes whose input waits for a later pass (see mailbox_flush_due()). */
        unsigned n_backlogged;
        /* What every mailbox of the group has counted, including those freed since: the node's
         * totals (`forkvisor metrics`), which a restart does not take back. */
        uint64_t in, sent, dropped;
};

int mailbox_group_new(MailboxGroup **ret) {
        MailboxGroup *g = malloc(sizeof *g);
        if (!g)
                return -ENOMEM;
        g->flush_pass = 1;
        g->turn = 1;
        g->n_backlogged = 0;
        g->in = g->sent = g->dropped = 0;
        *ret = g;
        return 0;
}

MailboxGroup *mailbox_group_free(MailboxGroup *g) {
        /* Every mailbox of the group is freed before it. */
        assert(!g || g->n_backlogged == 0);
        return mfree(g);
}

/* Lost frames, counted by the mailbox and by its group. */
static void count_dropped(Mailbox *mb, uint64_t n) {
        mb->dropped += n;
        mb->group->dropped += n;
}

static void set_backlog(Mailbox *mb, bool backlog) {
        if (mb->backlog != backlog)
                mb->group->n_backlogged += backlog ? 1 : (unsigned) -1;
        mb->backlog = backlog;
}

/* An array used as a queue ([head, len) in use) that is full reuses its consumed front before
 * it grows (ARRAY_GROW after this then has nothing to do). */
static void fifo_compact(void *a, size_t size, size_t *head, size_t *len, size_t cap) {
        if (*len < cap || *head == 0)
                return;
        memmove(a, (char *) a + *head * size, (*len - *head) * size);
        *len -= *head;
        *head = 0;
}

static void close_fds(const int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
}

static void segments_clear(Mailbox *mb) {
        for (size_t i = mb->seg_head; i < mb->seg_len; i++)
                chunk_unref(mb->segs[i].chunk);
        mb->seg_head = mb->seg_len = 0;
}

void mailbox_close(Mailbox *mb) {
        if (mb->closed)
                return;
        mb->closed = true;
        count_dropped(mb, mb->depth);
        mb->depth = 0;
        mb->out_bytes = 0;
        set_backlog(mb, false);
        segments_clear(mb);
        mb->source = sd_event_source_disable_unref(mb->source);
        mb->resume = sd_event_source_disable_unref(mb->resume);
        mb->rest = mfree(mb->rest);
        mb->fd = safe_close(mb->fd);
}

static void hangup(Mailbox *mb) {
        mailbox_close(mb);
        if (mb->handlers.hangup)
                mb->handlers.hangup(mb->ud, mb);
}

static void broken(Mailbox *mb, const char *why) {
        mailbox_close(mb);
        mb->handlers.broken(mb->ud, mb, why);
}

/* Delivers the frames of buf[off..len) (a checked record) while the work budget lasts; returns
 * the offset reached. */
static size_t deliver(Mailbox *mb, const char *buf, size_t len, size_t off, int fd, long *budget) {
        while (off < len && !mb->closed && *budget > 0) {
                Frame f;
                size_t used;
                (void) proto_decode(buf + off, len - off, &f, &used);
                off += used;
                mb->in++;
                mb->group->in++;
                *budget -= (long) mb->handlers.frame(mb->ud, mb, &f, fd);
        }
        return off;
}

/* Keeps buf[off..len) for a later pass (buf may be the rest itself). */
static void keep_rest(Mailbox *mb, const char *buf, size_t len, size_t off) {
        if (buf != mb->rest) {
                char *r = malloc(len - off);
                if (!r) {
                        broken(mb, MAILBOX_OUT_OF_MEMORY);
                        return;
                }
                memcpy(r, buf + off, len - off);
                free(mb->rest);
                mb->rest = r;
                mb->rest_len = len - off;
                off = 0;
        }
        mb->rest_off = off;
        (void) sd_event_source_set_enabled(mb->resume, SD_EVENT_ONESHOT);
}

/* Delivers what was kept, then reads records, while the work budget lasts. Returns true when
 * all is delivered and the socket had nothing more to give (or the mailbox closed). */
static bool read_records(Mailbox *mb, long budget) {
        char *buf = mb->group->record_buf;
        if (mb->rest) {
                size_t off = deliver(mb, mb->rest, mb->rest_len, mb->rest_off, -1, &budget);
                if (mb->closed)
                        return true;
                if (off < mb->rest_len) {
                        keep_rest(mb, mb->rest, mb->rest_len, off);
                        return mb->closed;
                }
                mb->rest = mfree(mb->rest);
        }
        while (budget > 0 && !mb->closed) {
                union {
                        struct cmsghdr align;
                        char space[CMSG_SPACE(sizeof(int) * MAILBOX_FDS_MAX)];
                } control;
                struct iovec iov = { buf, sizeof mb->group->record_buf };
                struct msghdr mh = {
                        .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = &control, .msg_controllen = sizeof control,
                };
                ssize_t n = recvmsg(mb->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
                if (n < 0) {
                        if (errno == EAGAIN)
                                return true;
                        if (errno == EINTR)
                                continue;
                        hangup(mb);
                        return true;
                }

                int fds[MAILBOX_FDS_MAX];
                size_t n_fds = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                                for (size_t j = 0; j < k && n_fds < MAILBOX_FDS_MAX; j++)
                                        memcpy(&fds[n_fds++], CMSG_DATA(c) + j * sizeof(int), sizeof(int));
                        }

                if (n == 0) {
                        /* The worker closed its end: it can no longer hear us either. */
                        close_fds(fds, n_fds);
                        mb->eof = true;
                        hangup(mb);
                        return true;
                }
                if (n > PROTO_RECORD_MAX || (mh.msg_flags & MSG_CTRUNC)) {
                        close_fds(fds, n_fds);
                        broken(mb, n > PROTO_RECORD_MAX ? "record too long" : "too many file descriptors");
                        return true;
                }

                /* Checked whole before any frame is delivered: a record that breaks the
                 * protocol is not acted on at all. */
                const char *why = NULL;
                if (proto_check_record(buf, (size_t) n, PROTO_TO_NODE, n_fds, &why) < 0) {
                        close_fds(fds, n_fds);
                        broken(mb, why);
                        return true;
                }
                /* A record with an fd is one frame: it is never split. */
                size_t off = deliver(mb, buf, (size_t) n, 0, n_fds > 0 ? fds[0] : -1, &budget);
                if (!mb->closed && off < (size_t) n) {
                        keep_rest(mb, buf, (size_t) n, off);
                        return mb->closed; /* closed: it could not be kept, nothing waits */
                }
        }
        if (mb->closed)
                return true;
        /* The budget ran out at the end of a record: is there more? (The next record's length,
         * 0 when there is none.) When there is, the socket wakes us again. */
        int next = 0;
        if (ioctl(mb->fd, SIOCINQ, &next) == 0 && next == 0)
                return true;
        return false;
}

void mailbox_group_new_turn(MailboxGroup *g) {
        g->turn++;
}

static int on_mailbox_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Mailbox *mb = userdata;
        mb->group->turn++;
        if (revents & EPOLLOUT)
                (void) mailbox_flush(mb);
        /* While part of a record waits, the socket's records wait behind it. */
        if (!mb->closed && !mb->rest && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                set_backlog(mb, !read_records(mb, MAILBOX_WORK_PER_WAKEUP));
        return 0;
}

static int on_resume(sd_event_source *s, void *userdata) {
        Mailbox *mb = userdata;
        mb->group->turn++;
        if (!mb->closed)
                set_backlog(mb, !read_records(mb, MAILBOX_WORK_PER_WAKEUP));
        return 0;
}

int mailbox_new(sd_event *e, MailboxGroup *g, int fd, unsigned limit, const MailboxHandlers *h, void *ud,
                Mailbox **ret) {
        Mailbox *mb = calloc(1, sizeof *mb);
        if (!mb) {
                safe_close(fd);
                return -ENOMEM;
        }
        mb->fd = fd;
        mb->event = e;
        mb->group = g;
        mb->limit = limit;
        mb->handlers = *h;
        mb->ud = ud;
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
                int r = -errno;
                mailbox_free(mb);
                return r;
        }
        int r = sd_event_add_io(e, &mb->source, fd, EPOLLIN, on_mailbox_io, mb);
        if (r >= 0)
                r = sd_event_add_defer(e, &mb->resume, on_resume, mb);
        if (r < 0) {
                mailbox_free(mb);
                return r;
        }
        (void) sd_event_source_set_enabled(mb->resume, SD_EVENT_OFF);
        /* Below child exits, timers and control requests: a flood of messages never delays a
         * restart. Bounded per wake-up by MAILBOX_WORK_PER_WAKEUP. */
        sd_event_source_set_priority(mb->source, PRIORITY_MAILBOX);
        sd_event_source_set_priority(mb->resume, PRIORITY_MAILBOX);
        *ret = mb;
        return 0;
}

Mailbox *mailbox_free(Mailbox *mb) {
        if (!mb)
                return NULL;
        set_backlog(mb, false);
        sd_event_source_disable_unref(mb->source);
        sd_event_source_disable_unref(mb->resume);
        free(mb->rest);
        safe_close(mb->fd);
        segments_clear(mb);
        free(mb->segs);
        chunk_unref(mb->own);
        free(mb->flight);
        return mfree(mb);
}

static int segment_push(Mailbox *mb, Chunk *c, size_t off, size_t len) {
        if (mb->seg_len > mb->seg_head) {
                struct Segment *last = &mb->segs[mb->seg_len - 1];
                if (last->chunk == c && last->off + last->len == off) {
                        last->len += (uint32_t) len;
                        last->frames++;
                        goto queued;
                }
        }
        fifo_compact(mb->segs, sizeof *mb->segs, &mb->seg_head, &mb->seg_len, mb->seg_cap);
        if (ARRAY_GROW(mb->segs, mb->seg_cap, mb->seg_len + 1) < 0)
                return -ENOMEM;
        mb->segs[mb->seg_len++] = (struct Segment) { chunk_ref(c), (uint32_t) off, (uint32_t) len, 1 };
queued:
        mb->depth++;
        mb->out_bytes += len;
        if (!mb->dirty) {
                mb->dirty = true;
                mb->dirty_since = mb->group->flush_pass;
                mb->handlers.dirty(mb->ud, mb);
        }
        return 0;
}

/* The mailbox's own chunk, emptied when nothing queued points into it any more. */
static Chunk *own_chunk(Mailbox *mb, size_t size) {
        if (mb->own && mb->own->refs == 1) {
                if (mb->own->cap > 16 * 1024 * 1024)
                        mb->own = chunk_unref(mb->own); /* a burst is over: do not keep its memory */
                else
                        mb->own->len = 0;
        }
        if (!mb->own && !(mb->own = chunk_new(4096)))
                return NULL;
        /* Segments hold 32-bit offsets: a worker that has let 4 GiB pile up gets no more. */
        if (mb->own->len + size > UINT32_MAX)
                return NULL;
        return chunk_reserve(mb->own, size) < 0 ? NULL : mb->own;
}

int mailbox_queue(Mailbox *mb, const Frame *f) {
        if (mb->closed || mb->write_closed)
                return -ENOBUFS;
        size_t size = proto_frame_size(f->target_len, f->payload_len);
        if (f->target_len > PROTO_TARGET_MAX || f->payload_len > PROTO_PAYLOAD_MAX)
                return -EMSGSIZE;
        Chunk *c = own_chunk(mb, size);
        if (!c) {
                count_dropped(mb, 1);
                return -ENOMEM;
        }
        int r = proto_encode(f, c->data + c->len, c->cap - c->len);
        if (r < 0)
                return r;
        r = segment_push(mb, c, c->len, (size_t) r);
        if (r >= 0)
                c->len += size;
        else
                count_dropped(mb, 1);
        return r;
}

/* A shared frame into the own chunk: a mailbox whose socket is full must not keep a chunk that
 * every other subscriber is done with. */
static int copy_to_own(Mailbox *mb, const Chunk *src, size_t off, size_t len) {
        Chunk *c = own_chunk(mb, len);
        if (!c)
                return -ENOMEM;
        memcpy(c->data + c->len, src->data + off, len);
        int r = segment_push(mb, c, c->len, len);
        if (r >= 0)
                c->len += len;
        return r;
}

int mailbox_queue_shared(Mailbox *mb, Chunk *c, size_t off, size_t len) {
        if (mb->closed || mb->write_closed)
                return -ENOBUFS;
        if (mailbox_is_full(mb)) {
                count_dropped(mb, 1);
                return -EAGAIN;
        }
        int r = mb->blocked ? copy_to_own(mb, c, off, len) : segment_push(mb, c, off, len);
        if (r < 0)
                count_dropped(mb, 1); /* out of memory: lost as at a full mailbox, and counted */
        return r;
}

static int outq(const Mailbox *mb) {
        int n = 0;
        return ioctl(mb->fd, SIOCOUTQ, &n) < 0 ? -1 : n;
}

static void flight_push_measured(Mailbox *mb, size_t bytes, unsigned frames);

/* Forgets the records the worker has read since. */
static void flight_refresh(Mailbox *mb) {
        int q = mb->closed ? 0 : outq(mb);
        if (q < 0)
                return;
        if (q == 0) {
                /* The worker has read everything: whatever a racing measurement got wrong is
                 * forgotten here, and nothing needs measuring until the limit is in sight. */
                mb->flight_head = mb->flight_len = mb->flight_bytes = mb->flight_frames = 0;
                mb->unmeasured = 0;
                mb->measuring = false;
                return;
        }
        if (!mb->measuring) {
                /* The unread bytes all belong to records sent unmeasured: count them as one
                 * record holding every frame sent since the socket was empty (an overestimate
                 * until the worker has read past it), and measure from now on. */
                mb->measuring = true;
                if (mb->unmeasured > 0)
                        flight_push_measured(mb, (size_t) q, mb->unmeasured);
                mb->unmeasured = 0;
                return;
        }
        while (mb->flight_head < mb->flight_len && mb->flight_bytes > (size_t) q) {
                struct Flight *f = &mb->flight[mb->flight_head];
                size_t read = mb->flight_bytes - (size_t) q;
                if (read < f->bytes) {
                        /* Read in part (an entry may be several records): keep the frames of
                         * the unread share, rounded up. */
                        size_t unread = f->bytes - read;
                        unsigned frames = (unsigned) (((uint64_t) f->frames * unread + f->bytes - 1) / f->bytes);
                        mb->flight_frames -= f->frames - frames;
                        f->frames = frames;
                        f->bytes = (uint32_t) unread;
                        mb->flight_bytes = (size_t) q;
                        break;
                }
                mb->flight_bytes -= f->bytes;
                mb->flight_frames -= f->frames;
                mb->flight_head++;
        }
        if (mb->flight_head == mb->flight_len)
                mb->flight_head = mb->flight_len = mb->flight_bytes = mb->flight_frames = 0;
}

static void flight_push_measured(Mailbox *mb, size_t bytes, unsigned frames) {
        fifo_compact(mb->flight, sizeof *mb->flight, &mb->flight_head, &mb->flight_len, mb->flight_cap);
        if (ARRAY_GROW(mb->flight, mb->flight_cap, mb->flight_len + 1) < 0)
                return;
        mb->flight[mb->flight_len].bytes = (uint32_t) bytes;
        mb->flight[mb->flight_len].frames = frames;
        mb->flight_len++;
        mb->flight_bytes += bytes;
        mb->flight_frames += frames;
}

/* Records of `frames` frames and `sent` bytes were just sent; before: SIOCOUTQ before them,
 * when measuring. */
static void flight_push(Mailbox *mb, int before, unsigned frames, size_t sent) {
        if (!mb->measuring) {
                mb->unmeasured += frames;
                return;
        }
        int after = outq(mb);
        /* The worker read meanwhile, so the kernel's figure says little: count the records at
         * their size, less than the kernel's share for them, rather than not at all. */
        size_t bytes = before >= 0 && after > before ? (size_t) (after - before) : sent;
        flight_push_measured(mb, bytes, frames);
}

bool mailbox_is_full(Mailbox *mb) {
        /* flight_frames only overestimates until refreshed: ask the kernel only near the limit,
         * and once per turn at most, so a flood into a full mailbox costs no system call per
         * dropped message. Unmeasured frames are a rougher bound: measuring starts at half the
         * limit, so that the limit itself is judged on measured figures. */
        if (mb->depth + mb->flight_frames + mb->unmeasured < mb->limit &&
            (mb->measuring || mb->unmeasured < mb->limit / 2))
                return false;
        if (mb->refreshed_at != mb->group->turn) {
                mb->refreshed_at = mb->group->turn;
                flight_refresh(mb);
        }
        return mb->depth + mb->flight_frames + mb->unmeasured >= mb->limit;
}

int mailbox_queue_limited(Mailbox *mb, const Frame *f) {
        if (mailbox_is_full(mb)) {
                count_dropped(mb, 1);
                return -EAGAIN;
        }
        return mailbox_queue(mb, f);
}

#define FLUSH_IOV_MAX 64

/* The next record: whole frames from the front of the queue, as many as fit (one unless
 * batching). Fills iov; returns the number of entries, the bytes and frames in *len, *frames. */
static size_t next_record(Mailbox *mb, struct iovec *iov, size_t *ret_len, unsigned *ret_frames) {
        size_t n = 0, len = 0;
        unsigned frames = 0;
        for (size_t i = mb->seg_head; i < mb->seg_len && n < FLUSH_IOV_MAX; i++) {
                const struct Segment *s = &mb->segs[i];
                char *base = s->chunk->data + s->off;
                if (mb->batch && len + s->len <= PROTO_RECORD_MAX) {
                        iov[n++] = (struct iovec) { base, s->len };
                        len += s->len;
                        frames += s->frames;
                        continue;
                }
                /* Part of this segment: its first frames, as many as fit. */
                size_t take = 0;
                unsigned k = 0;
                while (take < s->len) {
                        size_t size = proto_encoded_size(base + take);
                        if ((frames + k > 0 && len + take + size > PROTO_RECORD_MAX) || (!mb->batch && k == 1))
                                break;
                        take += size;
                        k++;
                }
                if (k > 0) {
                        iov[n++] = (struct iovec) { base, take };
                        len += take;
                        frames += k;
                }
                break;
        }
        *ret_len = len;
        *ret_frames = frames;
        return n;
}

/* Forgets the first len bytes (frames whole frames) of the queue: they were sent. */
static void consume(Mailbox *mb, size_t len, unsigned frames) {
        mb->depth -= frames;
        mb->out_bytes -= len;
        while (len > 0) {
                struct Segment *s = &mb->segs[mb->seg_head];
                if (len >= s->len) {
                        len -= s->len;
                        frames -= s->frames;
                        chunk_unref(s->chunk);
                        mb->seg_head++;
                        continue;
                }
                s->off += (uint32_t) len;
                s->len -= (uint32_t) len;
                s->frames -= frames;
                len = 0;
        }
        if (mb->seg_head == mb->seg_len)
                mb->seg_head = mb->seg_len = 0;
}

/* The socket is full: what is queued from shared chunks is copied into our own, so that a slow
 * reader never pins a chunk the other subscribers are done with. */
static void unshare(Mailbox *mb) {
        for (size_t i = mb->seg_head; i < mb->seg_len; i++) {
                struct Segment *s = &mb->segs[i];
                if (s->chunk == mb->own)
                        continue;
                Chunk *c = own_chunk(mb, s->len);
                if (!c)
                        return;
                memcpy(c->data + c->len, s->chunk->data + s->off, s->len);
                chunk_unref(s->chunk);
                s->chunk = chunk_ref(c);
                s->off = (uint32_t) c->len;
                c->len += s->len;
        }
}

void mailbox_group_next_pass(MailboxGroup *g) {
        g->flush_pass++;
}

bool mailbox_flush_due(const Mailbox *mb) {
        return mb->group->n_backlogged == 0 || mb->out_bytes >= MAILBOX_FLUSH_EARLY_BYTES ||
               mb->group->flush_pass - mb->dirty_since >= MAILBOX_FLUSH_MAX_PASSES || mb->closed;
}

size_t mailbox_flush(Mailbox *mb) {
        /* The socket's share of what this pass sends is measured once for all its records. */
        if (mb->write_closed)
                return 0;
        /* Still blocked since the last pass: one send to find out, nothing measured. */
        int before = mb->blocked || !mb->measuring || mb->closed || mb->seg_head >= mb->seg_len ? -1 : outq(mb);
        unsigned flushed = 0;
        size_t bytes = 0;
        bool blocked = false;

        mb->dirty = false;
        while (!mb->closed && mb->seg_head < mb->seg_len) {
                struct iovec iov[FLUSH_IOV_MAX];
                size_t len;
                unsigned frames;
                struct msghdr mh = { .msg_iov = iov };
                mh.msg_iovlen = next_record(mb, iov, &len, &frames);

                ssize_t n = sendmsg(mb->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR) {
                                blocked = true;
                                break;
                        }
                        /* EPIPE: the worker is gone or closed its end. Nothing more reaches it,
                         * but what it sent before is still read, to the end of file. */
                        mb->write_closed = true;
                        count_dropped(mb, mb->depth);
                        mb->depth = 0;
                        mb->out_bytes = 0;
                        segments_clear(mb);
                        sd_event_source_set_io_events(mb->source, EPOLLIN);
                        return bytes;
                }
                consume(mb, len, frames);
                bytes += len;
                mb->sent += frames;
                mb->group->sent += frames;
                flushed += frames;
        }
        if (mb->closed)
                return bytes;
        if (flushed > 0)
                flight_push(mb, before, flushed, bytes);
        bool was_blocked = mb->blocked;
        mb->blocked = blocked;
        if (blocked) {
                /* What was queued while blocked is in our own chunk already. */
                if (!was_blocked)
                        unshare(mb);
                sd_event_source_set_io_events(mb->source, EPOLLIN | EPOLLOUT);
                return bytes;
        }
        sd_event_source_set_io_events(mb->source, EPOLLIN);
        return bytes;
}

void mailbox_drain(Mailbox *mb) {
        /* Bounded by what the socket holds: the worker is gone and sends no more. */
        while (!mb->closed && !read_records(mb, MAILBOX_WORK_PER_WAKEUP))
                ;
}

void mailbox_set_batch(Mailbox *mb, bool batch) {
        mb->batch = batch;
}

void mailbox_group_get_stats(const MailboxGroup *g, MailboxStats *ret) {
        *ret = (MailboxStats) { .in = g->in, .out = g->sent, .dropped = g->dropped };
}

void mailbox_get_stats(Mailbox *mb, MailboxStats *ret) {
        flight_refresh(mb);
        *ret = (MailboxStats) { .in = mb->in, .out = mb->sent, .dropped = mb->dropped,
                                .depth = mb->depth + mb->flight_frames };
}


