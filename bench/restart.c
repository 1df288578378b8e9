/* SPDX-License-Identifier: MIT */
/* Restart latency, one harness for every supervisor: SIGKILL of a worker → its successor's first
 * instruction. The workers are the static bench hello, which appends CLOCK_MONOTONIC (ns) to its
 * target's TSFILE as its very first action; the latency is that timestamp minus the time taken
 * just before kill(2). The pid to kill comes from PIDCMD, a shell command run before the clock
 * starts (`forkvisor info PATH` for forkvisor, /proc/PID/task/PID/children for the floors); its
 * output's "pid: N", else its first number, is the pid.
 *
 *   restart ROUNDS RUN_MS NAME TSFILE PIDCMD [NAME TSFILE PIDCMD]...
 *
 * One warm-up round, then ROUNDS rounds; a round visits every target in turn (interleaved, so
 * that drift of this noisy machine falls on all alike) and takes two samples of each:
 *   long   the worker had been running for RUN_MS at least (the usual restart);
 *   short  the successor just started (milliseconds old) is killed at once: "restart of a child
 *          that ran < 1 s", where some supervisors impose a delay.
 * Prints one line per sample: "NAME long|short NS". */
#include <ctype.h>
#include <signal.h>

#include "bench.h"

typedef struct Target {
        const char *name, *cmd;
        TsFile ts;
        int last_pid;
} Target;

static int run_pidcmd(const Target *t) {
        char out[4096];
        size_t n = 0;
        FILE *p = popen(t->cmd, "re");

        if (!p)
                die("popen %s: %s", t->cmd, strerror(errno));
        n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        pclose(p);
        const char *s = strstr(out, "pid: ");
        s = s ? s + 5 : out;
        while (*s && !isdigit((unsigned char) *s))
                s++;
        return atoi(s);
}

/* The pid of the current worker: the command may still show the one just killed for a moment. */
static int current_pid(Target *t) {
        for (int tries = 0; tries < 200; tries++) {
                int pid = run_pidcmd(t);
                if (pid > 0 && pid != t->last_pid)
                        return t->last_pid = pid;
                sleep_ms(5);
        }
        die("%s: no new worker pid from: %s", t->name, t->cmd);
}

/* Kills the current worker; returns its successor's first instruction minus the kill time. */
static uint64_t one_restart(Target *t) {
        int pid = current_pid(t);
        size_t lines = t->ts.lines;

        uint64_t t0 = now_ns();
        if (kill(pid, SIGKILL) < 0)
                die("%s: kill %d: %s", t->name, pid, strerror(errno));
        if (ts_wait_lines(&t->ts, lines + 1, 10000) < 0)
                die("%s: no successor within 10 s", t->name);
        if (t->ts.lines != lines + 1)
                die("%s: %zu workers started instead of 1", t->name, t->ts.lines - lines);
        return t->ts.last - t0;
}

int main(int argc, char **argv) {
        if (argc < 6 || (argc - 3) % 3 != 0) {
                fprintf(stderr, "usage: restart ROUNDS RUN_MS NAME TSFILE PIDCMD [NAME TSFILE PIDCMD]...\n");
                return 2;
        }
        int rounds = atoi(argv[1]);
        uint64_t run_ns = strtoull(argv[2], NULL, 10) * 1000000ULL;
        size_t n = (size_t) (argc - 3) / 3;
        Target *t = calloc(n, sizeof *t);
        if (!t)
                die("out of memory");

        for (size_t i = 0; i < n; i++) {
                t[i].name = argv[3 + 3 * i];
                ts_open(&t[i].ts, argv[4 + 3 * i], 0);
                t[i].cmd = argv[5 + 3 * i];
                if (ts_wait_lines(&t[i].ts, 1, 10000) < 0)
                        die("%s: its first worker never started", t[i].name);
        }
        for (int r = 0; r <= rounds; r++)
                for (size_t i = 0; i < n; i++) {
                        /* The worker must have run RUN_MS: wait from its own start time. */
                        sleep_until_ns(t[i].ts.last + run_ns);
                        uint64_t lat_long = one_restart(&t[i]);
                        uint64_t lat_short = one_restart(&t[i]);
                        if (r == 0)
                                continue; /* warm-up */
                        printf("%s long %llu\n%s short %llu\n", t[i].name, (unsigned long long) lat_long,
                               t[i].name, (unsigned long long) lat_short);
                        fflush(stdout);
                }
        return 0;
}
