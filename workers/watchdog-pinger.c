/* SPDX-License-Identifier: MIT */
/* Test worker for `watchdog` with `ready = mailbox`: ready once its mailbox is open, then calls
 * fv_watchdog() four times per $WATCHDOG_USEC while it reads its mailbox, until the file STOP
 * exists (never without it): then it removes STOP (its successor pings again) and goes silent
 * but stays alive, so that only its watchdog ends it. Writes how many keep-alives it sent to
 * $FV_TEST_OUT/<name>.pings. Usage: watchdog-pinger [STOP] */
#include <stdbool.h>
#include <stdio.h>

#include "forkvisor.h"
#include "markers.h"

int main(int argc, char **argv) {
        const char *stop = argc == 2 ? argv[1] : NULL;
        const char *e = getenv("WATCHDOG_USEC");
        long usec = e ? parse_num(e, 3600L * 1000000) : -1;
        struct fv *fv;
        int r;

        if (argc > 2) {
                fprintf(stderr, "usage: %s [STOP]\n", program_invocation_short_name);
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
        bool silent = false;
        for (long sent = 0; r >= 0;) {
                struct fv_message m;
                if (!silent && stop && access(stop, F_OK) == 0) {
                        (void) unlink(stop);
                        silent = true;
                }
                if (!silent) {
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
