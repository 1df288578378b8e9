/* SPDX-License-Identifier: MIT */
/* Example and test worker on libforkvisor's plain receive loop (no GenServer): answers every call
 * with "echo: <payload>", counts casts, answers get-state with "casts=N calls=N". Ready once its
 * mailbox is open (`ready = mailbox`); SIGTERM keeps its default disposition. Usage: echo */
#include <inttypes.h>
#include <stdio.h>

#include "forkvisor.h"
#include "markers.h"

int main(int argc, char **argv) {
        static char reply[FV_PAYLOAD_MAX];
        uint64_t casts = 0, calls = 0;
        struct fv *fv;
        int r;

        if (argc > 1) {
                fprintf(stderr, "%s: unexpected argument '%s'\nusage: %s\n", program_invocation_short_name, argv[1],
                        program_invocation_short_name);
                return 2;
        }
        record_pid(getpid());
        mark_started();
        r = fv_open(0, &fv);
        if (r < 0) {
                fprintf(stderr, "echo: cannot open the mailbox: %s\n", strerror(-r));
                return 1;
        }
        r = fv_ready(fv);
        for (;;) {
                struct fv_message m;
                int n;

                if (r >= 0)
                        r = fv_recv(fv, FV_INFINITY, &m);
                if (r < 0)
                        break;
                switch (m.kind) {
                case FV_CALL:
                        calls++;
                        /* "echo: " and as much of the payload as fits */
                        n = snprintf(reply, sizeof reply, "echo: %.*s", (int) m.payload_len, m.payload);
                        r = fv_reply(fv, m.ref, reply, (size_t) n < sizeof reply ? (size_t) n : sizeof reply - 1);
                        break;
                case FV_CAST:
                        casts++;
                        break;
                case FV_GET_STATE:
                        n = snprintf(reply, sizeof reply, "casts=%" PRIu64 " calls=%" PRIu64, casts, calls);
                        r = fv_reply(fv, m.ref, reply, (size_t) n);
                        break;
                default:
                        break;
                }
        }
        fv_close(fv);
        if (r == -EPIPE)
                return 0; /* the node closed the mailbox: we are being stopped */
        fprintf(stderr, "echo: %s\n", strerror(-r));
        return 1;
}
