/* SPDX-License-Identifier: MIT */
/* Runs one forkvisor node (`forkvisor run CONFIG --control SOCK`, its stderr to LOG) and measures
 * it from outside, the same way bench/floor measures the bare loops.
 *
 *   fvnode startstop FORKVISOR CONFIG SOCK LOG TSFILE N
 *       start: t0 just before the node is spawned, end = the largest timestamp its N hello
 *       workers wrote to TSFILE (first instruction of the last one). Then, once settled, the
 *       node's memory with N workers: VmRSS and VmHWM (/proc/PID/status), Pss
 *       (/proc/PID/smaps_rollup). Then stop: t0 just before SIGTERM to the node, end when
 *       waitpid says the node has exited (it reaps every worker first).
 *       Prints "start_ns rss_kb hwm_kb pss_kb stop_ns exit_status".
 *   fvnode crash FORKVISOR CONFIG SOCK LOG SECONDS
 *       crash loop: the node restarts a worker that exits at once. After 0.5 s of warm-up, for
 *       SECONDS: restarts counted from the log ("Restarting '" lines), the node's CPU time from
 *       /proc/PID/stat (utime+stime; cutime+cstime = its reaped children).
 *       Prints "restarts_per_s node_cpu_ns_per_restart children_cpu_ns_per_restart". */
#include <spawn.h>
#include <sys/wait.h>

#include "bench.h"

extern char **environ;

static pid_t node = -1;

static void cleanup(void) {
        if (node > 0) {
                kill(node, SIGKILL);
                waitpid(node, NULL, 0);
        }
}

static void on_fatal(int sig) {
        cleanup();
        _exit(128 + sig);
}

static pid_t spawn_node(char **args, const char *log, uint64_t *t0) {
        posix_spawn_file_actions_t fa;
        pid_t pid;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        char *argv[] = { args[0], (char *) "run", args[1], (char *) "--control", args[2], NULL };
        *t0 = now_ns();
        int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                die("spawn %s: %s", argv[0], strerror(r));
        node = pid;
        return pid;
}

static int stop_node(uint64_t *elapsed) {
        int st = 0;
        uint64_t t0 = now_ns();
        kill(node, SIGTERM);
        while (waitpid(node, &st, 0) < 0)
                if (errno != EINTR)
                        die("waitpid: %s", strerror(errno));
        if (elapsed)
                *elapsed = now_ns() - t0;
        node = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmd_startstop(char **args, const char *log, const char *tsfile, long n) {
        TsFile ts;
        uint64_t t0, stop_ns;

        ts_open(&ts, tsfile, 1);
        pid_t pid = spawn_node(args, log, &t0);
        if (ts_wait_lines(&ts, (size_t) n, 60000) < 0)
                die("only %zu of %ld workers started (see %s)", ts.lines, n, log);
        uint64_t start_ns = ts.max - t0;

        sleep_ms(200); /* the node returns to its loop after the last spawn */
        long rss = proc_kb(pid, "status", "VmRSS");
        long hwm = proc_kb(pid, "status", "VmHWM");
        long pss = proc_kb(pid, "smaps_rollup", "Pss");
        int status = stop_node(&stop_ns);
        ts_poll(&ts);
        if (ts.lines != (size_t) n)
                die("%zu workers started instead of %ld (see %s)", ts.lines, n, log);
        printf("%llu %ld %ld %ld %llu %d\n", (unsigned long long) start_ns, rss, hwm, pss,
               (unsigned long long) stop_ns, status);
        ts_close(&ts);
        return 0;
}

/* How many "Restarting '" lines LOG holds now. */
static unsigned long count_restarts(const char *log) {
        static const char needle[] = "Restarting '";
        char buf[65536 + sizeof needle];
        size_t keep = 0;
        unsigned long count = 0;
        ssize_t n;
        int fd = open(log, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                die("open %s: %s", log, strerror(errno));
        while ((n = read(fd, buf + keep, sizeof buf - keep - 1)) > 0) {
                size_t len = keep + (size_t) n;
                buf[len] = '\0';
                for (char *p = buf; (p = memmem(p, len - (size_t) (p - buf), needle, sizeof needle - 1)); p++)
                        count++;
                /* Keep a tail shorter than the needle: a match across two reads is counted once. */
                keep = len < sizeof needle - 2 ? len : sizeof needle - 2;
                memmove(buf, buf + len - keep, keep);
        }
        close(fd);
        return count;
}

static int cmd_crash(char **args, const char *log, double seconds) {
        uint64_t t0, self0, self1, kids0, kids1;
        pid_t pid = spawn_node(args, log, &t0);

        sleep_ms(500);
        unsigned long r0 = count_restarts(log);
        uint64_t w0 = now_ns();
        if (proc_cpu_ns(pid, &self0, &kids0) < 0)
                die("the node is gone (see %s)", log);
        sleep_until_ns(w0 + (uint64_t) (seconds * 1e9));
        if (proc_cpu_ns(pid, &self1, &kids1) < 0)
                die("the node is gone (see %s)", log);
        uint64_t w1 = now_ns();
        unsigned long r1 = count_restarts(log);
        int status = stop_node(NULL);
        unsigned long restarts = r1 - r0;
        if (restarts == 0)
                die("no restart in %.1f s (node exit status %d, see %s)", seconds, status, log);
        printf("%.1f %llu %llu\n", (double) restarts * 1e9 / (double) (w1 - w0),
               (unsigned long long) ((self1 - self0) / restarts), (unsigned long long) ((kids1 - kids0) / restarts));
        return 0;
}

int main(int argc, char **argv) {
        atexit(cleanup);
        signal(SIGINT, on_fatal);
        signal(SIGTERM, on_fatal);
        signal(SIGHUP, on_fatal);
        if (argc == 8 && strcmp(argv[1], "startstop") == 0)
                return cmd_startstop(argv + 2, argv[5], argv[6], strtol(argv[7], NULL, 10));
        if (argc == 7 && strcmp(argv[1], "crash") == 0)
                return cmd_crash(argv + 2, argv[5], strtod(argv[6], NULL));
        fprintf(stderr, "usage: fvnode startstop FORKVISOR CONFIG SOCK LOG TSFILE N\n"
                        "       fvnode crash FORKVISOR CONFIG SOCK LOG SECONDS\n");
        return 2;
}
