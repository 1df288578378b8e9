/* SPDX-License-Identifier: MIT */
/* Test worker for `watchdog` with `ready = mailbox`: ready once its mailbox is open, then calls
 * fv_watchdog() four times per $WATCHDOG_USEC while it reads its mailbox, and after COUNT
 * keep-alives (0: never stops) goes silent but stays alive, so that only its watchdog ends it.
 * Writes how many it sent to $FV_TEST_OUT/<name>.pings. Usage: watchdog-pinger COUNT */
#include <stdio.h>

#include "forkvisor.h"
#include "markers.h"

int main(int argc, char **argv) {
        long count = argc == 2 ? parse_num(argv[1], 1000000) : -1;
        const char *e = getenv("WATCHDOG_USEC");
        long usec = e ? parse_num(e, 3600L * 1000000) : -1;
        struct fv *fv;
        int r;

        if (count < 0) {
                fprintf(stderr, "usage: %s COUNT\n", program_invocation_short_name);
                return 2;
        }
        if (usec <= 0) {
                fprintf(stderr, "%s: no WATCHDOG_USEC in the environment\n", program_invocation_short_name);
                return 2;
        }
        record_pid(getpid());
        mark_started();
        r = fv_open(0, &fv);
        if (r < 0) {
                fprintf(stderr, "%s: cannot open the mailbox: %s\n", program_invocation_short_name, strerror(-r));
                return 1;
        }
        r = fv_ready(fv);
        int interval = usec / 4000 > 0 ? (int) (usec / 4000) : 1;
        for (long sent = 0; r >= 0;) {
                struct fv_message m;
                if (count == 0 || sent < count) {
                        r = fv_watchdog(fv);
                        if (r < 0)
                                break;
                        char text[24];
                        snprintf(text, sizeof text, "%ld\n", ++sent);
                        write_marker(".pings", text);
                }
                r = fv_recv(fv, interval, &m);
                if (r == -ETIMEDOUT)
                        r = 0;
        }
        fv_close(fv);
        if (r == -EPIPE)
                return 0; /* the node closed the mailbox: we are being stopped */
        fprintf(stderr, "%s: %s\n", program_invocation_short_name, strerror(-r));
        return 1;
}
