/* SPDX-License-Identifier: MIT */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"

#define CGROUP_PATH_MAX 4096
#define CGROUP_KILL_ROUNDS 32       /* without cgroup.kill: rounds of "read the pids, kill them" */
#define CGROUP_EMPTY_WAIT_MS 1000   /* at exit: how long killed processes get to leave */

/* One v1 hierarchy that carries a controller (hybrid hosts). */
typedef struct V1 {
        char *dir;           /* the node's own cgroup in it; NULL when unavailable */
        char *group;         /* the node's group in it, made when a limit first needs it */
        int group_fd;
        const char *why;     /* why unavailable */
} V1;

struct Cgroups {
        CgroupMode mode;
        char *base;          /* v2: the node's own cgroup directory */
        char *group;         /* v2: the node's group, base/forkvisor-HASH */
        int group_fd;
        char name[64];       /* forkvisor-HASH */
        bool has_kill;       /* cgroup.kill (Linux 5.14) */
        pid_t companion;     /* moves with the node (its guard) */
        bool leftovers;      /* the group existed when we started */
        bool v2_ctl[_CGROUP_CONTROLLER_MAX];       /* the v2 hierarchy offers it */
        bool enabled[_CGROUP_CONTROLLER_MAX];      /* enabled for our leaves (v2), or v1 ready */
        V1 v1[_CGROUP_CONTROLLER_MAX];
        char *groups[2 + _CGROUP_CONTROLLER_MAX]; /* cgroups_groups(): borrowed strings */
        char describe[1024];
        char why[512];
};

/* A worker's cgroup holds no descriptor between starts: every descriptor the node holds is
 * copied into, and closed by, each child it spawns (close_range), so a thousand workers with
 * three each would make every spawn close thousands more. Its files are opened when used. */
struct CgroupLeaf {
        Cgroups *c;          /* borrowed */
        char base[CGROUP_PATH_MAX / 4];  /* the v1 name, and the v2 one of the first incarnation */
        char name[CGROUP_PATH_MAX / 4 + 16]; /* the v2 directory now: base, or base~GEN */
        unsigned gen;        /* v2 directories made so far, less one */
        unsigned gen_removed;/* every base~GEN below this one is removed */
        bool killed;         /* cgroup.kill was written: the next incarnation needs a new one */
        bool v1[_CGROUP_CONTROLLER_MAX]; /* has a directory in that v1 hierarchy */
        bool memory;         /* has a memory limit: count OOM kills */
        bool fresh;          /* its v2 directory was just made: nothing counted in it yet */
        uint64_t cpu_base[2];/* user_usec, system_usec of cpu.stat before this incarnation */
        /* Open from cgroup_leaf_prepare() to cgroup_leaf_spawned() only. */
        int spawn_fd;
        int spawn_procs[_CGROUP_CONTROLLER_MAX];
        size_t n_spawn_procs;
};

static const char *const controller_v2_name[_CGROUP_CONTROLLER_MAX] = {
        [CGROUP_MEMORY] = "memory",
        [CGROUP_PIDS] = "pids",
        [CGROUP_CPU] = "cpu",
};

const char *cgroup_controller_to_string(CgroupController ctl) {
        return ctl >= 0 && ctl < _CGROUP_CONTROLLER_MAX ? controller_v2_name[ctl] : "?";
}

const char *cgroup_mode_to_string(CgroupMode m) {
        static const char *const table[_CGROUP_MODE_MAX] = {
                [CGROUP_MODE_NONE] = "process groups",
                [CGROUP_MODE_V2] = "cgroup v2",
                [CGROUP_MODE_HYBRID] = "cgroup v2 (hybrid host)",
        };
        return m >= 0 && m < _CGROUP_MODE_MAX ? table[m] : "?";
}

void cgroup_group_name(const char *identity, char *buf, size_t size) {
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
        for (const char *p = identity; *p; p++) {
                h ^= (unsigned char) *p;
                h *= 0x100000001b3ULL;
        }
        snprintf(buf, size, "forkvisor-%016" PRIx64, h);
}

void cgroup_leaf_name(const char *path, char *buf, size_t size) {
        size_t i = 0;
        for (; path[i] && i + 1 < size; i++)
                buf[i] = path[i] == '/' ? ':' : path[i];
        buf[i] = '\0';
}

