/* SPDX-License-Identifier: MIT */
/* Process creation with clone(CLONE_VM|CLONE_VFORK), what glibc's posix_spawn does inside: the
 * child borrows our address space until execve, so the cost does not grow with the node's page
 * tables. The child runs only async-signal-safe code on its own stack, writes nothing but its
 * own error report, and ends in execve or _exit. */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"

#define SPAWN_STACK_SIZE (64 * 1024)
#define SPAWN_IOPRIO_WHO_PROCESS 1 /* linux/ioprio.h, which older headers lack */

#if defined(__SANITIZE_ADDRESS__)
#  define SPAWN_WITH_FORK 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define SPAWN_WITH_FORK 1
#  endif
#endif
#ifndef SPAWN_WITH_FORK
#  define SPAWN_WITH_FORK 0
#endif

/* clone3(2) and the arguments it takes (uapi linux/sched.h, spelled out here: glibc's headers
 * and the kernel's disagree on what else sched.h defines). */
#define SPAWN_CLONE_INTO_CGROUP 0x200000000ULL
typedef struct SpawnCloneArgs {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
                set_tid_size, cgroup;
} SpawnCloneArgs;

#if defined(__x86_64__) && !SPAWN_WITH_FORK
/* glibc has no clone3() wrapper to call: this is what its internal one does. The child starts on
 * the new stack with nothing to return to, so it calls fn(arg) and exits with its result. The
 * system call keeps rdx (fn) and r8 (arg, moved from rcx, which it clobbers). Returns the pid or
 * a negative errno. */
long spawn_clone3(SpawnCloneArgs *args, size_t size, int (*fn)(void *), void *arg);
__asm__(".text\n"
        ".globl spawn_clone3\n"
        ".hidden spawn_clone3\n"
        ".type spawn_clone3, @function\n"
        "spawn_clone3:\n"
        "        mov %rcx, %r8\n"
        "        mov $435, %eax\n"  /* __NR_clone3 */
        "        syscall\n"
        "        test %rax, %rax\n"
        "        jz 1f\n"
        "        ret\n"
        "1:      xor %ebp, %ebp\n"
        "        and $-16, %rsp\n"
        "        mov %r8, %rdi\n"
        "        call *%rdx\n"
        "        mov %rax, %rdi\n"
        "        mov $60, %eax\n"   /* __NR_exit */
        "        syscall\n"
        "        hlt\n"
        ".size spawn_clone3, .-spawn_clone3\n");
#  define SPAWN_HAVE_CLONE3 1
#else
#  define SPAWN_HAVE_CLONE3 0
#endif

/* The report a failed child leaves before _exit: which step, which errno. */
typedef struct SpawnReport {
        int stage;
        int err;
} SpawnReport;

typedef struct SpawnArgs {
        const SpawnRequest *req;
        bool in_cgroup;      /* clone3 put it in req->cgroup_fd already */
        pid_t parent;
        sigset_t old_mask;
        int err_fd;          /* fork only: write end of the close-on-exec report pipe */
        int plan[SPAWN_FD_COUNT + SPAWN_LISTEN_MAX]; /* what becomes fd 0..n_plan-1 */
        int n_plan;
        char *const *envp;   /* req->envp, or a copy with listen_pid in it */
        char listen_pid[32]; /* "LISTEN_PID=PID", written by the child */
        volatile SpawnReport report; /* CLONE_VM: written by the child in our own memory */
} SpawnArgs;

static _noreturn_ void child_fail(SpawnArgs *a, SpawnStage stage, int err) {
        SpawnReport rep = { stage, err };
        /* Under CLONE_VM|CLONE_VFORK we are suspended until the child's _exit, so the report
         * can simply be left in our memory, as glibc's posix_spawn does: no pipe, no extra
         * wake-up on the restart path. After a real fork it goes through the pipe. */
        a->report.stage = rep.stage;
        a->report.err = rep.err;
        if (a->err_fd >= 0)
                (void) !write(a->err_fd, &rep, sizeof rep);
        _exit(err == ENOENT ? 127 : 126);
}

/* Puts the plan on 0..n_plan-1. A source may itself sit on a low number another target needs, so
 * every source below n_plan that is not already in place is first moved above them. */
