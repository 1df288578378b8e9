/* SPDX-License-Identifier: MIT */
/* `file:` outputs the node writes: one object per path, found through an index, on one list for
 * SIGUSR1. An object nobody references any more is closed but kept (the index has no removal),
 * so a path costs one small record for the life of the node, however often it is used again. */
#include "output-file.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "list.h"
#include "log.h"
#include "macro.h"
#include "strindex.h"

struct OutputFile {
        char *path;               /* owned; the index's key */
        int fd;                   /* -EBADF while nobody references it */
        unsigned n_ref;
        uint64_t size;            /* bytes in the file, as counted since it was opened */
        uint64_t max_bytes;       /* 0: no rotation */
        unsigned backups;
        bool mid_line;            /* the last piece did not end its line: no rotation before the rest */
        uint64_t dropped;         /* pieces dropped since the last write that succeeded */
        uint64_t dropped_total;
        LIST_FIELDS(OutputFile, files);
};

static StrIndex by_path;
static OutputFile *all_files;

/* Non-blocking: a path that became a FIFO since the spawn looked at it must not hold up the
 * loop (a FIFO without a reader fails with ENXIO instead). */
static int open_path(const char *path, uint64_t *ret_size) {
        struct stat st;
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, OUTPUT_FILE_MODE);

        if (fd < 0)
                return -errno;
        *ret_size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t) st.st_size : 0;
        return fd;
}

int output_file_get(const char *path, OutputFile **ret) {
        OutputFile *f = strindex_get(&by_path, path);
        uint64_t size = 0;
        int fd;

        if (f && f->n_ref > 0) {
                f->n_ref++;
                *ret = f;
                return 0;
        }
        fd = open_path(path, &size);
        if (fd < 0)
                return fd;
        if (!f) {
                f = calloc(1, sizeof *f);
                if (!f || !(f->path = strdup(path)) || strindex_put(&by_path, f->path, f) < 0) {
                        safe_close(fd);
                        if (f)
                                free(f->path);
                        free(f);
                        return -ENOMEM;
                }
                LIST_PREPEND(files, all_files, f);
        }
        f->fd = fd;
        f->size = size;
        f->n_ref = 1;
        f->mid_line = false;
        *ret = f;
        return 0;
}

static void report_dropped(OutputFile *f) {
        if (f->dropped == 0)
                return;
        log_notice("'%s' takes lines again: %" PRIu64 " line piece%s dropped before", f->path, f->dropped,
                   f->dropped == 1 ? " was" : "s were");
        f->dropped = 0;
}

OutputFile *output_file_unref(OutputFile *f) {
        if (!f)
                return NULL;
        assert(f->n_ref > 0);
        if (--f->n_ref == 0)
                f->fd = safe_close(f->fd);
        return NULL;
}

void output_file_set_rotation(OutputFile *f, uint64_t max_bytes, unsigned backups) {
        f->max_bytes = max_bytes;
        f->backups = backups;
}

uint64_t output_file_dropped(const OutputFile *f) {
        return f->dropped_total;
}

/* Replaces f's descriptor by a new one of f->path. false (and the old one kept) when it cannot. */
static bool reopen(OutputFile *f, const char *why) {
        uint64_t size = 0;
        int fd = open_path(f->path, &size);

        if (fd < 0) {
                log_warning_errno(fd, "Failed to open '%s' again (%s), writing on to the file it had open: %m",
                                  f->path, why);
                return false;
        }
        safe_close(f->fd);
        f->fd = fd;
        f->size = size;
        return true;
}

/* PATH.N-1 → PATH.N, ..., PATH → PATH.1, and PATH anew; or PATH emptied when there are no
 * backups. A step that fails is logged and rotation waits for the next max_bytes (size 0),
 * rather than being tried again at every line. */