/* Writes s to dirfd/file; 0 or -errno. */
static int write_at(int dirfd, const char *file, const char *s) {
        int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, s, strlen(s));
        int r = n < 0 ? -errno : (size_t) n == strlen(s) ? 0 : -EIO;
        close(fd);
        return r;
}

static int read_at(int dirfd, const char *file, char *buf, size_t size) {
        int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, size - 1);
        int r = n < 0 ? -errno : 0;
        close(fd);
        buf[n < 0 ? 0 : n] = '\0';
        return r;
}

/* "KEY N" in a flat-keyed file such as memory.events or cgroup.events. */
static uint64_t keyed_value(const char *text, const char *key) {
        size_t kl = strlen(key);
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, key, kl) == 0 && p[kl] == ' ')
                        return strtoull(p + kl + 1, NULL, 10);
        return 0;
}

/* From /proc/self/mountinfo: where the v2 hierarchy is (preferring /sys/fs/cgroup) and where
 * each v1 controller is, with the root of each mount (non-"/" inside some containers). */
typedef struct Mounts {
        char v2[CGROUP_PATH_MAX], v2_root[CGROUP_PATH_MAX];
        char v1[_CGROUP_CONTROLLER_MAX][CGROUP_PATH_MAX], v1_root[_CGROUP_CONTROLLER_MAX][CGROUP_PATH_MAX];
} Mounts;

static bool opts_have(const char *opts, const char *word) {
        size_t wl = strlen(word);
        for (const char *p = opts; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
                if (strncmp(p, word, wl) == 0 && (p[wl] == ',' || p[wl] == '\0'))
                        return true;
        return false;
}

/* cgroup.controllers: names separated by spaces. */
static bool words_have(const char *text, const char *word) {
        size_t wl = strlen(word);
        for (const char *p = text; *p; p += strcspn(p, " \n"), p += strspn(p, " \n"))
                if (strncmp(p, word, wl) == 0 && (p[wl] == ' ' || p[wl] == '\n' || p[wl] == '\0'))
                        return true;
        return false;
}

static void find_mounts(Mounts *m) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[CGROUP_PATH_MAX * 2];
        if (!f)
                return;
        while (fgets(line, sizeof line, f)) {
                char root[CGROUP_PATH_MAX], point[CGROUP_PATH_MAX], fstype[64], opts[1024];
                const char *dash = strstr(line, " - ");
                if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2 ||
                    sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2)
                        continue;
                if (strchr(point, '\\'))
                        continue; /* an escaped mount point: not one of ours */
                if (strcmp(fstype, "cgroup2") == 0) {
                        if (!m->v2[0] || strcmp(point, "/sys/fs/cgroup") == 0) {
                                snprintf(m->v2, sizeof m->v2, "%s", point);
                                snprintf(m->v2_root, sizeof m->v2_root, "%s", root);
                        }
                } else if (strcmp(fstype, "cgroup") == 0)
                        for (int i = 0; i < _CGROUP_CONTROLLER_MAX; i++)
                                if (!m->v1[i][0] && opts_have(opts, controller_v2_name[i])) {
                                        snprintf(m->v1[i], sizeof m->v1[i], "%s", point);
                                        snprintf(m->v1_root[i], sizeof m->v1_root[i], "%s", root);
                                }
        }
}

/* The node's own cgroup in the v2 hierarchy ("0::PATH") or in the v1 hierarchy carrying
 * controller (NULL for v2), relative to the mount's root. */
static bool own_cgroup(const char *controller, const char *mount_root, char *buf, size_t size) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
        char line[CGROUP_PATH_MAX];
        if (!f)
                return false;
        while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = '\0';
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c1 = *c2 = '\0';
                /* "ID:CONTROLLERS:PATH"; the v2 hierarchy is "0::PATH". */
                bool match = controller ? opts_have(c1 + 1, controller) : strcmp(line, "0") == 0 && c1[1] == '\0';
                if (!match)
                        continue;
                const char *path = c2 + 1;
                size_t rl = strlen(mount_root);
                /* A mount of a sub-tree (some containers): our path is below its root. */
                if (strcmp(mount_root, "/") != 0 && strncmp(path, mount_root, rl) == 0)
                        path += rl;
                snprintf(buf, size, "%s", strcmp(path, "/") == 0 ? "" : path);
                return true;
        }
        return false;
}

