/* SPDX-License-Identifier: MIT */
/* Test worker for restarts and crash loops: runs MS milliseconds, then exits with CODE (default
 * 1) or kills itself with signal NAME. Usage: crash-after MS [--exit CODE | --signal NAME] */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "markers.h"

/* "KILL", "SIGKILL", "kill" or "9"; 0 if unknown. */
static int parse_signal(const char *s) {
        long n = parse_num(s, NSIG - 1);

        if (n > 0)
                return n;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (int sig = 1; sig < NSIG; sig++) {
                const char *abbrev = sigabbrev_np(sig);

                if (abbrev && strcasecmp(abbrev, s) == 0)
                        return sig;
        }
        return 0;
}

static int usage(void) {
        fprintf(stderr, "usage: %s MS [--exit CODE | --signal NAME]\n", program_invocation_short_name);
        return 2;
}

int main(int argc, char **argv) {
        long ms, code = 1;
        int sig = 0;

        ms = argc > 1 ? parse_num(argv[1], LONG_MAX / 1000) : -1;
        if (ms < 0 || (argc != 2 && argc != 4))
                return usage();
        if (argc == 4 && strcmp(argv[2], "--exit") == 0) {
                code = parse_num(argv[3], 255);
                if (code < 0) {
                        fprintf(stderr, "%s: exit code must be 0..255, not '%s'\n",
                                program_invocation_short_name, argv[3]);
                        return usage();
                }
        } else if (argc == 4 && strcmp(argv[2], "--signal") == 0) {
                sig = parse_signal(argv[3]);
                if (sig == 0) {
                        fprintf(stderr, "%s: unknown signal '%s'\n", program_invocation_short_name, argv[3]);
                        return usage();
                }
        } else if (argc == 4)
                return usage();

        record_pid(getpid());
        mark_started();
        sleep_ms(ms);
        if (sig == 0)
                _exit(code);

        /* Die of the signal itself, with its default action and no core file in the config's
         * directory (not dumpable: the wait status then has no core flag either). A signal whose
         * default is to be ignored or to stop leaves us running until we are killed. */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        (void) prctl(PR_SET_DUMPABLE, 0);
        signal(sig, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        kill(getpid(), sig);
        for (;;)
                pause();
}
