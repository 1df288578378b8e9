/* SPDX-License-Identifier: MIT */
/* Test worker for SPEC section 5 (a child's environment): writes a `key=value` report of what it
 * inherited to FILE (to FILE.tmp.PID, then renamed: a poller never sees a partial file), then
 * sleeps until killed. It changes nothing about itself before looking. Usage: env-dump FILE
 *
 * Keys: pid ppid pgid sid uid gid groups umask nice cwd sigmask sigign handled fds pdeathsig
 * rlimit_nofile rlimit_core rlimit_as rlimit_nproc, then env.NAME=VALUE for every variable.
 * Lists are comma separated numbers or "none"; limits are SOFT:HARD with "infinity"; a newline
 * inside a value is written as the two characters \n. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#include "markers.h"


static int cmp_int(const void *a, const void *b) {
        return *(const int *) a - *(const int *) b;
}

static void put_list(FILE *f, const char *key, const int *v, size_t n) {
        fprintf(f, "%s=", key);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%d", i ? "," : "", v[i]);
        fputs(n ? "\n" : "none\n", f);
}

/* Open descriptors, not counting the one that lists them. Done first, before anything else
 * opens a file (open_memstream needs no descriptor). */
static size_t list_fds(int *fds, size_t max) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d)) && n < max) {
                int fd = atoi(de->d_name);

                if (de->d_name[0] != '.' && fd != dirfd(d))
                        fds[n++] = fd;
        }
        closedir(d);
        qsort(fds, n, sizeof *fds, cmp_int);
        return n;
}

/* The SigBlk/SigIgn/SigCgt lines of /proc/self/status cover every signal, real-time ones
 * included, which sigaction() cannot query for those glibc reserves. Bit N-1 is signal N. */
static void put_sigset(FILE *f, const char *key, const char *field) {
        FILE *s = fopen("/proc/self/status", "re");
        unsigned long long mask = 0;
        char line[256];
        int sigs[64];
        size_t n = 0;

        while (s && fgets(line, sizeof line, s))
                if (strncmp(line, field, strlen(field)) == 0) {
                        mask = strtoull(line + strlen(field), NULL, 16);
                        break;
                }
        if (s)
                fclose(s);
        for (int sig = 1; sig <= 64; sig++)
                if (mask & 1ULL << (sig - 1))
                        sigs[n++] = sig;
        put_list(f, key, sigs, n);
}

static void put_rlimit(FILE *f, const char *key, int resource) {
        struct rlimit rl;

        if (getrlimit(resource, &rl) < 0) {
                fprintf(f, "%s=error\n", key);
                return;
        }
        fprintf(f, "%s=", key);
        if (rl.rlim_cur == RLIM_INFINITY)
                fputs("infinity:", f);
        else
                fprintf(f, "%llu:", (unsigned long long) rl.rlim_cur);
        if (rl.rlim_max == RLIM_INFINITY)
                fputs("infinity\n", f);
        else
                fprintf(f, "%llu\n", (unsigned long long) rl.rlim_max);
}

static void put_value(FILE *f, const char *v) {
        for (; *v; v++)
                if (*v == '\n')
                        fputs("\\n", f);
                else
                        fputc(*v, f);
        fputc('\n', f);
}

int main(int argc, char **argv) {
        static int fds[4096];
        gid_t groups[NGROUPS_MAX];
        int gids[NGROUPS_MAX], pdeathsig = 0, nice_value;
        char cwd[PATH_MAX], *report = NULL, tmp[PATH_MAX];
        size_t nfds, size = 0;
        mode_t mask;
        int ngroups, fd, ok;
        FILE *f;

        if (argc != 2 || !*argv[1]) {
                fprintf(stderr, "usage: %s FILE\n", program_invocation_short_name);
                return 2;
        }
        nfds = list_fds(fds, sizeof fds / sizeof *fds);

        f = open_memstream(&report, &size);
        if (!f)
                return 1;
        fprintf(f, "pid=%d\nppid=%d\npgid=%d\nsid=%d\nuid=%d\ngid=%d\n", (int) getpid(), (int) getppid(),
                (int) getpgid(0), (int) getsid(0), (int) getuid(), (int) getgid());
        ngroups = getgroups(NGROUPS_MAX, groups);
        for (int i = 0; i < ngroups; i++)
                gids[i] = groups[i];
        put_list(f, "groups", gids, ngroups > 0 ? ngroups : 0);
        mask = umask(0);
        umask(mask);
        fprintf(f, "umask=%04o\n", (unsigned) mask);
        errno = 0;
        nice_value = getpriority(PRIO_PROCESS, 0);
        fprintf(f, "nice=%d\n", errno ? 0 : nice_value);
        fprintf(f, "cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
        put_sigset(f, "sigmask", "SigBlk:");
        put_sigset(f, "sigign", "SigIgn:");
        put_sigset(f, "handled", "SigCgt:");
        put_list(f, "fds", fds, nfds);
        (void) prctl(PR_GET_PDEATHSIG, &pdeathsig);
        fprintf(f, "pdeathsig=%d\n", pdeathsig);
        put_rlimit(f, "rlimit_nofile", RLIMIT_NOFILE);
        put_rlimit(f, "rlimit_core", RLIMIT_CORE);
        put_rlimit(f, "rlimit_as", RLIMIT_AS);
        put_rlimit(f, "rlimit_nproc", RLIMIT_NPROC);
        for (char **e = environ; *e; e++) {
                fprintf(f, "env.");
                put_value(f, *e);
        }
        if (fclose(f) != 0)
                return 1;

        snprintf(tmp, sizeof tmp, "%s.tmp.%d", argv[1], (int) getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ok = fd >= 0 && write(fd, report, size) == (ssize_t) size;
        if (fd >= 0 && close(fd) < 0)
                ok = 0;
        if (!ok || rename(tmp, argv[1]) < 0) {
                fprintf(stderr, "%s: cannot write %s: %m\n", program_invocation_short_name, argv[1]);
                unlink(tmp);
                return 1;
        }
        free(report);

        record_pid(getpid());
        mark_started();
        for (;;)
                pause();
}