/* Makes DIR/NAME (an existing one is fine: *existed says so) and opens it. */
static int make_group(const char *dir, const char *name, char **ret_path, int *ret_fd, bool *existed) {
        char *p;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        bool ex = false;
        if (mkdir(p, 0755) < 0) {
                if (errno != EEXIST) {
                        int r = -errno;
                        free(p);
                        return r;
                }
                ex = true;
        }
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                int r = -errno;
                free(p);
                return r;
        }
        *ret_path = p;
        *ret_fd = fd;
        if (existed)
                *existed = ex;
        return 0;
}

static void setup_v1(Cgroups *c, const Mounts *m, CgroupController ctl) {
        V1 *v = &c->v1[ctl];
        char own[CGROUP_PATH_MAX], dir[CGROUP_PATH_MAX * 2];
        if (!m->v1[ctl][0]) {
                v->why = "no cgroup hierarchy has that controller";
                return;
        }
        if (!own_cgroup(controller_v2_name[ctl], m->v1_root[ctl], own, sizeof own)) {
                v->why = "the node is in no cgroup of that controller";
                return;
        }
        snprintf(dir, sizeof dir, "%s%s", m->v1[ctl], own);
        v->dir = strdup(dir); /* NULL: unavailable, as if out of memory were a reason */
        if (!v->dir)
                v->why = "out of memory";
}

/* what: why there is no cgroup; err: the errno behind it, or 0. */
static void fall_back(Cgroups *c, const char *what, const char *where, int err) {
        c->mode = CGROUP_MODE_NONE;
        snprintf(c->why, sizeof c->why, "%s%s", what, where ? where : "");
        if (err)
                snprintf(c->why + strlen(c->why), sizeof c->why - strlen(c->why), ": %s", strerror(err));
        snprintf(c->describe, sizeof c->describe,
                 "process groups (no cgroup: %s); memory_max, pids_max and cpu_weight are unavailable", c->why);
}