static int child_setup_fds(SpawnArgs *a) {
        int src[SPAWN_FD_COUNT + SPAWN_LISTEN_MAX];
        for (int i = 0; i < a->n_plan; i++) {
                src[i] = a->plan[i];
                if (src[i] >= 0 && src[i] < a->n_plan && src[i] != i) {
                        int fd = fcntl(src[i], F_DUPFD_CLOEXEC, a->n_plan);
                        if (fd < 0)
                                return -errno;
                        src[i] = fd;
                }
        }
        /* The report pipe must not be overwritten either. */
        for (int i = 0; i < a->n_plan; i++) {
                if (src[i] < 0) {
                        close(i);
                        continue;
                }
                if (src[i] == i) {
                        /* dup2(i, i) would keep FD_CLOEXEC: clear it by hand. */
                        if (fcntl(i, F_SETFD, 0) < 0)
                                return -errno;
                } else if (dup2(src[i], i) < 0)
                        return -errno;
        }
        return 0;
}

/* oom_score_adj written by hand: the child may call nothing that is not async-signal-safe, so
 * no printf. */
static void child_write_oom_score_adj(SpawnArgs *a, int v) {
        char buf[8], *p = buf + sizeof buf;
        unsigned u = v < 0 ? (unsigned) -v : (unsigned) v;

        do
                *--p = (char) ('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
                *--p = '-';
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, p, (size_t) (buf + sizeof buf - p)) < 0)
                child_fail(a, SPAWN_STAGE_OOM_SCORE_ADJ, errno);
        close(fd);
}

/* Our pid into digits (SPAWN_PID_DIGITS' room), by hand for the same reason. Under CLONE_VM the
 * string is the node's own, which is suspended until we exec: it is simply written again by
 * the next child. */
static void child_write_pid(char *digits) {
        char buf[sizeof SPAWN_PID_DIGITS], *p = buf + sizeof buf;
        unsigned long u = (unsigned long) syscall(SYS_getpid);

        *--p = '\0';
        do
                *--p = (char) ('0' + u % 10);
        while ((u /= 10) > 0 && p > buf);
        memcpy(digits, p, (size_t) (buf + sizeof buf - p));
}

