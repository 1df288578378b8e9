/* SPDX-License-Identifier: MIT */
/* Test worker: does nothing until it is killed. SIGTERM keeps its default disposition, so it
 * terminates the process at once (wait status: killed by signal 15). LABEL is ignored: it only
 * tells instances apart in ps(1), e.g. `exec = sleeper job-%i`. Usage: sleeper [LABEL] */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "markers.h"


int main(int argc, char **argv) {
        if (argc > 2) {
                fprintf(stderr, "%s: unexpected argument '%s'\nusage: %s [LABEL]\n",
                        program_invocation_short_name, argv[2], program_invocation_short_name);
                return 2;
        }
        record_pid(getpid());
        mark_started();
        for (;;)
                pause();
}
