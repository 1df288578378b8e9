/* SPDX-License-Identifier: MIT */
#include "guard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "macro.h"

#define GUARD_SESSIONS_MAX 65536
#define GUARD_KILL_ROUNDS 3
#define GUARD_FD 3

/* One message of the node's: fixed size, so a pipe write of one is atomic. */
typedef struct GuardMessage {
        char op;      /* '+' watch, '-' forget, 'q' leave quietly */
        char pad[3];
        int32_t sid;
} GuardMessage;

struct Guard {
        pid_t pid;
        int fd;              /* the write end, non-blocking */
        unsigned dropped;
};

int guard_kill_sessions(const pid_t *sids, size_t n) {
        int killed = 0;
        pid_t self = getpid();
        for (int round = 0; round < GUARD_KILL_ROUNDS; round++) {
                DIR *d = opendir("/proc");
                int k = 0;
                if (!d)
                        break;
                struct dirent *e;
                while ((e = readdir(d))) {
                        char *end;
                        long pid = strtol(e->d_name, &end, 10);
                        if (*end || pid <= 0 || pid == self)
                                continue;
                        pid_t s = getsid((pid_t) pid);
                        for (size_t i = 0; s > 0 && i < n; i++)
                                if (sids[i] == s) {
                                        if (kill((pid_t) pid, SIGKILL) == 0)
                                                k++;
                                        break;
                                }
                }
                closedir(d);
                killed += k;
                if (k == 0)
                        break;
        }
        return killed;
}

/* The guard's loop: reads the node's messages until 'q' (leave) or EOF (the node is gone:
 * kill). */
static _noreturn_ void guard_main(int fd, char *const *groups) {
        pid_t *sids = NULL;
        size_t n = 0;
        bool cgroup = groups && groups[0];

        if (!cgroup)
                sids = malloc(GUARD_SESSIONS_MAX * sizeof *sids);

        for (;;) {
                GuardMessage msg[256];
                ssize_t got = read(fd, msg, sizeof msg);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        break; /* EOF: the node is gone */
                for (size_t i = 0; i < (size_t) got / sizeof *msg; i++)
                        switch (msg[i].op) {
                        case 'q':
                                _exit(0);
                        case '+':
                                if (sids && n < GUARD_SESSIONS_MAX)
                                        sids[n++] = msg[i].sid;
                                break;
                        case '-':
                                for (size_t j = 0; j < n; j++)
                                        if (sids[j] == msg[i].sid) {
                                                sids[j] = sids[--n];
                                                break;
                                        }
                                break;
                        default:
                                break;
                        }
        }
        if (cgroup)
                for (char *const *g = groups; *g; g++)
                        cgroup_kill_and_remove(*g);
        else
                (void) guard_kill_sessions(sids, n);
        _exit(0);
}

/* In the forked child: a process of its own that keeps nothing of the node but the pipe, on fd
 * 3. It ignores the signals a terminal or a process-group kill sends, so ^C on the node's
 * terminal ends the node (orderly) and not its guard; and it execs the node's program again
 * under another name, so that `pkill -f "forkvisor run"` does not take the guard with the node
 * (and the guard holds none of the node's memory). Where that exec fails, it goes on as is. */
static _noreturn_ void guard_child(int fd, char *const *groups) {
        (void) setsid();
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_IGN);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (chdir("/") < 0)
                (void) 0;
        if (fd != GUARD_FD) {
                if (dup2(fd, GUARD_FD) < 0)
                        _exit(1);
                fd = GUARD_FD;
        }
        int null = open("/dev/null", O_RDWR);
        for (int i = 0; i < 3; i++)
                if (null >= 0 && null != i)
                        (void) dup2(null, i);
        (void) syscall(SYS_close_range, fd + 1, ~0U, 0);
        /* argv: our name, then the groups, or "-" for none. A fork of a single-threaded process
         * may allocate. */
        size_t n = 0;
        while (groups && groups[n])
                n++;
        char **argv = calloc(n + 3, sizeof *argv);
        if (argv) {
                argv[0] = (char *) GUARD_ARGV0;
                for (size_t i = 0; i < n; i++)
                        argv[i + 1] = groups[i];
                if (n == 0)
                        argv[1] = (char *) "-";
                char *envp[] = { NULL };
                execve("/proc/self/exe", argv, envp);
        }
        (void) prctl(PR_SET_NAME, GUARD_ARGV0);
        guard_main(fd, groups);
}

int guard_exec_main(int argc, char **argv) {
        if (argc < 2 || fcntl(GUARD_FD, F_GETFD) < 0)
                return 2;
        (void) prctl(PR_SET_NAME, GUARD_ARGV0); /* not "exe", after /proc/self/exe */
        guard_main(GUARD_FD, strcmp(argv[1], "-") == 0 ? NULL : argv + 1);
}

int guard_start(char *const *groups, Guard **ret) {
        int p[2];
        Guard *g = calloc(1, sizeof *g);
        if (!g)
                return -ENOMEM;
        if (pipe2(p, O_CLOEXEC) < 0) {
                int r = -errno;
                free(g);
                return r;
        }
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                free(g);
                return r;
        }
        if (pid == 0) {
                close(p[1]);
                guard_child(p[0], groups);
        }
        close(p[0]);
        (void) fcntl(p[1], F_SETFL, O_NONBLOCK);
        g->pid = pid;
        g->fd = p[1];
        *ret = g;
        return 0;
}

pid_t guard_pid(const Guard *g) {
        return g ? g->pid : 0;
}

static void guard_send(Guard *g, char op, pid_t sid) {
        GuardMessage msg = { .op = op, .sid = sid };
        if (!g || g->fd < 0)
                return;
        if (write(g->fd, &msg, sizeof msg) != (ssize_t) sizeof msg)
                g->dropped++;
}

void guard_watch_session(Guard *g, pid_t sid) {
        guard_send(g, '+', sid);
}

void guard_forget_session(Guard *g, pid_t sid) {
        guard_send(g, '-', sid);
}

void guard_lost(Guard *g) {
        if (!g)
                return;
        g->pid = 0;
        g->fd = safe_close(g->fd);
}

Guard *guard_stop(Guard *g) {
        if (!g)
                return NULL;
        guard_send(g, 'q', 0);
        g->fd = safe_close(g->fd);
        if (g->pid > 0)
                while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        return mfree(g);
}