static int child_main(void *arg) {
        SpawnArgs *a = arg;
        const SpawnRequest *r = a->req;
        int err_fd = a->err_fd;

        /* Into its cgroups before anything of its own runs, so whatever it forks is tracked. */
        if (r->cgroup_fd >= 0 && !a->in_cgroup) {
                int procs = openat(r->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                if (procs < 0 || write(procs, "0", 1) != 1)
                        child_fail(a, SPAWN_STAGE_CGROUP, errno);
                close(procs);
        }
        for (size_t i = 0; i < r->n_cgroup_procs; i++)
                if (write(r->cgroup_procs[i], "0", 1) != 1)
                        child_fail(a, SPAWN_STAGE_CGROUP, errno);

        /* Every disposition back to default, ignored ones included (an ignored signal stays
         * ignored across exec). The raw system call, because glibc's sigaction refuses the two
         * signals it reserves (32, 33), which a parent such as make may leave ignored. An
         * all-zero kernel sigaction is SIG_DFL with no flags and an empty mask, whatever the
         * architecture's field order. */
        const unsigned long dfl[4] = { 0 };
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t) (_NSIG / 8));

        if (setsid() < 0)
                child_fail(a, SPAWN_STAGE_FDS, errno);

        /* Keep the report pipe (fork only) out of the way of the plan's fds. */
        if (err_fd >= 0 && err_fd < a->n_plan) {
                int fd = fcntl(err_fd, F_DUPFD_CLOEXEC, a->n_plan + 1);
                if (fd < 0)
                        _exit(126);
                a->err_fd = fd;
        }
        int r_fds = child_setup_fds(a);
        if (r_fds < 0)
                child_fail(a, SPAWN_STAGE_FDS, -r_fds);
        /* Nothing else of the node may leak: every fd past the plan's except the report pipe,
         * which is close-on-exec anyway. */
        if (a->err_fd < 0)
                (void) syscall(SYS_close_range, a->n_plan, ~0U, 0);
        else {
                if (a->err_fd > a->n_plan)
                        (void) syscall(SYS_close_range, a->n_plan, a->err_fd - 1, 0);
                (void) syscall(SYS_close_range, a->err_fd + 1, ~0U, 0);
        }

        /* RLIMIT_NPROC as fork(2) has it: a worker does not start while its user already has
         * limit_nproc processes. The kernel checks it at fork, not at a uid change (that only
         * fails the execve, and only once the user is over the limit by more than this process
         * itself), so once we are the user a probe is forked, under a limit one higher for the
         * moment: counting us and the probe, it fails exactly when the user had limit_nproc
         * processes before us. */
        ssize_t nproc = -1;
        for (size_t i = 0; i < r->n_limits; i++) {
                struct rlimit l = r->limit[i];
                if (!r->limit_set[i])
                        continue;
                if (r->limit_resource[i] == RLIMIT_NPROC && r->set_uid && l.rlim_cur < RLIM_INFINITY - 1) {
                        nproc = (ssize_t) i;
                        l.rlim_cur++;
                        if (l.rlim_max < l.rlim_cur)
                                l.rlim_max = l.rlim_cur;
                }
                if (setrlimit(r->limit_resource[i], &l) < 0)
                        child_fail(a, SPAWN_STAGE_RLIMIT, errno);
        }
        if (r->umask >= 0)
                umask((mode_t) r->umask);
        if (r->nice_set && setpriority(PRIO_PROCESS, 0, r->nice) < 0)
                child_fail(a, SPAWN_STAGE_NICE, errno);
        /* Before the uid change: /proc/self is root's after it (the process is no longer
         * dumpable), and lowering oom_score_adj needs the node's CAP_SYS_RESOURCE anyway. */
        if (r->oom_score_adj_set)
                child_write_oom_score_adj(a, r->oom_score_adj);
        if (r->ioprio != 0 && syscall(SYS_ioprio_set, SPAWN_IOPRIO_WHO_PROCESS, 0, r->ioprio) < 0)
                child_fail(a, SPAWN_STAGE_IOPRIO, errno);
        if (r->cpu_affinity && syscall(SYS_sched_setaffinity, 0, r->cpu_affinity_size, r->cpu_affinity) < 0)
                child_fail(a, SPAWN_STAGE_CPU_AFFINITY, errno);
        if (r->directory && chdir(r->directory) < 0)
                child_fail(a, SPAWN_STAGE_CHDIR, errno);

        /* Groups before the gid before the uid: after setuid we could no longer change them.
         * Raw syscalls: glibc's set*id wrappers synchronise all threads of the process, and in a
         * CLONE_VM child that bookkeeping belongs to the parent. */
        if (r->set_groups && syscall(SYS_setgroups, r->n_groups, r->groups) < 0)
                child_fail(a, SPAWN_STAGE_GROUPS, errno);
        if (r->set_gid && syscall(SYS_setresgid, r->gid, r->gid, r->gid) < 0)
                child_fail(a, SPAWN_STAGE_GID, errno);
        if (r->set_uid && syscall(SYS_setresuid, r->uid, r->uid, r->uid) < 0)
                child_fail(a, SPAWN_STAGE_UID, errno);
        if (nproc >= 0) {
                /* vfork: the probe only exits, sharing our memory and stack meanwhile. */
                pid_t probe = vfork();
                if (probe == 0)
                        _exit(0);
                if (probe < 0)
                        child_fail(a, SPAWN_STAGE_NPROC, errno);
                while (waitpid(probe, NULL, 0) < 0 && errno == EINTR)
                        ;
                if (setrlimit(RLIMIT_NPROC, &r->limit[nproc]) < 0)
                        child_fail(a, SPAWN_STAGE_RLIMIT, errno);
        }

        /* After the uid change, which clears it. If the node died before this point the
         * signal would never come: check that we still have our parent. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                child_fail(a, SPAWN_STAGE_PDEATHSIG, errno);
        if (getppid() != a->parent)
                _exit(126);

        if (r->pid_digits)
                child_write_pid(r->pid_digits);

        sigset_t empty;
        sigemptyset(&empty);
        sigprocmask(SIG_SETMASK, &empty, NULL);

        /* sd_listen_fds(3) takes the sockets only when LISTEN_PID is this process: the pid is
         * known here, written by hand (no printf in the child). */
        if (r->listen_pid) {
                char digits[16], *p = digits + sizeof digits;
                unsigned long pid = (unsigned long) syscall(SYS_getpid);
                *--p = '\0';
                do
                        *--p = (char) ('0' + pid % 10);
                while ((pid /= 10) > 0);
                memcpy(a->listen_pid, "LISTEN_PID=", 11);
                memcpy(a->listen_pid + 11, p, (size_t) (digits + sizeof digits - p));
        }

        execve(r->argv[0], r->argv, a->envp);
        child_fail(a, SPAWN_STAGE_EXEC, errno);
}

