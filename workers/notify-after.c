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

/* Test markers, the same in every worker. With $FV_TEST_OUT set: append our pid to
 * $FV_TEST_OUT/pids in one O_APPEND write (concurrent writers never interleave), and create
 * $FV_TEST_OUT/<name>.started holding our pid, written to a temporary and renamed so that a
 * poller never sees it empty. <name> is $FORKVISOR_NAME, else argv[0]'s basename ('/' → '_'). */
static void record_pid(int pid) {
        const char *d = getenv("FV_TEST_OUT");
        char path[PATH_MAX], line[24];
        int fd, n;

        if (!d || !*d)
                return;
        snprintf(path, sizeof path, "%s/pids", d);
        n = snprintf(line, sizeof line, "%d\n", pid);
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, line, n) != n)
                fprintf(stderr, "%s: cannot append to %s: %m\n", program_invocation_short_name, path);
        if (fd >= 0)
                close(fd);
}

static void write_marker(const char *suffix, const char *text) {
        const char *d = getenv("FV_TEST_OUT"), *name = getenv("FORKVISOR_NAME");
        char path[PATH_MAX], tmp[PATH_MAX + 32];
        ssize_t len = strlen(text);
        int fd, ok;

        if (!d || !*d)
                return;
        if (!name || !*name)
                name = program_invocation_short_name;
        snprintf(path, sizeof path, "%s/%s%s", d, name, suffix);
        for (char *p = path + strlen(d) + 1; *p; p++)
                if (*p == '/')
                        *p = '_';
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int) getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ok = fd >= 0 && write(fd, text, len) == len;
        if (fd >= 0 && close(fd) < 0)
                ok = 0;
        if (!ok || rename(tmp, path) < 0)
                fprintf(stderr, "%s: cannot write %s: %m\n", program_invocation_short_name, path);
}

static void mark_started(void) {
        char pid[24];

        snprintf(pid, sizeof pid, "%d\n", (int) getpid());
        write_marker(".started", pid);
}

/* Parse a decimal number in [0, MAX]; -1 if S is anything else. */
static long parse_num(const char *s, long max) {
        char *end;
        long v;

        if (!s || *s < '0' || *s > '9')
                return -1;
        errno = 0;
        v = strtol(s, &end, 10);
        return errno || *end || v > max ? -1 : v;
}

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
                ;
}

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
