/* SPDX-License-Identifier: MIT */
/* Benchmark worker: its very first action writes CLOCK_MONOTONIC in nanoseconds, as decimal and a
 * newline, to the descriptor $FV_BENCH_FD, else appends it to the file $FV_BENCH_FILE; then it
 * waits for a signal (SIGTERM kills it). No stdio, so `gcc -static -Os` gives a small binary.
 * Usage: hello */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h> /* rename() only */
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *env_get(char **envp, const char *name) {
        size_t len = strlen(name);

        for (; *envp; envp++)
                if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
                        return *envp + len + 1;
        return NULL;
}

/* Writes V in decimal, a newline and a NUL ending at END; returns the first character. */
static char *fmt_u64(char *end, unsigned long long v) {
        *--end = '\0';
        *--end = '\n';
        do
                *--end = '0' + v % 10;
        while (v /= 10);
        return end;
}

static void put(int fd, const char *s) {
        (void) !write(fd, s, strlen(s));
}

/* Appends TEXT (a short line: one write) to DIR/NAME, or with REPLACE writes DIR/NAME.tmp and
 * renames it to DIR/NAME, so that it never appears empty. */
static void marker(const char *dir, const char *name, const char *text, int replace) {
        char path[PATH_MAX], tmp[PATH_MAX + 4];
        size_t d = strlen(dir), n = strlen(name);
        int fd;

        if (d + n + 2 > sizeof path)
                return;
        memcpy(path, dir, d);
        path[d] = '/';
        memcpy(path + d + 1, name, n + 1);
        memcpy(tmp, path, d + n + 1);
        memcpy(tmp + d + n + 1, ".tmp", 5);
        if (replace)
                fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        else
                fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) {
                put(2, "hello: cannot write a marker file in $FV_TEST_OUT\n");
                return;
        }
        put(fd, text);
        close(fd);
        if (replace)
                rename(tmp, path);
}

int main(int argc, char **argv, char **envp) {
        struct timespec ts;
        char buf[32], *num;
        const char *fd_s, *file, *out, *name;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        num = fmt_u64(buf + sizeof buf, (unsigned long long) ts.tv_sec * 1000000000ULL + ts.tv_nsec);
        fd_s = env_get(envp, "FV_BENCH_FD");
        file = env_get(envp, "FV_BENCH_FILE");
        if (fd_s && *fd_s) {
                int fd = 0;

                for (; *fd_s >= '0' && *fd_s <= '9'; fd_s++)
                        fd = fd * 10 + (*fd_s - '0');
                put(fd, num);
        } else if (file && *file) {
                int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

                if (fd >= 0) {
                        put(fd, num);
                        close(fd);
                }
        }

        if (argc > 1) {
                put(2, "usage: hello   (no arguments)\n");
                return 2;
        }

        /* The test markers every worker writes. Unlike the other workers, hello does not turn a
         * '/' in the name into '_' (registry names hold none). */
        out = env_get(envp, "FV_TEST_OUT");
        if (out && *out) {
                char started[NAME_MAX + 1];
                size_t n;

                num = fmt_u64(buf + sizeof buf, getpid());
                name = env_get(envp, "FORKVISOR_NAME");
                if (!name || !*name)
                        name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
                n = strlen(name);
                if (n + sizeof ".started" > sizeof started)
                        n = sizeof started - sizeof ".started";
                memcpy(started, name, n);
                memcpy(started + n, ".started", sizeof ".started");
                marker(out, "pids", num, 0);
                marker(out, started, num, 1);
        }
        for (;;)
                pause();
}
