/* SPDX-License-Identifier: MIT */
/* Test worker for shutdown timeouts: ignores SIGTERM (SIG_IGN, set before the .started marker is
 * written), so only SIGKILL or another signal stops it. Usage: ignore-term */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "markers.h"


int main(int argc, char **argv) {
        if (argc > 1) {
                fprintf(stderr, "%s: unexpected argument '%s'\nusage: %s\n", program_invocation_short_name,
                        argv[1], program_invocation_short_name);
                return 2;
        }
        signal(SIGTERM, SIG_IGN);
        record_pid(getpid());
        mark_started();
        for (;;)
                pause();
}
