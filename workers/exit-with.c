/* SPDX-License-Identifier: MIT */
/* Test worker for exit-status handling (transient, normal_exit, auto_shutdown): exits with CODE
 * after MS milliseconds (default 0). Usage: exit-with CODE [MS] */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "markers.h"

int main(int argc, char **argv) {
        long code = argc > 1 ? parse_num(argv[1], 255) : -1;
        long ms = argc > 2 ? parse_num(argv[2], LONG_MAX / 1000) : 0;

        if (code < 0 || ms < 0 || argc > 3) {
                fprintf(stderr, "usage: %s CODE [MS]   (CODE 0..255, MS milliseconds)\n",
                        program_invocation_short_name);
                return 2;
        }
        record_pid(getpid());
        mark_started();
        sleep_ms(ms);
        return code;
}
