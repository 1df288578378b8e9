/* SPDX-License-Identifier: MIT */
/* Helpers shared by the benchmark programs (header-only, each program is one .c file):
 * CLOCK_MONOTONIC in ns, and following a timestamp file that bench hello workers append to.
 * A hello worker's very first action is to take CLOCK_MONOTONIC and append "NS\n" to
 * $FV_BENCH_FILE in one write(2); the harness reads complete lines only, and sleeps on inotify
 * (IN_MODIFY) between reads, so waiting costs no CPU that the measured processes could use. */
#ifndef FV_BENCH_H
#define FV_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static inline void sleep_until_ns(uint64_t t) {
        struct timespec ts = { .tv_sec = (time_t) (t / 1000000000ULL), .tv_nsec = (long) (t % 1000000000ULL) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
}

static inline void sleep_ms(unsigned ms) {
        sleep_until_ns(now_ns() + (uint64_t) ms * 1000000ULL);
}

static inline _Noreturn void die(const char *fmt, ...) {
        va_list ap;
        fputs("bench: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(1);
}

/* A timestamp file being followed: lines seen so far, the last and the largest value. */
typedef struct TsFile {
        const char *path;
        int fd;
        int ino;             /* inotify instance watching the file */
        char part[64];       /* an incomplete last line, if any */
        size_t n_part;
        size_t lines;
        uint64_t last, max;
} TsFile;

/* Opens PATH (creating it empty when TRUNCATE, or when missing) and starts following it. */
static inline void ts_open(TsFile *f, const char *path, int truncate) {
        memset(f, 0, sizeof *f);
        f->path = path;
        f->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
        if (f->fd < 0)
                die("cannot open %s: %s", path, strerror(errno));
        f->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (f->ino < 0 || inotify_add_watch(f->ino, path, IN_MODIFY) < 0)
                die("inotify on %s: %s", path, strerror(errno));
}

static inline void ts_close(TsFile *f) {
        close(f->fd);
        close(f->ino);
}

/* Reads what was appended since the last call; returns how many new lines. */
static inline size_t ts_poll(TsFile *f) {
        char buf[65536];
        size_t before = f->lines;
        ssize_t n;

        while ((n = read(f->fd, buf, sizeof buf)) > 0)
                for (ssize_t i = 0; i < n; i++) {
                        if (buf[i] != '\n') {
                                if (f->n_part < sizeof f->part - 1)
                                        f->part[f->n_part++] = buf[i];
                                continue;
                        }
                        f->part[f->n_part] = '\0';
                        uint64_t v = strtoull(f->part, NULL, 10);
                        f->n_part = 0;
                        f->lines++;
                        f->last = v;
                        if (v > f->max)
                                f->max = v;
                }
        return f->lines - before;
}

/* Waits until the file holds at least WANT lines; 0, or -1 after TIMEOUT_MS. */
static inline int ts_wait_lines(TsFile *f, size_t want, unsigned timeout_ms) {
        uint64_t deadline = now_ns() + (uint64_t) timeout_ms * 1000000ULL;

        for (;;) {
                ts_poll(f);
                if (f->lines >= want)
                        return 0;
                uint64_t now = now_ns();
                if (now >= deadline)
                        return -1;
                struct pollfd p = { .fd = f->ino, .events = POLLIN };
                /* 50 ms at most per sleep: a modification between read and poll is not lost
                 * (inotify queues it), this only bounds the cost of any surprise. */
                uint64_t left = (deadline - now) / 1000000ULL;
                if (poll(&p, 1, left > 50 ? 50 : (int) left + 1) > 0) {
                        char ev[4096];
                        while (read(f->ino, ev, sizeof ev) > 0)
                                ;
                }
        }
}

/* A "Key:   N kB" field of a /proc file of PID, in kB; -1 when absent. */
static inline long proc_kb(int pid, const char *file, const char *key) {
        char path[64], line[256];
        size_t kl = strlen(key);
        long v = -1;

        snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
        FILE *fp = fopen(path, "re");
        if (!fp)
                return -1;
        while (fgets(line, sizeof line, fp))
                if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
                        v = strtol(line + kl + 1, NULL, 10);
                        break;
                }
        fclose(fp);
        return v;
}

/* utime+stime (and cutime+cstime: its reaped children) of PID from /proc/PID/stat, in ns. */
static inline int proc_cpu_ns(int pid, uint64_t *self, uint64_t *children) {
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        char *p = strrchr(buf, ')'); /* comm may hold spaces */
        if (!p)
                return -1;
        /* Fields after comm: 3 state ... 14 utime 15 stime 16 cutime 17 cstime. */
        unsigned long long v[18] = { 0 };
        int field = 2;
        for (char *tok = strtok(p + 1, " "); tok && field < 17; tok = strtok(NULL, " ")) {
                field++;
                if (field >= 14)
                        v[field] = strtoull(tok, NULL, 10);
        }
        uint64_t tick = 1000000000ULL / (uint64_t) sysconf(_SC_CLK_TCK);
        *self = (v[14] + v[15]) * tick;
        if (children)
                *children = (v[16] + v[17]) * tick;
        return 0;
}

#endif
