/* SPDX-License-Identifier: MIT */
/* The worker's end of a mailbox, for the tests of the node's side (test-mailbox.c,
 * test-router.c, test-commands.c): frames sent as records (with an fd when asked), records read
 * back and written to a log as text ("cast@12:a=x reply#7=ok "), and a loop run until a
 * condition holds or two seconds pass. Nothing here sleeps: the loop waits for the kernel. */
#pragma once

#include <assert.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "proto.h"
#include "time-util.h"

/* A connected SOCK_SEQPACKET pair: sv[0] for the node, sv[1] the worker's (blocking, so that a
 * test's worker never loses what it sends). */
static inline void fw_pair(int sv[2]) {
        int r = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
        assert(r == 0);
}

/* A frame with a NUL-terminated target and payload. */
static inline Frame fw_frame(uint8_t kind, uint64_t ref, const char *target, const char *payload) {
        return (Frame) { .kind = kind, .ref = ref, .target = target, .target_len = target ? strlen(target) : 0,
                         .payload = payload, .payload_len = payload ? strlen(payload) : 0 };
}

/* Sends raw bytes as one record, with fd (SCM_RIGHTS) when fd >= 0. Returns send's result. */
static inline ssize_t fw_send_raw(int sock, const void *buf, size_t len, int fd) {
        union {
                struct cmsghdr align;
                char space[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = { (void *) buf, len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (fd >= 0) {
                memset(&control, 0, sizeof control);
                mh.msg_control = &control;
                mh.msg_controllen = sizeof control;
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* Encodes frames back to back into one record and sends it (with fd when >= 0). */
static inline ssize_t fw_send(int sock, const Frame *frames, size_t n, int fd) {
        static char buf[PROTO_RECORD_MAX];
        size_t len = 0;
        for (size_t i = 0; i < n; i++) {
                int k = proto_encode(&frames[i], buf + len, sizeof buf - len);
                assert(k > 0);
                len += (size_t) k;
        }
        return fw_send_raw(sock, buf, len, fd);
}

static inline ssize_t fw_send1(int sock, uint8_t kind, uint64_t ref, const char *target, const char *payload) {
        Frame f = fw_frame(kind, ref, target, payload);
        return fw_send(sock, &f, 1, -1);
}

/* Appends one frame as text: "kind:target=payload ", with "#ref" and "@sender" after the kind
 * when it has them. */
static inline void fw_log_frame(char *log, size_t size, const Frame *f) {
        size_t l = strlen(log);
        char ref[32] = "", sender[32] = "";
        if (f->ref)
                snprintf(ref, sizeof ref, "#%llu", (unsigned long long) f->ref);
        if (f->sender)
                snprintf(sender, sizeof sender, "@%u", (unsigned) f->sender);
        /* Cut to fit: a test compares the start of what it logs. */
        if (snprintf(log + l, size - l, "%s%s%s:%.*s=%.*s ", proto_kind_to_string(f->kind), ref, sender,
                     (int) f->target_len, f->target, (int) f->payload_len, (const char *) f->payload) < 0)
                log[l] = 0;
}

/* Reads one record without waiting and appends its frames to log. Returns the number of frames
 * in it, 0 at end of file, -EAGAIN when nothing waits, -EBADMSG for a record that does not
 * decode. */
static inline int fw_read_record(int sock, char *log, size_t size) {
        static char rec[PROTO_RECORD_MAX + 1];
        ssize_t n = recv(sock, rec, sizeof rec, MSG_DONTWAIT);
        if (n < 0)
                return -errno;
        if (n == 0)
                return 0;
        int frames = 0;
        for (size_t off = 0; off < (size_t) n;) {
                Frame f;
                size_t used;
                if (proto_decode(rec + off, (size_t) n - off, &f, &used) < 0)
                        return -EBADMSG;
                fw_log_frame(log, size, &f);
                off += used;
                frames++;
        }
        return frames;
}

/* Reads every record waiting; returns the frames read. */
static inline int fw_read_all(int sock, char *log, size_t size) {
        int total = 0, k;
        while ((k = fw_read_record(sock, log, size)) > 0)
                total += k;
        return total;
}

/* Runs e until cond(ud) holds (checked before each iteration); false after two seconds. */
static inline bool fw_run_until(sd_event *e, bool (*cond)(void *ud), void *ud) {
        usec_t end = now_usec() + 2 * USEC_PER_SEC;
        while (!cond(ud)) {
                if (now_usec() >= end)
                        return false;
                int r = sd_event_run(e, 50 * USEC_PER_MSEC);
                assert(r >= 0);
        }
        return true;
}

/* Runs e for whatever is due now, without waiting. */
static inline void fw_run_pending(sd_event *e) {
        for (int i = 0; i < 64; i++) {
                int r = sd_event_run(e, 0);
                assert(r >= 0);
                if (r == 0)
                        break;
        }
}

static inline int fw_kick_(sd_event_source *s, void *ud) {
        return 0;
}

/* Runs e until nothing is left to do now, after a wake-up of its own: what was queued from
 * outside the loop (as a control request does) is flushed by the post sources too. */
static inline void fw_settle(sd_event *e) {
        int r = sd_event_add_defer(e, NULL, fw_kick_, NULL);
        assert(r >= 0);
        fw_run_pending(e);
}
