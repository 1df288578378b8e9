/* SPDX-License-Identifier: MIT */
/* Test worker for the registry under churn, at process level: churners register and unregister
 * names without pause while readers look them up in the shared table (fd 4, no round trip).
 *
 *   registry-churn churn ID   registers c<ID>-0 .. c<ID>-15 and the duplicate key +g<ID>, then
 *                             unregisters them all, again and again until killed; reports ready
 *                             after its first round
 *   registry-churn read N MS  for MS milliseconds looks up every name of churners 1..N and
 *                             s1 .. s<N> (never removed), then writes $FV_TEST_OUT/<name>.result
 *                             ("lookups= found= busy= wrong= missed=") and sleeps until killed
 *
 * Churner ID runs as ch<ID> in the registry, so a name c<ID>-k found by a reader must name that
 * churner's pid (anything else is a torn or mixed entry: "wrong"), and s<j> must always be found
 * with the pid it had at the start ("missed" counts the lookups that did not find it). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "forkvisor.h"
#include "markers.h"

#define NAMES 16
#define MAX_CHURNERS 64

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static int churn(struct fv *fv, long id) {
        char name[64];
        bool ready = false;

        for (;;) {
                for (int k = 0; k < NAMES; k++) {
                        snprintf(name, sizeof name, "c%ld-%d", id, k);
                        int r = fv_register(fv, name);
                        if (r < 0) {
                                fprintf(stderr, "registry-churn: register %s: %s\n", name, strerror(-r));
                                return 1;
                        }
                }
                snprintf(name, sizeof name, "+g%ld", id);
                int r = fv_register(fv, name);
                if (r < 0) {
                        fprintf(stderr, "registry-churn: register %s: %s\n", name, strerror(-r));
                        return 1;
                }
                if (!ready) {
                        r = fv_ready(fv);
                        if (r >= 0)
                                r = fv_flush(fv);
                        if (r < 0)
                                return 1;
                        ready = true;
                }
                for (int k = 0; k <= NAMES; k++) {
                        if (k < NAMES)
                                snprintf(name, sizeof name, "c%ld-%d", id, k);
                        else
                                snprintf(name, sizeof name, "+g%ld", id);
                        r = fv_unregister(fv, name);
                        if (r < 0) {
                                fprintf(stderr, "registry-churn: unregister %s: %s\n", name, strerror(-r));
                                return 1;
                        }
                }
        }
}

struct expect {
        pid_t pid;
        unsigned seen;
        bool wrong;
};

static void one_holder(pid_t pid, uint32_t generation, void *userdata) {
        struct expect *e = userdata;
        e->seen++;
        if (pid != e->pid)
                e->wrong = true;
}

static int lookup_pid(struct fv *fv, const char *name, pid_t *ret) {
        for (int i = 0; i < 1000; i++) {
                int r = fv_whereis(fv, name, ret);
                if (r != -EBUSY)
                        return r;
        }
        return -EBUSY;
}

static int readers(struct fv *fv, long n, long ms) {
        pid_t churner[MAX_CHURNERS + 1], stable[MAX_CHURNERS + 1];
        uint64_t lookups = 0, found = 0, busy = 0, wrong = 0, missed = 0;
        char name[64], report[256];

        for (long i = 1; i <= n; i++) {
                snprintf(name, sizeof name, "ch%ld", i);
                if (lookup_pid(fv, name, &churner[i]) < 0) {
                        fprintf(stderr, "registry-churn: no %s to check against\n", name);
                        return 1;
                }
                snprintf(name, sizeof name, "s%ld", i);
                if (lookup_pid(fv, name, &stable[i]) < 0) {
                        fprintf(stderr, "registry-churn: no %s to check against\n", name);
                        return 1;
                }
        }
        uint64_t end = now_ms() + (uint64_t) ms;
        while (now_ms() < end) {
                for (long i = 1; i <= n; i++) {
                        pid_t pid;
                        for (int k = 0; k < NAMES; k++) {
                                snprintf(name, sizeof name, "c%ld-%d", i, k);
                                int r = fv_whereis(fv, name, &pid);
                                lookups++;
                                if (r == -EBUSY)
                                        busy++;
                                else if (r == 0) {
                                        found++;
                                        if (pid != churner[i]) {
                                                wrong++;
                                                fprintf(stderr, "registry-churn: %s gave pid %d, not %d\n", name,
                                                        (int) pid, (int) churner[i]);
                                        }
                                } else if (r != -ENOENT) {
                                        fprintf(stderr, "registry-churn: whereis %s: %s\n", name, strerror(-r));
                                        return 1;
                                }
                        }
                        struct expect e = { .pid = churner[i] };
                        snprintf(name, sizeof name, "+g%ld", i);
                        int r = fv_whereis_all(fv, name, one_holder, &e);
                        lookups++;
                        if (r == -EBUSY)
                                busy++;
                        else if (r >= 0) {
                                found += r > 0;
                                if (e.wrong || r > 1 || e.seen != (unsigned) r) {
                                        wrong++;
                                        fprintf(stderr, "registry-churn: %s gave %d holders\n", name, r);
                                }
                        }
                        snprintf(name, sizeof name, "s%ld", i);
                        r = fv_whereis(fv, name, &pid);
                        lookups++;
                        if (r == -EBUSY)
                                busy++;
                        else if (r < 0 || pid != stable[i]) {
                                missed++;
                                fprintf(stderr, "registry-churn: %s: %s, pid %d\n", name, r < 0 ? strerror(-r) : "found",
                                        r < 0 ? 0 : (int) pid);
                        }
                }
        }
        snprintf(report, sizeof report,
                 "lookups=%" PRIu64 " found=%" PRIu64 " busy=%" PRIu64 " wrong=%" PRIu64 " missed=%" PRIu64 "\n",
                 lookups, found, busy, wrong, missed);
        write_marker(".result", report);
        for (;;)
                pause();
}

int main(int argc, char **argv) {
        struct fv *fv;
        long a = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
        long b = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
        bool is_churn = argc == 3 && strcmp(argv[1], "churn") == 0 && a > 0;
        bool is_read = argc == 4 && strcmp(argv[1], "read") == 0 && a > 0 && a <= MAX_CHURNERS && b > 0;

        if (!is_churn && !is_read) {
                fprintf(stderr, "usage: %s churn ID | read N MS\n", program_invocation_short_name);
                return 2;
        }
        record_pid(getpid());
        mark_started();
        int r = fv_open(0, &fv);
        if (r < 0) {
                fprintf(stderr, "registry-churn: cannot open the mailbox: %s\n", strerror(-r));
                return 1;
        }
        r = is_churn ? churn(fv, a) : readers(fv, a, b);
        fv_close(fv);
        return r;
}
