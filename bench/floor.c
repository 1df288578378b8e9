/* SPDX-License-Identifier: MIT */
/* The floors `make bench` compares forkvisor with: the least a supervisor could do, written as
 * bare loops around posix_spawn (or fork + exec), with no bookkeeping, logging or I/O.
 *
 *   floor sup spawn|fork PROG
 *       a one-child supervisor: starts PROG, then waitpid(-1) + start again, forever, until
 *       SIGTERM. bench/restart measures it from outside exactly as it measures forkvisor.
 *   floor startstop spawn|fork N PROG TSFILE
 *       start of N workers: t0 just before the first spawn, end = the largest timestamp the N
 *       workers wrote to TSFILE (their first instruction); then stop: t0 just before signalling,
 *       SIGTERM to each of the N, reap all N, end. Prints "start_ns stop_ns".
 *   floor crash SECONDS PROG
 *       crash loop: waitpid + posix_spawn of a program that exits at once, for SECONDS. Prints
 *       "spawns_per_s self_cpu_ns_per_spawn children_cpu_ns_per_spawn" from getrusage: SELF is
 *       the supervisor's share (clone, wait), CHILDREN what each child cost until reaped
 *       (execve, its start-up, exit). Their sum is the kernel's cost of one spawn.
 * Children get our environment (so $FV_BENCH_FILE) and our descriptors. */
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "bench.h"

extern char **environ;

static int use_fork;
static volatile sig_atomic_t got_term;

/* What startstop and crash must not leave behind if they are interrupted. */
static pid_t *live;
static volatile long n_live;

static void on_fatal(int sig) {
        for (long i = 0; i < n_live; i++)
                if (live[i] > 0)
                        kill(live[i], SIGKILL);
        _exit(128 + sig);
}

static void catch_fatal(void) {
        struct sigaction sa = { .sa_handler = on_fatal };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
}

static pid_t start(const char *prog) {
        char *argv[] = { (char *) prog, NULL };
        pid_t pid;

        if (use_fork) {
                pid = fork();
                if (pid == 0) {
                        execve(prog, argv, environ);
                        _exit(127);
                }
                if (pid < 0)
                        die("fork: %s", strerror(errno));
                return pid;
        }
        int r = posix_spawn(&pid, prog, NULL, NULL, argv, environ);
        if (r != 0)
                die("posix_spawn %s: %s", prog, strerror(r));
        return pid;
}

static void on_term(int sig) {
        (void) sig;
        got_term = 1;
}

static int cmd_sup(const char *prog) {
        struct sigaction sa = { .sa_handler = on_term }; /* no SA_RESTART: waitpid returns EINTR */
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        prctl(PR_SET_PDEATHSIG, SIGTERM);

        pid_t child = start(prog);
        while (!got_term) {
                int st;
                pid_t p = waitpid(-1, &st, 0);
                if (p < 0) {
                        if (errno == EINTR)
                                continue;
                        die("waitpid: %s", strerror(errno));
                }
                if (!got_term)
                        child = start(prog);
        }
        kill(child, SIGKILL);
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
                ;
        return 0;
}

static int cmd_startstop(long n, const char *prog, const char *tsfile) {
        TsFile ts;
        pid_t *pids = calloc((size_t) n, sizeof *pids);
        if (!pids)
                die("out of memory");
        live = pids;
        catch_fatal();
        ts_open(&ts, tsfile, 1);

        uint64_t t0 = now_ns();
        for (long i = 0; i < n; i++) {
                pids[i] = start(prog);
                n_live = i + 1;
        }
        if (ts_wait_lines(&ts, (size_t) n, 60000) < 0)
                die("only %zu of %ld workers wrote their timestamp", ts.lines, n);
        uint64_t start_ns = ts.max - t0;

        sleep_ms(200); /* let everything settle, as the forkvisor run does before its stop */
        t0 = now_ns();
        for (long i = 0; i < n; i++)
                kill(pids[i], SIGTERM);
        for (long left = n; left > 0;) {
                if (waitpid(-1, NULL, 0) > 0)
                        left--;
                else if (errno != EINTR)
                        die("waitpid: %s", strerror(errno));
        }
        uint64_t stop_ns = now_ns() - t0;
        n_live = 0;
        printf("%llu %llu\n", (unsigned long long) start_ns, (unsigned long long) stop_ns);
        ts_close(&ts);
        free(pids);
        return 0;
}

static uint64_t tv_ns(struct timeval tv) {
        return (uint64_t) tv.tv_sec * 1000000000ULL + (uint64_t) tv.tv_usec * 1000ULL;
}

static int cmd_crash(double seconds, const char *prog) {
        uint64_t end = now_ns() + (uint64_t) (seconds * 1e9);
        struct rusage self, kids;
        unsigned long spawns = 0;
        uint64_t t0 = now_ns();
        pid_t child;

        live = &child;
        catch_fatal();
        child = start(prog);
        n_live = 1;
        spawns++;
        for (;;) {
                if (waitpid(-1, NULL, 0) < 0) {
                        if (errno == EINTR)
                                continue;
                        die("waitpid: %s", strerror(errno));
                }
                n_live = 0;
                if (now_ns() >= end)
                        break;
                child = start(prog);
                n_live = 1;
                spawns++;
        }
        uint64_t elapsed = now_ns() - t0;
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &kids);
        printf("%.1f %llu %llu\n", (double) spawns * 1e9 / (double) elapsed,
               (unsigned long long) ((tv_ns(self.ru_utime) + tv_ns(self.ru_stime)) / spawns),
               (unsigned long long) ((tv_ns(kids.ru_utime) + tv_ns(kids.ru_stime)) / spawns));
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 4 && strcmp(argv[1], "sup") == 0) {
                use_fork = strcmp(argv[2], "fork") == 0;
                return cmd_sup(argv[3]);
        }
        if (argc == 6 && strcmp(argv[1], "startstop") == 0) {
                use_fork = strcmp(argv[2], "fork") == 0;
                return cmd_startstop(strtol(argv[3], NULL, 10), argv[4], argv[5]);
        }
        if (argc == 4 && strcmp(argv[1], "crash") == 0)
                return cmd_crash(strtod(argv[2], NULL), argv[3]);
        fprintf(stderr, "usage: floor sup spawn|fork PROG\n"
                        "       floor startstop spawn|fork N PROG TSFILE\n"
                        "       floor crash SECONDS PROG\n");
        return 2;
}
