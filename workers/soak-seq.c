/* SPDX-License-Identifier: MIT */
/* Soak worker (make soak): numbered publications and a subscriber that checks them for gaps.
 *
 *   soak-seq pub TOPIC RATE   publishes "p<PID> <SEQ>" on TOPIC, SEQ = 1, 2, ..., RATE a second,
 *                             each one flushed at once, until its mailbox is closed; TOPIC may
 *                             be several, "a,b,c" (up to 16): then each in turn
 *   soak-seq sub              receives what it is subscribed to (`subscribe =`), every payload
 *                             "SOURCE SEQ", and keeps per SOURCE the last SEQ: a SEQ more than
 *                             one past it is a gap of the numbers in between, one at or below it
 *                             is out of order (a duplicate or a reordering); the first message of
 *                             a SOURCE only sets where it starts. Several times a second it
 *                             writes $FV_TEST_OUT/<name>.stats.<PID> (whole, through a rename):
 *                             "received= gaps= missing= disorder= sources=".
 *
 * A restarted subscriber starts over in a file of its own (its new pid), and a restarted
 * publisher is a new SOURCE: what either missed while it was down is not a gap. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "forkvisor.h"
#include "markers.h"

#define MAX_SOURCES 8192
#define MAX_TOPICS 16

/* The mailbox, ready; *ret_r is what fv_ready said. NULL (said on stderr) when it cannot open. */
static struct fv *open_ready(int *ret_r) {
        struct fv *fv;
        int r = fv_open(0, &fv);

        if (r < 0) {
                fprintf(stderr, "soak-seq: cannot open the mailbox: %s\n", strerror(-r));
                return NULL;
        }
        *ret_r = fv_ready(fv);
        return fv;
}

static int publish(char *topics, long rate) {
        struct timespec gap = { .tv_sec = 0, .tv_nsec = 1000000000L / rate };
        char msg[64], *topic[MAX_TOPICS];
        size_t n_topics = 0;
        int r;

        for (char *t, *save = NULL; n_topics < MAX_TOPICS && (t = strtok_r(n_topics ? NULL : topics, ",", &save));)
                topic[n_topics++] = t;
        if (n_topics == 0)
                return 2;
        struct fv *fv = open_ready(&r);
        if (!fv)
                return 1;
        for (uint64_t seq = 1; r >= 0; seq++) {
                int n = snprintf(msg, sizeof msg, "p%d %" PRIu64, (int) getpid(), seq);
                r = fv_publish(fv, topic[(seq - 1) % n_topics], msg, (size_t) n);
                if (r >= 0)
                        r = fv_flush(fv); /* waits while our own socket is full */
                nanosleep(&gap, NULL);
        }
        fv_close(fv);
        return r == -EPIPE ? 0 : 1;
}

struct source {
        char id[32];
        uint64_t last;
};

static void write_stats(uint64_t received, uint64_t gaps, uint64_t missing, uint64_t disorder, size_t sources) {
        char suffix[32], text[256];

        snprintf(suffix, sizeof suffix, ".stats.%d", (int) getpid());
        snprintf(text, sizeof text,
                 "received=%" PRIu64 " gaps=%" PRIu64 " missing=%" PRIu64 " disorder=%" PRIu64 " sources=%zu\n", received,
                 gaps, missing, disorder, sources);
        write_marker(suffix, text);
}

static int subscribe(void) {
        static struct source src[MAX_SOURCES];
        uint64_t received = 0, gaps = 0, missing = 0, disorder = 0, written = UINT64_MAX;
        size_t n_src = 0;
        int r;
        struct fv *fv = open_ready(&r);

        if (!fv)
                return 1;
        while (r >= 0) {
                struct fv_message m;

                r = fv_recv(fv, 200, &m);
                if (r == -ETIMEDOUT || (r >= 0 && m.kind != FV_INFO)) {
                        r = 0;
                } else if (r >= 0) {
                        char id[32];
                        uint64_t seq;
                        char buf[96];
                        size_t len = m.payload_len < sizeof buf - 1 ? m.payload_len : sizeof buf - 1;

                        memcpy(buf, m.payload, len);
                        buf[len] = '\0';
                        if (sscanf(buf, "%31s %" SCNu64, id, &seq) != 2) {
                                fprintf(stderr, "soak-seq: not a numbered message: %s\n", buf);
                                continue;
                        }
                        received++;
                        size_t i;
                        for (i = 0; i < n_src && strcmp(src[i].id, id) != 0; i++)
                                ;
                        if (i == n_src) {
                                if (n_src == MAX_SOURCES) {
                                        fprintf(stderr, "soak-seq: more than %d sources\n", MAX_SOURCES);
                                        return 1;
                                }
                                snprintf(src[i].id, sizeof src[i].id, "%s", id);
                                src[i].last = seq;
                                n_src++;
                        } else {
                                if (seq > src[i].last + 1) {
                                        gaps++;
                                        missing += seq - src[i].last - 1;
                                        fprintf(stderr, "soak-seq: %s: %" PRIu64 " after %" PRIu64 "\n", id, seq,
                                                src[i].last);
                                } else if (seq <= src[i].last)
                                        disorder++;
                                if (seq > src[i].last)
                                        src[i].last = seq;
                        }
                }
                /* At most every 200 ms, and only when something changed. */
                if (received != written && (received % 64 == 0 || r == 0)) {
                        write_stats(received, gaps, missing, disorder, n_src);
                        written = received;
                }
        }
        write_stats(received, gaps, missing, disorder, n_src);
        fv_close(fv);
        return r == -EPIPE ? 0 : 1;
}

int main(int argc, char **argv) {
        if (argc == 4 && strcmp(argv[1], "pub") == 0 && atol(argv[3]) > 0) {
                record_pid(getpid());
                mark_started();
                return publish(argv[2], atol(argv[3]));
        }
        if (argc == 2 && strcmp(argv[1], "sub") == 0) {
                record_pid(getpid());
                mark_started();
                return subscribe();
        }
        fprintf(stderr, "usage: %s pub TOPIC RATE | sub\n", program_invocation_short_name);
        return 2;
}
