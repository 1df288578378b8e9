/* SPDX-License-Identifier: MIT */
/* Test worker: tries every route a child has to change the registry it was given read-only on
 * fd 4 (FORKVISOR_REGISTRY), and reports each as a line "ROUTE=refused" or "ROUTE=WRITABLE" in
 * $FV_TEST_OUT/<FORKVISOR_NAME>.attack (written whole: a temporary, then renamed), then sleeps
 * until it is killed. Why each attempt failed (or that it did not) goes to stderr.
 *
 * A route is WRITABLE when the kernel let it through, whatever it would have written: writes put
 * back the bytes that are there, and the destructive ones (truncate, hole punching) aim at the
 * table's last page, so a broken protection shows here and harms the node as little as it can.
 * Usage: registry-attack [FD] (default $FORKVISOR_REGISTRY, else 4) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "markers.h"

static char report[8192];
static size_t report_len;
static int writable;

/* route: records ROUTE's outcome; ok = the kernel let the attempt through. */
static void route(const char *name, bool ok, int err) {
        report_len += (size_t) snprintf(report + report_len, sizeof report - report_len, "%s=%s\n", name,
                                        ok ? "WRITABLE" : "refused");
        if (ok)
                writable++;
        fprintf(stderr, "registry-attack: %s: %s%s%s\n", name, ok ? "WRITABLE" : "refused", ok ? "" : ": ",
                ok ? "" : err ? strerror(err) : "allowed, but it did not reach the table");
}

/* The ways to write through a descriptor FD of the table, of SIZE bytes; PREFIX names them. */
static void through_fd(const char *prefix, int fd, size_t size, const unsigned char *orig) {
        char name[64];
        long page = sysconf(_SC_PAGESIZE);
        off_t last = (off_t) ((size - 1) / (size_t) page * (size_t) page);
        ssize_t n;
        int e;

#define ROUTE(what, ok) (snprintf(name, sizeof name, "%s%s", prefix, what), route(name, (ok), errno))
        errno = 0;
        n = write(fd, orig, 64); /* at offset 0: the header, as it is */
        ROUTE("write", n > 0);
        errno = 0;
        n = pwrite(fd, orig + 64, 64, 64);
        ROUTE("pwrite", n > 0);
        struct iovec iov[2] = { { (void *) orig, 4 }, { (void *) (orig + 4), 4 } };
        errno = 0;
        n = pwritev(fd, iov, 2, 0);
        ROUTE("pwritev", n > 0);

        /* Through the page cache from another file: sendfile(2) into it. */
        int src = memfd_create("attack-src", MFD_CLOEXEC);
        off_t off = 0;
        errno = EBADF;
        n = -1;
        if (src >= 0 && write(src, orig, 64) == 64 && lseek(fd, 0, SEEK_SET) == 0)
                n = sendfile(fd, src, &off, 64);
        ROUTE("sendfile", n > 0);
        errno = EBADF;
        n = -1;
        if (src >= 0) {
                loff_t in = 0, out = 0;
                n = copy_file_range(src, &in, fd, &out, 64, 0);
        }
        ROUTE("copy_file_range", n > 0);
        if (src >= 0)
                close(src);

        errno = 0;
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ROUTE("mmap_shared_write", p != MAP_FAILED);
        if (p != MAP_FAILED)
                munmap(p, size);

        /* A read-only shared mapping, made writable afterwards. */
        void *ro = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
        if (ro == MAP_FAILED) {
                fprintf(stderr, "registry-attack: %s: cannot even map it read-only: %m\n", prefix);
                return;
        }
        errno = 0;
        e = mprotect(ro, size, PROT_READ | PROT_WRITE);
        ROUTE("mprotect_write", e == 0);
        if (e == 0)
                mprotect(ro, size, PROT_READ);
        /* The kernel writing for us, with a debugger's force: /proc/self/mem, process_vm_writev. */
        int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
        errno = EBADF;
        n = -1;
        if (mem >= 0) {
                n = pwrite(mem, orig, 64, (off_t) (uintptr_t) ro);
                close(mem);
        }
        ROUTE("proc_self_mem_write", n > 0);
        struct iovec local = { (void *) orig, 64 }, remote = { ro, 64 };
        errno = 0;
        n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
        ROUTE("process_vm_writev", n > 0);
        /* Dropping pages of a shared mapping zeroes them for everybody. */
        errno = 0;
        e = madvise((char *) ro + last, (size_t) page, MADV_REMOVE);
        ROUTE("madvise_remove", e == 0);
        munmap(ro, size);

        /* A private writable mapping is a copy: allowed or not, writing it must not reach the
         * table. */
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        bool reached = false;
        if (p != MAP_FAILED) {
                ((volatile unsigned char *) p)[0] = (unsigned char) ~orig[0];
                unsigned char now;
                reached = pread(fd, &now, 1, 0) == 1 && now != orig[0];
                munmap(p, size);
        }
        errno = p == MAP_FAILED ? errno : 0;
        ROUTE("mmap_private_write_reaches_table", reached);

        errno = 0;
        e = ftruncate(fd, (off_t) size + page);
        ROUTE("ftruncate_grow", e == 0);
        errno = 0;
        e = ftruncate(fd, (off_t) size - 1);
        ROUTE("ftruncate_shrink", e == 0);
        errno = 0;
        e = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, last, page);
        ROUTE("fallocate_punch_hole", e == 0);
        errno = 0;
        e = fallocate(fd, 0, (off_t) size, page);
        ROUTE("fallocate_grow", e == 0);
        /* Seals cannot be removed (there is no call for it) and, with F_SEAL_SEAL, not added
         * either. */
        errno = 0;
        e = fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE);
        ROUTE("add_seals", e == 0);