/* The child, started in req->cgroup_fd when there is one; its pid, or -1 with *ret_err. */
static pid_t start_child(SpawnArgs *a, void *stack, int *ret_err) {
        pid_t pid;
#if SPAWN_WITH_FORK
        /* Sanitizer runtimes intercept libc calls with state of their own that a CLONE_VM child
         * must not touch; sanitizer builds take the slower, fully separate fork (the child then
         * moves itself into its cgroup first thing). */
        pid = fork();
        if (pid == 0)
                child_main(a);
#else
#  if SPAWN_HAVE_CLONE3
        static bool no_clone3 = false; /* a kernel older than 5.7: the child moves itself */
        if (a->req->cgroup_fd >= 0 && !no_clone3) {
                SpawnCloneArgs ca = {
                        .flags = CLONE_VM | CLONE_VFORK | SPAWN_CLONE_INTO_CGROUP,
                        .exit_signal = SIGCHLD,
                        .stack = (uint64_t) (uintptr_t) stack,
                        .stack_size = SPAWN_STACK_SIZE,
                        .cgroup = (uint64_t) a->req->cgroup_fd,
                };
                a->in_cgroup = true;
                long rc = spawn_clone3(&ca, sizeof ca, child_main, a);
                if (rc >= 0)
                        return (pid_t) rc;
                if (rc != -ENOSYS && rc != -E2BIG) {
                        *ret_err = (int) -rc;
                        return -1;
                }
                no_clone3 = true;
                a->in_cgroup = false;
        }
#  endif
        pid = clone(child_main, (char *) stack + SPAWN_STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
#endif
        *ret_err = errno;
        return pid;
}

int spawn_process(const SpawnRequest *req, pid_t *ret_pid, SpawnStage *ret_stage) {
        static void *stack = NULL;
        SpawnArgs a = { .req = req, .parent = getpid(), .err_fd = -EBADF, .envp = req->envp };
        _cleanup_free_ char **envp = NULL;
        int pipefd[2] = { -EBADF, -EBADF };
        sigset_t all;

        assert(req && req->argv && req->argv[0] && ret_pid && ret_stage);
        assert(req->n_listen_fds <= SPAWN_LISTEN_MAX);
        *ret_stage = SPAWN_STAGE_CLONE;

        /* The fd plan: 0..2, the listening sockets from 3, then the mailbox, the registry and
         * the notify socket. */
        for (int i = 0; i < 3; i++)
                a.plan[a.n_plan++] = req->fds[i];
        for (size_t i = 0; i < req->n_listen_fds; i++)
                a.plan[a.n_plan++] = req->listen_fds ? req->listen_fds[i] : -1;
        for (int i = 3; i < SPAWN_FD_COUNT; i++)
                a.plan[a.n_plan++] = req->fds[i];
        if (req->listen_pid) {
                /* The environment with a slot for LISTEN_PID, which only the child can fill. */
                size_t n = 0, len = 0;
                while (req->envp && req->envp[len])
                        len++;
                envp = calloc(len + 2, sizeof *envp);
                if (!envp)
                        return -ENOMEM;
                for (size_t i = 0; i < len; i++)
                        if (strncmp(req->envp[i], "LISTEN_PID=", 11) != 0)
                                envp[n++] = req->envp[i];
                envp[n] = a.listen_pid;
                memcpy(a.listen_pid, "LISTEN_PID=", 12);
                a.envp = envp;
        }

        if (!stack) {
                /* One stack, reused: the parent is suspended while the child uses it. */
                stack = mmap(NULL, SPAWN_STACK_SIZE, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
                if (stack == MAP_FAILED) {
                        stack = NULL;
                        return -errno;
                }
        }
        if (SPAWN_WITH_FORK) {
                if (pipe2(pipefd, O_CLOEXEC) < 0)
                        return -errno;
                a.err_fd = pipefd[1];
        }

        /* No handler of ours may run in the child before it has reset everything. */
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &a.old_mask);

        int saved = 0;
        pid_t pid = start_child(&a, stack, &saved);
        sigprocmask(SIG_SETMASK, &a.old_mask, NULL);
        safe_close(pipefd[1]);
        if (pid < 0) {
                safe_close(pipefd[0]);
                if (a.in_cgroup)
                        *ret_stage = SPAWN_STAGE_CGROUP;
                return -saved;
        }

        /* With CLONE_VFORK we resume after execve or _exit, so the report is already in
         * a.report or never will be. After fork, EOF on the pipe means exec succeeded. */
        SpawnReport rep = { a.report.stage, a.report.err };
        if (SPAWN_WITH_FORK) {
                ssize_t n;
                do
                        n = read(pipefd[0], &rep, sizeof rep);
                while (n < 0 && errno == EINTR);
                if (n != (ssize_t) sizeof rep)
                        rep.err = 0;
        }
        safe_close(pipefd[0]);
        if (rep.err != 0) {
                int status;
                /* The child has exited already or is about to: reap it here, so the reaper never
                 * sees a pid the tree does not know. */
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
                *ret_stage = rep.stage;
                return -(rep.err > 0 ? rep.err : EIO);
        }
        *ret_stage = SPAWN_STAGE_NONE;
        *ret_pid = pid;
        return 0;
}

const char *spawn_stage_to_string(SpawnStage s) {
        static const char *const table[_SPAWN_STAGE_MAX] = {
                [SPAWN_STAGE_NONE] = "none",
                [SPAWN_STAGE_CLONE] = "clone",
                [SPAWN_STAGE_CGROUP] = "move into its cgroup",
                [SPAWN_STAGE_FDS] = "set up file descriptors",
                [SPAWN_STAGE_RLIMIT] = "set resource limits",
                [SPAWN_STAGE_NICE] = "set nice level",
                [SPAWN_STAGE_OOM_SCORE_ADJ] = "set oom_score_adj",
                [SPAWN_STAGE_IOPRIO] = "set I/O priority",
                [SPAWN_STAGE_CPU_AFFINITY] = "set CPU affinity",
                [SPAWN_STAGE_CHDIR] = "change directory",
                [SPAWN_STAGE_GROUPS] = "set supplementary groups",
                [SPAWN_STAGE_GID] = "set group",
                [SPAWN_STAGE_UID] = "set user",
                [SPAWN_STAGE_NPROC] = "start within limit_nproc (its user has that many processes already)",
                [SPAWN_STAGE_PDEATHSIG] = "set parent-death signal",
                [SPAWN_STAGE_EXEC] = "execute",
        };
        return s >= 0 && s < _SPAWN_STAGE_MAX ? table[s] : "spawn";
}

char *spawn_find_program(const char *name) {
        if (strchr(name, '/'))
                return strdup(name);
        const char *path = getenv("PATH");
        if (!path || !*path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        size_t len = strlen(name);
        for (const char *p = path; *p;) {
                const char *e = strchrnul(p, ':');
                size_t dl = (size_t) (e - p);
                char buf[PATH_MAX];
                if (dl > 0 && dl + 1 + len < sizeof buf) {
                        memcpy(buf, p, dl);
                        buf[dl] = '/';
                        memcpy(buf + dl + 1, name, len + 1);
                        if (access(buf, X_OK) == 0)
                                return strdup(buf);
                }
                p = *e ? e + 1 : e;
        }
        return strdup(name); /* execve will say ENOENT, with the name the user wrote */
}
