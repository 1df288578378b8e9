/* SPDX-License-Identifier: MIT */
/* Test worker for `ready = notify`: after MS milliseconds sends READY=1 (and STATUS=TEXT) with
 * sd_notify(3), writes $FV_TEST_OUT/<name>.ready, then sleeps until killed. With --no-ready it
 * never reports readiness (only STATUS=, if given). Usage: notify-after MS [--status TEXT]
 * [--no-ready] */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "markers.h"

static int usage(void) {
        fprintf(stderr, "usage: %s MS [--status TEXT] [--no-ready]\n", program_invocation_short_name);
        return 2;
}

int main(int argc, char **argv) {
        const char *status = NULL;
        long ms = argc > 1 ? parse_num(argv[1], LONG_MAX / 1000) : -1;
        int ready = 1, r;
        char *msg;

        if (ms < 0)
                return usage();
        for (int i = 2; i < argc; i++) {
                if (strcmp(argv[i], "--no-ready") == 0)
                        ready = 0;
                else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc)
                        status = argv[++i];
                else
                        return usage();
        }
        record_pid(getpid());
        mark_started();
        sleep_ms(ms);

        if (asprintf(&msg, "%s%s%s%s", ready ? "READY=1" : "", ready && status ? "\n" : "",
                     status ? "STATUS=" : "", status ?: "") < 0)
                return 1;
        if (*msg) {
                r = sd_notify(0, msg);
                if (r < 0)
                        fprintf(stderr, "%s: sd_notify: %s\n", program_invocation_short_name, strerror(-r));
                else if (r == 0)
                        fprintf(stderr, "%s: NOTIFY_SOCKET is not set, nothing sent\n",
                                program_invocation_short_name);
                else if (ready) {
                        char pid[24];

                        snprintf(pid, sizeof pid, "%d\n", (int) getpid());
                        write_marker(".ready", pid);
                }
        }
        free(msg);
        for (;;)
                pause();
}