static void rotate(OutputFile *f) {
        struct stat st_path, st_fd;
        size_t size = strlen(f->path) + 16;
        _cleanup_free_ char *from = malloc(size), *to = malloc(size);

        if (f->backups == 0) {
                if (ftruncate(f->fd, 0) < 0)
                        log_warning_errno(errno, "Failed to truncate '%s' (log_max_bytes): %m", f->path);
                f->size = 0;
                return;
        }
        /* Moved away behind our back (logrotate without SIGUSR1): what is at PATH now is not
         * ours to rename; opening it again is all that is left to do. */
        if (fstat(f->fd, &st_fd) < 0 || stat(f->path, &st_path) < 0 || st_fd.st_dev != st_path.st_dev ||
            st_fd.st_ino != st_path.st_ino) {
                if (!reopen(f, "it was moved"))
                        f->size = 0;
                return;
        }
        if (!from || !to) {
                log_warning("Failed to rotate '%s': out of memory", f->path);
                f->size = 0;
                return;
        }
        for (unsigned i = f->backups; i > 1; i--) {
                snprintf(from, size, "%s.%u", f->path, i - 1);
                snprintf(to, size, "%s.%u", f->path, i);
                if (rename(from, to) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "Failed to rename '%s' to '%s' (log_backups): %m", from, to);
        }
        snprintf(to, size, "%s.1", f->path);
        if (rename(f->path, to) < 0) {
                log_warning_errno(errno, "Failed to rotate '%s' to '%s': %m", f->path, to);
                f->size = 0;
                return;
        }
        if (!reopen(f, "rotated"))
                f->size = 0;
}

/* The file as it is now: another writer, or logrotate's copytruncate, changes its size. */
static void refresh_size(OutputFile *f) {
        struct stat st;
        if (fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode))
                f->size = (uint64_t) st.st_size;
}

/* Writes total bytes of v. A regular file takes all of it unless the disk is full; a short write
 * is continued until it either completes or fails (then the rest is dropped and counted). */
static void put(OutputFile *f, struct iovec *v, int n_iov, size_t total) {
        while (total > 0) {
                ssize_t k = writev(f->fd, v, n_iov);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        if (f->dropped++ == 0)
                                log_warning_errno(k < 0 ? errno : EAGAIN,
                                                  "Failed to write to '%s': %m; its lines are dropped until it takes them again",
                                                  f->path);
                        f->dropped_total++;
                        return;
                }
                f->size += (uint64_t) k;
                total -= (size_t) k;
                while (n_iov > 0 && (size_t) k >= v->iov_len) {
                        k -= (ssize_t) v->iov_len;
                        v++;
                        n_iov--;
                }
                if (n_iov > 0) {
                        v->iov_base = (char *) v->iov_base + k;
                        v->iov_len -= (size_t) k;
                }
        }
        report_dropped(f);
}

void output_file_write(OutputFile *f, const char *data, size_t len, bool nl) {
        struct iovec iov[2] = {
                { (char *) data, len },
                { (char *) "\n", nl },
        };
        size_t total = len + nl;

        if (f->fd < 0)
                return;
        if (!f->mid_line && f->max_bytes > 0 && f->size > 0 && f->size + total > f->max_bytes) {
                refresh_size(f);
                if (f->size > 0 && f->size + total > f->max_bytes)
                        rotate(f);
        }
        f->mid_line = !nl;
        put(f, iov, 2, total);
}

void output_file_write_lines(OutputFile *f, const char *data, size_t len) {
        assert(len > 0 && data[len - 1] == '\n');
        if (f->fd < 0)
                return;
        /* In one write, when no rotation can fall inside: a chatty child costs one system call
         * per read, not one per line. */
        if (!f->mid_line && (f->max_bytes == 0 || f->size + len <= f->max_bytes)) {
                put(f, &(struct iovec) { (char *) data, len }, 1, len);
                return;
        }
        for (const char *end = data + len; data < end;) {
                const char *nl = memchr(data, '\n', (size_t) (end - data));
                output_file_write(f, data, (size_t) (nl - data), true);
                data = nl + 1;
        }
}

unsigned output_file_reopen_all(unsigned *ret_failed) {
        unsigned n = 0, failed = 0;

        for (OutputFile *f = all_files; f; f = f->files_next) {
                if (f->n_ref == 0)
                        continue;
                if (reopen(f, "SIGUSR1")) {
                        f->mid_line = false;
                        n++;
                } else
                        failed++;
        }
        if (ret_failed)
                *ret_failed = failed;
        return n;
}