int cgroups_new(const char *identity, const char *root, Cgroups **ret) {
        Cgroups *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->group_fd = -EBADF;
        for (int i = 0; i < _CGROUP_CONTROLLER_MAX; i++)
                c->v1[i].group_fd = -EBADF;
        cgroup_group_name(identity, c->name, sizeof c->name);
        *ret = c;

        const char *off = getenv("FORKVISOR_CGROUP");
        if (off && strcmp(off, "no") == 0) {
                fall_back(c, "FORKVISOR_CGROUP=no", NULL, 0);
                return 0;
        }
        Mounts *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        char own[CGROUP_PATH_MAX];
        if (root) {
                snprintf(m->v2, sizeof m->v2, "%s", root);
                own[0] = '\0';
        } else {
                find_mounts(m);
                if (!m->v2[0]) {
                        free(m);
                        fall_back(c, "no cgroup v2 hierarchy is mounted", NULL, 0);
                        return 0;
                }
                if (!own_cgroup(NULL, m->v2_root, own, sizeof own)) {
                        free(m);
                        fall_back(c, "the node is in no cgroup v2 group", NULL, 0);
                        return 0;
                }
        }
        if (asprintf(&c->base, "%s%s", m->v2, own) < 0) {
                free(m);
                return -ENOMEM;
        }
        int r = make_group(c->base, c->name, &c->group, &c->group_fd, &c->leftovers);
        if (r < 0) {
                free(m);
                fall_back(c, "cannot make a cgroup in ", c->base, -r);
                return 0;
        }
        if (faccessat(c->group_fd, "cgroup.procs", W_OK, 0) < 0) {
                int err = errno;
                free(m);
                (void) rmdir(c->group);
                fall_back(c, "cannot move processes into ", c->group, err);
                return 0;
        }
        c->has_kill = faccessat(c->group_fd, "cgroup.kill", F_OK, 0) == 0;

        /* Which controllers the v2 hierarchy offers us; the others come from v1 (hybrid). */
        char ctls[512] = "";
        _cleanup_close_ int base_fd = open(c->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (base_fd >= 0)
                (void) read_at(base_fd, "cgroup.controllers", ctls, sizeof ctls);
        bool hybrid = false;
        for (int i = 0; i < _CGROUP_CONTROLLER_MAX; i++) {
                c->v2_ctl[i] = words_have(ctls, controller_v2_name[i]);
                if (!c->v2_ctl[i] && m->v1[i][0]) {
                        hybrid = true;
                        setup_v1(c, m, (CgroupController) i);
                }
        }
        free(m);
        c->mode = hybrid ? CGROUP_MODE_HYBRID : CGROUP_MODE_V2;
        c->groups[0] = c->group;
        snprintf(c->describe, sizeof c->describe, "%s: one cgroup per worker in %s%s", cgroup_mode_to_string(c->mode),
                 c->group, c->has_kill ? "" : " (no cgroup.kill: killing one process at a time)");
        return 0;
}

void cgroups_set_companion(Cgroups *c, pid_t pid) {
        c->companion = pid;
}

CgroupMode cgroups_mode(const Cgroups *c) {
        return c ? c->mode : CGROUP_MODE_NONE;
}

const char *cgroups_describe(const Cgroups *c) {
        return c->describe;
}

char *const *cgroups_groups(const Cgroups *c) {
        return c && c->mode != CGROUP_MODE_NONE ? c->groups : NULL;
}

const char *cgroups_path(const Cgroups *c) {
        return c && c->mode != CGROUP_MODE_NONE ? c->group : NULL;
}

/* Sends sig to every pid listed in dirfd's cgroup.procs (0: only counts them); how many. */
static int signal_listed(int dirfd, int sig) {
        int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        FILE *f = fdopen(fd, "re");
        if (!f) {
                close(fd);
                return 0;
        }
        int n = 0;
        long pid;
        while (fscanf(f, "%ld", &pid) == 1)
                if (pid > 0 && kill((pid_t) pid, sig) == 0)
                        n++;
        fclose(f);
        return n;
}

/* Calls fn(dirfd, sub, name) for each group directly below dirfd, sub open on it; the sum. */
static int for_each_subgroup(int dirfd, int (*fn)(int dirfd, int sub, const char *name, int arg), int arg) {
        int copy = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = copy >= 0 ? fdopendir(copy) : NULL;
        int n = 0;
        if (!d) {
                safe_close(copy);
                return 0;
        }
        rewinddir(d); /* the copy shares the offset an earlier pass left at the end */
        struct dirent *e;
        while ((e = readdir(d)))
                if (e->d_type == DT_DIR && e->d_name[0] != '.') {
                        int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (sub >= 0) {
                                n += fn(dirfd, sub, e->d_name, arg);
                                close(sub);
                        }
                }
        closedir(d);
        return n;
}

/* Sends sig to everything in dirfd and in every group below it, once; how many. */
static int signal_tree(int dirfd, int sig);
static int signal_sub(int dirfd, int sub, const char *name, int sig) {
        return signal_tree(sub, sig);
}
static int signal_tree(int dirfd, int sig) {
        return signal_listed(dirfd, sig) + for_each_subgroup(dirfd, signal_sub, sig);
}

/* Kills everything in dirfd and below: cgroup.kill, or rounds of SIGKILL to what is listed
 * (processes forked meanwhile show up in the next round). */
static void kill_tree(int dirfd, bool has_kill) {
        if (has_kill && write_at(dirfd, "cgroup.kill", "1") == 0)
                return;
        for (int round = 0; round < CGROUP_KILL_ROUNDS && signal_tree(dirfd, SIGKILL) > 0; round++)
                ;
}

static bool populated(int dirfd) {
        char buf[256];
        if (read_at(dirfd, "cgroup.events", buf, sizeof buf) < 0)
                return false;
        return keyed_value(buf, "populated") != 0;
}

/* Removes every group below dirfd (not dirfd itself) that is empty. */
static int remove_sub(int dirfd, int sub, const char *name, int arg) {
        (void) for_each_subgroup(sub, remove_sub, arg);
        (void) unlinkat(dirfd, name, AT_REMOVEDIR);
        return 0;
}
static void remove_below(int dirfd) {
        (void) for_each_subgroup(dirfd, remove_sub, 0);
}

/* Waits (bounded) until nothing is left in dirfd's group. */
static void wait_empty(int dirfd) {
        struct timespec step = { 0, 5 * 1000 * 1000 };
        for (int i = 0; i < CGROUP_EMPTY_WAIT_MS / 5 && populated(dirfd); i++)
                nanosleep(&step, NULL);
}

/* Removes the group at path (dirfd) and every group below it, once the processes killed there
 * have left: a group whose last process is still leaving is busy for a moment. */
static void remove_group(int dirfd, const char *path) {
        struct timespec step = { 0, 5 * 1000 * 1000 };
        wait_empty(dirfd);
        remove_below(dirfd);
        for (int i = 0; i < CGROUP_EMPTY_WAIT_MS / 5 && rmdir(path) < 0 && errno == EBUSY; i++) {
                nanosleep(&step, NULL);
                remove_below(dirfd);
        }
}

void cgroup_kill_and_remove(const char *group) {
        _cleanup_close_ int fd = open(group, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return;
        kill_tree(fd, faccessat(fd, "cgroup.kill", F_OK, 0) == 0);
        remove_group(fd, group);
}

int cgroups_kill_leftovers(Cgroups *c) {
        if (!c || c->mode == CGROUP_MODE_NONE || !c->leftovers)
                return 0;
        c->leftovers = false;
        if (!populated(c->group_fd)) {
                remove_below(c->group_fd);
                return 0;
        }
        /* How many, for the log line: counted before killing. */
        int n = signal_tree(c->group_fd, 0);
        kill_tree(c->group_fd, c->has_kill);
        wait_empty(c->group_fd);
        remove_below(c->group_fd);
        return n > 0 ? n : 1;
}

Cgroups *cgroups_free(Cgroups *c) {
        if (!c)
                return NULL;
        if (c->mode != CGROUP_MODE_NONE) {
                if (populated(c->group_fd))
                        kill_tree(c->group_fd, c->has_kill);
                remove_group(c->group_fd, c->group);
        }
        for (int i = 0; i < _CGROUP_CONTROLLER_MAX; i++) {
                V1 *v = &c->v1[i];
                if (v->group) {
                        remove_below(v->group_fd);
                        (void) rmdir(v->group);
                }
                safe_close(v->group_fd);
                free(v->group);
                free(v->dir);
        }
        safe_close(c->group_fd);
        free(c->base);
        free(c->group);
        return mfree(c);
}

static int move_out_of_base(Cgroups *c, int base_fd) {
        char leaf[sizeof c->name + 8], pid[32];
        snprintf(leaf, sizeof leaf, "%s.node", c->name);
        if (mkdirat(base_fd, leaf, 0755) < 0 && errno != EEXIST)
                return -errno;
        _cleanup_close_ int fd = openat(base_fd, leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (c->companion > 0) {
                snprintf(pid, sizeof pid, "%d", (int) c->companion);
                (void) write_at(fd, "cgroup.procs", pid);
        }
        return write_at(fd, "cgroup.procs", "0");
}

/* Enables ctl for the node's group's children: in the base's and the group's subtree_control.
 * The base may hold processes (ours): the no-internal-process rule then refuses (EBUSY) unless
 * the base is the root of the hierarchy. */
static int enable_v2(Cgroups *c, CgroupController ctl) {
        char word[32];
        snprintf(word, sizeof word, "+%s", controller_v2_name[ctl]);
        _cleanup_close_ int base_fd = open(c->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (base_fd < 0)
                return -errno;
        int r = write_at(base_fd, "cgroup.subtree_control", word);
        if (r == -EBUSY) {
                /* No internal processes: the base may delegate controllers only once it holds no
                 * process. Under systemd with Delegate=yes the processes are ours: the node (and
                 * its guard) move to a leaf of their own beside the node's group, as systemd's
                 * own DelegateSubgroup= would do, and the base is asked again. */
                r = move_out_of_base(c, base_fd);
                if (r >= 0)
                        r = write_at(base_fd, "cgroup.subtree_control", word);
        }
        if (r < 0)
                return r;
        return write_at(c->group_fd, "cgroup.subtree_control", word);
}

bool cgroups_controller_available(Cgroups *c, CgroupController ctl, const char **ret_why) {
        if (c->mode == CGROUP_MODE_NONE) {
                *ret_why = c->why;
                return false;
        }
        if (c->enabled[ctl])
                return true;
        if (c->v2_ctl[ctl]) {
                int r = enable_v2(c, ctl);
                if (r < 0) {
                        snprintf(c->why, sizeof c->why, "cannot enable the %s controller below %s: %s%s",
                                 controller_v2_name[ctl], c->base, strerror(-r),
                                 r == -EBUSY ? " (that cgroup has processes of its own: give the node a "
                                               "delegated cgroup to itself, e.g. Delegate=yes)" : "");
                        *ret_why = c->why;
                        return false;
                }
                c->enabled[ctl] = true;
                return true;
        }
        V1 *v = &c->v1[ctl];
        if (v->dir && !v->group) {
                /* Only daemons that use limits leave a trace in the v1 hierarchies. */
                int r = make_group(v->dir, c->name, &v->group, &v->group_fd, NULL);
                if (r < 0) {
                        v->group = NULL;
                        v->why = "its cgroup v1 hierarchy is not writable";
                } else {
                        size_t n = 0;
                        while (c->groups[n])
                                n++;
                        c->groups[n] = v->group;
                }
        }
        if (v->group) {
                /* A killed predecessor's leaves there are empty: its processes were in ours. */
                remove_below(v->group_fd);
                c->enabled[ctl] = true;
                return true;
        }
        snprintf(c->why, sizeof c->why, "the %s controller is unavailable: %s", controller_v2_name[ctl],
                 c->v1[ctl].why ? c->v1[ctl].why : "not in the cgroup v2 hierarchy");
        *ret_why = c->why;
        return false;
}

static int format_limit(uint64_t v, char *buf, size_t size, const char *infinity) {
        if (v == CGROUP_LIMIT_INFINITY)
                return snprintf(buf, size, "%s", infinity);
        return snprintf(buf, size, "%" PRIu64, v);
}

/* FILE of the leaf's v2 directory (v1: of its directory in ctl's hierarchy). */
static int leaf_file(const CgroupLeaf *l, int v1_ctl, const char *file, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/%s", v1_ctl >= 0 ? l->base : l->name, file);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static int leaf_write(const CgroupLeaf *l, int v1_ctl, const char *file, const char *value) {
        char path[sizeof l->name + 64];
        int r = leaf_file(l, v1_ctl, file, path, sizeof path);
        if (r < 0)
                return r;
        return write_at(v1_ctl >= 0 ? l->c->v1[v1_ctl].group_fd : l->c->group_fd, path, value);
}

static int leaf_read(const CgroupLeaf *l, int v1_ctl, const char *file, char *buf, size_t size) {
        char path[sizeof l->name + 64];
        int r = leaf_file(l, v1_ctl, file, path, sizeof path);
        if (r < 0)
                return r;
        return read_at(v1_ctl >= 0 ? l->c->v1[v1_ctl].group_fd : l->c->group_fd, path, buf, size);
}

/* user_usec and system_usec of the leaf's cpu.stat: the v2 core has it in every group, with or
 * without the cpu controller. */
static int leaf_cpu_stat(const CgroupLeaf *l, uint64_t ret[2]) {
        char buf[1024];
        int r = leaf_read(l, -1, "cpu.stat", buf, sizeof buf);
        if (r < 0)
                return r;
        ret[0] = keyed_value(buf, "user_usec");
        ret[1] = keyed_value(buf, "system_usec");
        return 0;
}

/* Writes one limit: value v (CGROUP_LIMIT_UNSET: back to the default) of controller ctl. */
static int set_limit(CgroupLeaf *l, CgroupController ctl, uint64_t v) {
        Cgroups *c = l->c;
        char buf[32];
        if (!c->enabled[ctl])
                return v == CGROUP_LIMIT_UNSET ? 0 : -EOPNOTSUPP;
        bool v2 = c->v2_ctl[ctl];
        if (!v2 && !l->v1[ctl])
                return -EOPNOTSUPP;
        int where = v2 ? -1 : (int) ctl;
        switch (ctl) {
        case CGROUP_MEMORY:
                if (v == CGROUP_LIMIT_UNSET)
                        v = CGROUP_LIMIT_INFINITY;
                format_limit(v, buf, sizeof buf, v2 ? "max" : "-1");
                return leaf_write(l, where, v2 ? "memory.max" : "memory.limit_in_bytes", buf);
        case CGROUP_PIDS:
                if (v == CGROUP_LIMIT_UNSET)
                        v = CGROUP_LIMIT_INFINITY;
                format_limit(v, buf, sizeof buf, "max");
                return leaf_write(l, where, "pids.max", buf);
        case CGROUP_CPU:
                if (v == CGROUP_LIMIT_UNSET)
                        v = 100;
                if (v2)
                        snprintf(buf, sizeof buf, "%" PRIu64, v);
                else /* v1 cpu.shares: 1024 is weight 100, as systemd converts */
                        snprintf(buf, sizeof buf, "%" PRIu64, v * 1024 / 100 < 2 ? 2 : v * 1024 / 100);
                return leaf_write(l, where, v2 ? "cpu.weight" : "cpu.shares", buf);
        default:
                return -EINVAL;
        }
}

int cgroup_leaf_set_limits(CgroupLeaf *l, const CgroupLimits *limits) {
        const uint64_t v[_CGROUP_CONTROLLER_MAX] = {
                [CGROUP_MEMORY] = limits ? limits->memory_max : 0,
                [CGROUP_PIDS] = limits ? limits->pids_max : 0,
                [CGROUP_CPU] = limits ? limits->cpu_weight : 0,
        };
        for (int i = 0; i < _CGROUP_CONTROLLER_MAX; i++) {
                int r = set_limit(l, (CgroupController) i, v[i]);
                if (r < 0)
                        return r;
        }
        l->memory = v[CGROUP_MEMORY] != CGROUP_LIMIT_UNSET;
        return 0;
}

static void leaf_name(const CgroupLeaf *l, unsigned gen, char *buf, size_t size) {
        if (gen == 0)
                snprintf(buf, size, "%s", l->base);
        else
                snprintf(buf, size, "%s~%u", l->base, gen);
}

/* Removes the directories of earlier incarnations that have emptied. */
static void leaf_remove_retired(CgroupLeaf *l) {
        while (l->gen_removed < l->gen) {
                char name[sizeof l->name];
                leaf_name(l, l->gen_removed, name, sizeof name);
                if (unlinkat(l->c->group_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                        return; /* still busy: its processes are dying */
                l->gen_removed++;
        }
}

/* Makes the v2 directory of generation l->gen. */
static int leaf_make_v2(CgroupLeaf *l) {
        leaf_name(l, l->gen, l->name, sizeof l->name);
        if (mkdirat(l->c->group_fd, l->name, 0755) < 0) {
                if (errno != EEXIST)
                        return -errno;
        } else
                l->fresh = true;
        l->killed = false;
        return 0;
}

int cgroup_leaf_new(Cgroups *c, const char *path, CgroupLeaf **ret) {
        CgroupLeaf *l = calloc(1, sizeof *l);
        int r;
        if (!l)
                return -ENOMEM;
        l->c = c;
        l->spawn_fd = -EBADF;
        cgroup_leaf_name(path, l->base, sizeof l->base);
        r = leaf_make_v2(l);
        if (r < 0) {
                free(l);
                return r;
        }
        *ret = l;
        return 0;
}

/* A directory whose cgroup.kill was written kills what clone3(CLONE_INTO_CGROUP) starts in it
 * afterwards on the kernels we run on (the kill sequence is compared with the parent's cgroup's),
 * so an incarnation after a kill gets a new directory, base~GEN, and the old one goes once
 * empty. Most workers leave nothing behind and are never killed this way. */
int cgroup_leaf_prepare(CgroupLeaf *l, const CgroupLimits *limits) {
        Cgroups *c = l->c;
        int r;

        cgroup_leaf_spawned(l);
        leaf_remove_retired(l);
        if (l->killed) {
                l->gen++;
                r = leaf_make_v2(l);
                if (r < 0)
                        return r;
                leaf_remove_retired(l);
        }
        /* Hybrid limits: the same name in each v1 hierarchy the limits need. */
        for (int i = 0; i < _CGROUP_CONTROLLER_MAX; i++) {
                V1 *v = &c->v1[i];
                if (l->v1[i] || c->v2_ctl[i] || !c->enabled[i] || !v->group)
                        continue;
                if (mkdirat(v->group_fd, l->base, 0755) < 0 && errno != EEXIST)
                        return -errno;
                l->v1[i] = true;
        }
        r = cgroup_leaf_set_limits(l, limits);
        if (r < 0)
                return r;
        /* What an earlier incarnation used in the same directory is not this one's. */
        if (l->fresh || leaf_cpu_stat(l, l->cpu_base) < 0)
                l->cpu_base[0] = l->cpu_base[1] = 0;
        l->fresh = false;

        l->spawn_fd = openat(c->group_fd, l->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (l->spawn_fd < 0)
                return -errno;
        for (int i = 0; i < _CGROUP_CONTROLLER_MAX; i++) {
                char path[sizeof l->base + 32];
                if (!l->v1[i])
                        continue;
                snprintf(path, sizeof path, "%s/cgroup.procs", l->base);
                int fd = openat(c->v1[i].group_fd, path, O_WRONLY | O_CLOEXEC);
                if (fd < 0) {
                        r = -errno;
                        cgroup_leaf_spawned(l);
                        return r;
                }
                l->spawn_procs[l->n_spawn_procs++] = fd;
        }
        return 0;
}

void cgroup_leaf_spawned(CgroupLeaf *l) {
        l->spawn_fd = safe_close(l->spawn_fd);
        for (size_t i = 0; i < l->n_spawn_procs; i++)
                safe_close(l->spawn_procs[i]);
        l->n_spawn_procs = 0;
}

int cgroup_leaf_fd(const CgroupLeaf *l) {
        return l->spawn_fd;
}

const int *cgroup_leaf_v1_procs(const CgroupLeaf *l, size_t *ret_n) {
        *ret_n = l->n_spawn_procs;
        return l->spawn_procs;
}

int cgroup_leaf_kill(CgroupLeaf *l) {
        if (!cgroup_leaf_populated(l))
                return 0;
        if (l->c->has_kill) {
                l->killed = true;
                if (leaf_write(l, -1, "cgroup.kill", "1") == 0)
                        return 0;
        }
        _cleanup_close_ int fd = openat(l->c->group_fd, l->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        kill_tree(fd, false);
        return 0;
}

uint64_t cgroup_leaf_oom_kills(const CgroupLeaf *l) {
        char buf[1024];
        Cgroups *c = l->c;
        if (!l->memory)
                return 0;
        if (c->v2_ctl[CGROUP_MEMORY])
                return leaf_read(l, -1, "memory.events", buf, sizeof buf) < 0 ? 0 : keyed_value(buf, "oom_kill");
        if (l->v1[CGROUP_MEMORY])
                return leaf_read(l, CGROUP_MEMORY, "memory.oom_control", buf, sizeof buf) < 0
                               ? 0 : keyed_value(buf, "oom_kill");
        return 0;
}

int cgroup_leaf_cpu_usec(const CgroupLeaf *l, uint64_t *ret_user, uint64_t *ret_system) {
        uint64_t now[2];
        int r = leaf_cpu_stat(l, now);
        if (r < 0)
                return r;
        *ret_user = now[0] > l->cpu_base[0] ? now[0] - l->cpu_base[0] : 0;
        *ret_system = now[1] > l->cpu_base[1] ? now[1] - l->cpu_base[1] : 0;
        return 0;
}

bool cgroup_leaf_populated(const CgroupLeaf *l) {
        char buf[128];
        if (leaf_read(l, -1, "cgroup.events", buf, sizeof buf) < 0)
                return errno != ENOENT; /* cannot tell: assume the worst, unless it is gone */
        return keyed_value(buf, "populated") != 0;
}

CgroupLeaf *cgroup_leaf_free(CgroupLeaf *l) {
        if (!l)
                return NULL;
        Cgroups *c = l->c;
        cgroup_leaf_spawned(l);
        (void) cgroup_leaf_kill(l);
        /* Busy while its last processes die: cgroups_free() removes it then. */
        l->gen++;
        leaf_remove_retired(l);
        for (int i = 0; i < _CGROUP_CONTROLLER_MAX; i++)
                if (l->v1[i])
                        (void) unlinkat(c->v1[i].group_fd, l->base, AT_REMOVEDIR);
        return mfree(l);
}
