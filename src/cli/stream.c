/* SPDX-License-Identifier: MIT */
/* The client end of `forkvisor subscribe` and `forkvisor events` outside the tree: once the
 * daemon has answered CTL_STREAM, the control connection carries mailbox records (batches of
 * INFO frames); each message is printed as one line as soon as its record arrives. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "proto.h"
#include "time-util.h"

/* An event's "seq", its last member ("..., \"seq\": 17}"); 0 when it has none (an older daemon). */
static uint64_t event_seq(const char *p, size_t n) {
        static const char key[] = "\"seq\": ";
        const size_t klen = sizeof key - 1;
        for (size_t i = n >= klen ? n - klen + 1 : 0; i-- > 0;) {
                if (memcmp(p + i, key, klen) != 0)
                        continue;
                uint64_t v = 0;
                for (size_t j = i + klen; j < n && p[j] >= '0' && p[j] <= '9' && v < UINT64_MAX / 10; j++)
                        v = v * 10 + (uint64_t) (p[j] - '0');
                return v;
        }
        return 0;
}

int stream_print(int fd, unsigned long count, int64_t deadline_ms, bool numbered) {
        static char record[PROTO_RECORD_MAX + 1];
        unsigned long got = 0;
        uint64_t last = 0;

        while (count == 0 || got < count) {
                int wait = -1;
                if (deadline_ms >= 0) {
                        int64_t left = deadline_ms - (int64_t) (now_usec() / USEC_PER_MSEC);
                        wait = left > 0 ? (int) (left < 1000000 ? left : 1000000) : 0;
                }
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, wait);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r == 0) {
                        /* The time is up: a failure only if a number of messages was asked for. */
                        if (count == 0)
                                return 0;
                        fprintf(stderr, "forkvisor: timeout: %lu of %lu messages received\n", got, count);
                        return 1;
                }
                ssize_t n = recv(fd, record, sizeof record, MSG_TRUNC);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        fprintf(stderr, "forkvisor: the daemon closed the connection\n");
                        return 1;
                }
                if (n > PROTO_RECORD_MAX) {
                        fprintf(stderr, "forkvisor: record too long from the daemon\n");
                        return 1;
                }
                for (size_t off = 0; off < (size_t) n && (count == 0 || got < count);) {
                        Frame f;
                        size_t used;
                        if (proto_decode(record + off, (size_t) n - off, &f, &used) < 0) {
                                fprintf(stderr, "forkvisor: malformed record from the daemon\n");
                                return 1;
                        }
                        off += used;
                        if (f.kind != PROTO_INFO)
                                continue;
                        /* Another node's events (events --cluster) have that node's numbers. */
                        bool remote = f.target_len >= 18 && memcmp(f.target, "forkvisor-cluster:", 18) == 0;
                        uint64_t seq = numbered && !remote ? event_seq(f.payload, f.payload_len) : 0;
                        if (seq && last && seq != last + 1) {
                                /* The daemon dropped what this reader did not take in time: say so,
                                 * rather than pass a gap for "nothing happened". */
                                fflush(stdout);
                                fprintf(stderr, "forkvisor: events %" PRIu64 " to %" PRIu64 " were lost, this reader was "
                                        "too slow for them; what is still kept can be read with --since %" PRIu64 "\n",
                                        last + 1, seq - 1, last);
                                return 1;
                        }
                        if (seq)
                                last = seq;
                        fwrite(f.payload, 1, f.payload_len, stdout);
                        putchar('\n');
                        got++;
                }
                if (fflush(stdout) != 0)
                        return 1; /* the reader went away (EPIPE): nobody to print for */
        }
        return 0;
}
