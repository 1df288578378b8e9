/* SPDX-License-Identifier: MIT */
/* Operator holds on disk (held.h): one small file per held child, so that a child stopped by
 * the operator stays down when the daemon starts again. */
#include "held.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control-path.h"
#include "log.h"
#include "macro.h"
#include "strv.h"

struct HeldDir {
        char *path;
        int fd;             /* the directory, opened for reading: fsync needs a real one */
        char **stale_seen;  /* paths already logged as stale */
};

static bool plain_byte(char c, size_t at) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || (c == '.' && at > 0);
}

int held_encode(const char *path, char *buf, size_t size) {
        static const char hex[] = "0123456789ABCDEF";
        size_t len = 0;

        if (!*path)
                return -EINVAL;
        for (size_t i = 0; path[i]; i++) {
                unsigned char c = (unsigned char) path[i];
                size_t need = plain_byte((char) c, i) ? 1 : 3;
                if (len + need >= size)
                        return -ENAMETOOLONG;
                if (need == 1)
                        buf[len++] = (char) c;
                else {
                        buf[len++] = '%';
                        buf[len++] = hex[c >> 4];
                        buf[len++] = hex[c & 15];
                }
        }
        buf[len] = '\0';
        return 0;
}

int held_decode(const char *name, char *buf, size_t size) {
        size_t len = 0;

        if (!*name)
                return -EINVAL;
        for (size_t i = 0; name[i]; ) {
                int c;
                if (name[i] == '%') {
                        int hi = unhex_upper(name[i + 1]), lo = hi < 0 ? -1 : unhex_upper(name[i + 2]);
                        if (hi < 0 || lo < 0)
                                return -EINVAL;
                        c = hi << 4 | lo;
                        /* One spelling per path: what held_encode() would have left plain is not
                         * ours, nor a NUL. */
                        if (c == 0 || plain_byte((char) c, i))
                                return -EINVAL;
                        i += 3;
                } else if (plain_byte(name[i], i)) {
                        c = (unsigned char) name[i];
                        i++;
                } else
                        return -EINVAL;
                if (len + 1 >= size)
                        return -ENAMETOOLONG;
                buf[len++] = (char) c;
        }
        buf[len] = '\0';
        return 0;
}

int held_dir_open(const char *dir, HeldDir **ret) {
        int r = private_dir_check(dir, "state directory", true);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Cannot open the state directory '%s': %m", dir);
        HeldDir *h = calloc(1, sizeof *h);
        if (h)
                h->fd = -EBADF;
        if (!h || !(h->path = strdup(dir)) || !(h->stale_seen = strv_new_empty())) {
                held_dir_free(h);
                return log_error_errno(ENOMEM, "Out of memory");
        }
        h->fd = TAKE_FD(fd);
        *ret = h;
        return 0;
}

HeldDir *held_dir_free(HeldDir *h) {
        if (!h)
                return NULL;
        safe_close(h->fd);
        free(h->path);
        strv_free(h->stale_seen);
        return mfree(h);
}

const char *held_dir_path(const HeldDir *h) {
        return h->path;
}

bool held_is_held(HeldDir *h, const char *path) {
        char name[NAME_MAX + 1];
        struct stat st;

        if (held_encode(path, name, sizeof name) < 0)
                return false;
        if (fstatat(h->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                        log_warning_errno(errno, "Cannot read the hold of '%s' in '%s', it is not held: %m", path, h->path);
                return false;
        }
        return S_ISREG(st.st_mode);
}

static int write_hold(HeldDir *h, const char *name, const char *path) {
        char tmp[NAME_MAX + 1];
        int r = 0;

        if (snprintf(tmp, sizeof tmp, ".%.200s.%d.tmp", name, (int) getpid()) >= (int) sizeof tmp)
                return -ENAMETOOLONG;
        int fd = openat(h->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        /* The path, for whoever looks: the name already says it. */
        if (dprintf(fd, "%s\n", path) < 0 || fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && renameat(h->fd, tmp, h->fd, name) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(h->fd, tmp, 0);
        return r;
}

int held_set(HeldDir *h, const char *path, bool held) {
        char name[NAME_MAX + 1];
        int r = held_encode(path, name, sizeof name);
        if (r < 0)
                return r;
        if (held)
                r = write_hold(h, name, path);
        else if (unlinkat(h->fd, name, 0) < 0)
                r = errno == ENOENT ? 1 : -errno;
        if (r < 0)
                return r;
        if (r == 1)
                return 0; /* there was none: nothing to make durable */
        /* The rename or the removal lasts only once the directory is on disk. */
        return fsync(h->fd) < 0 ? -errno : 0;
}

void held_check_stale(HeldDir *h, bool (*is_known)(const char *path, void *ud), void *ud) {
        int fd = openat(h->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return (void) log_warning_errno(errno, "Cannot list the state directory '%s': %m", h->path);
        DIR *d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return (void) log_warning_errno(errno, "Cannot list the state directory '%s': %m", h->path);
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                char path[NAME_MAX + 1];
                if (de->d_name[0] == '.' || held_decode(de->d_name, path, sizeof path) < 0)
                        continue; /* ours in the making, or not ours */
                if (strv_contains(h->stale_seen, path) || is_known(path, ud))
                        continue;
                log_warning("State directory '%s': '%s' is held but is not in the configuration; its hold is ignored",
                            h->path, path);
                (void) strv_push(&h->stale_seen, path);
        }
        closedir(d);
}