#undef ROUTE
}

/* The node's own descriptor of the table, read-write, through /proc/<node>/fd: -1 if there is
 * none we can open. */
static int open_nodes_memfd(int *err) {
        char dir[64], path[PATH_MAX], link[PATH_MAX];
        snprintf(dir, sizeof dir, "/proc/%d/fd", (int) getppid());
        DIR *d = opendir(dir);
        *err = errno;
        if (!d)
                return -1;
        int fd = -1;
        *err = ENOENT;
        for (struct dirent *de; fd < 0 && (de = readdir(d));) {
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                ssize_t n = readlink(path, link, sizeof link - 1);
                if (n < 0)
                        continue;
                link[n] = '\0';
                if (strncmp(link, "/memfd:forkvisor-registry", 25) != 0)
                        continue;
                fd = open(path, O_RDWR | O_CLOEXEC);
                *err = errno;
        }
        closedir(d);
        return fd;
}

int main(int argc, char **argv) {
        const char *env = getenv("FORKVISOR_REGISTRY");
        int fd = argc > 1 ? atoi(argv[1]) : env && *env ? atoi(env) : 4;
        record_pid(getpid());
        mark_started();

        struct stat st;
        static unsigned char orig[128];
        if (fstat(fd, &st) < 0 || st.st_size < 128 || pread(fd, orig, sizeof orig, 0) != (ssize_t) sizeof orig) {
                fprintf(stderr, "registry-attack: fd %d is not a registry: %m\n", fd);
                write_marker(".attack", "no_registry=WRITABLE\n");
                for (;;)
                        pause();
        }
        size_t size = (size_t) st.st_size;
        int seals = fcntl(fd, F_GET_SEALS);
        fprintf(stderr, "registry-attack: fd %d: %zu bytes, open %s, seals %#x\n", fd, size,
                (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY ? "read-only" : "READ-WRITE", seals);

        /* 1. fd 4 as given. */
        through_fd("", fd, size, orig);

        /* 2. fd 4 reopened read-write through /proc (opening works: it is no protection). */
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int rw = open(path, O_RDWR | O_CLOEXEC);
        if (rw >= 0) {
                through_fd("reopen_", rw, size, orig);
                close(rw);
        } else {
                int e = errno;
                route("reopen_rdwr", false, e);
        }

        /* 3. The node's own read-write descriptor, reopened through /proc/<node>/fd. */
        int err;
        int nfd = open_nodes_memfd(&err);
        if (nfd >= 0) {
                through_fd("node_fd_", nfd, size, orig);
                close(nfd);
        } else
                route("node_fd_reopen", false, err);

        /* The table is as it was (the node has changed no entry meanwhile in the tests). */
        unsigned char now[sizeof orig];
        if (pread(fd, now, sizeof now, 0) != (ssize_t) sizeof now || memcmp(now, orig, 16) != 0) /* magic, version, slots, slot size */
                route("header_changed", true, 0);

        write_marker(".attack", report);
        fprintf(stderr, "registry-attack: %d of the routes were writable\n", writable);
        for (;;)
                pause();
}
