/* SPDX-License-Identifier: MIT */
/* A child of the node, across its incarnations: its argv and environment prepared once (one
 * owner per fd at spawn), its output pipe, its cgroup, its one timer (restart delay, shutdown
 * timeout), and what it said with sd_notify. The TreeOps that make, signal and time processes
 * (spawn.c does the clone/exec), and the RouterOps that answer for its mailbox. */
#include "manager-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "envfile.h"
#include "guard.h"
#include "listen-addr.h"
#include "listen.h"
#include "log.h"
#include "macro.h"
#include "notify.h"
#include "output.h"
#include "priority.h"
#include "proc-stat.h"
#include "spawn.h"
#include "strv.h"

static const int limit_resource[_SPEC_LIMIT_MAX] = {
        [SPEC_LIMIT_NOFILE] = RLIMIT_NOFILE,
        [SPEC_LIMIT_CORE] = RLIMIT_CORE,
        [SPEC_LIMIT_AS] = RLIMIT_AS,
        [SPEC_LIMIT_NPROC] = RLIMIT_NPROC,
};

/* ---- per-node preparation --------------------------------------------------------------- */

static Child *child_of(Manager *m, Node *n) {
        if (!n->userdata) {
                Child *rt = calloc(1, sizeof *rt);
                if (!rt)
                        return NULL;
                rt->manager = m;
                rt->node = n;
                n->userdata = rt;
        }
        return n->userdata;
}

static bool env_key_matches(const char *entry, const char *kv) {
        size_t kl = strcspn(kv, "=");
        return strncmp(entry, kv, kl) == 0 && entry[kl] == '=';
}

/* A child of another user cannot reach the notify socket in our 0700 directory: it gets an
 * O_PATH descriptor of it instead (notify.c), on fd 5, or past its listening sockets. */
_Static_assert(SPAWN_LISTEN_MAX == LISTEN_MAX, "spawn.h and listen-addr.h agree");
static bool notify_by_fd(const Spec *s) {
        return s->user && s->uid != geteuid();
}

/* A child's environment is an array of pointers: the daemon's own strings and the
 * configuration's are shared by every child, only FORKVISOR_* and NOTIFY_SOCKET are its own
 * (in rt->env_own). A thousand children thus cost a thousand pointer arrays, not a thousand
 * copies of the environment. env has room for every entry set here. */
static void env_put(char **env, size_t *len, char *kv) {
        for (size_t i = 0; i < *len; i++)
                if (env_key_matches(env[i], kv)) {
                        env[i] = kv;
                        return;
                }
        env[(*len)++] = kv;
        env[*len] = NULL;
}

static int env_put_own(Child *rt, char **env, size_t *len, const char *key, const char *value) {
        char *kv;
        if (asprintf(&kv, "%s=%s", key, value) < 0)
                return -ENOMEM;
        if (strv_consume(&rt->env_own, kv) < 0)
                return -ENOMEM;
        env_put(env, len, kv);
        return 0;
}

static void unprepare(Child *rt) {
        rt->argv = strv_free(rt->argv);
        rt->envp = mfree(rt->envp);
        rt->env_own = strv_free(rt->env_own);
        rt->watchdog_pid = NULL;
        rt->cmdline = mfree(rt->cmdline);
}

int child_prepare(Manager *m, Node *n, Child *rt) {
        const Spec *s = n->spec;
        int r;

        /* A reload gave the node another spec: envp borrows the old one's strings. */
        if (rt->prepared != s) {
                unprepare(rt);
                rt->prepared = s;
        }
        if (!rt->argv) {
                char **argv = NULL;
                r = spec_expand_argv(s, n->name, n->instance, &argv);
                if (r < 0)
                        return r;
                if (n->extra_args && strv_extend_strv(&argv, n->extra_args) < 0) {
                        strv_free(argv);
                        return -ENOMEM;
                }
                /* Programs named without a '/' are looked up in PATH once, here. */
                char *prog = spawn_find_program(argv[0]);
                if (!prog) {
                        strv_free(argv);
                        return -ENOMEM;
                }
                free(argv[0]);
                argv[0] = prog;
                rt->argv = argv;

                size_t len = 0;
                for (size_t i = 0; argv[i]; i++)
                        len += strlen(argv[i]) + 1;
                rt->cmdline = malloc(len + 1);
                if (rt->cmdline) {
                        char *p = rt->cmdline;
                        for (size_t i = 0; argv[i]; i++)
                                p = stpcpy(stpcpy(p, i ? " " : ""), argv[i]);
                }
        }

        if (!rt->envp) {
                size_t len = 0, cap = strv_length(m->base_env) + strv_length(rt->file_env) +
                                      strv_length(s->environment) + 12;
                /* ours (FORKVISOR_PATH, _NAME, _INSTANCE, _CONTROL, _MAILBOX, _REGISTRY,
                 * NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID, LISTEN_FDS, LISTEN_FDNAMES), NULL */
                /* Socket activation: the sockets on 3.., what was on 3..5 past them. */
                size_t nl = strv_length(s->listen);
                char fd_mailbox[16], fd_registry[16], fd_notify[32], num[16];
                snprintf(fd_mailbox, sizeof fd_mailbox, "%zu", 3 + nl);
                snprintf(fd_registry, sizeof fd_registry, "%zu", 4 + nl);
                snprintf(fd_notify, sizeof fd_notify, "/proc/self/fd/%zu", SPAWN_FD_NOTIFY + nl);
                char **env = calloc(cap, sizeof *env);
                if (!env)
                        return -ENOMEM;
                STRV_FOREACH(kv, m->base_env)
                        env_put(env, &len, *kv);
                /* systemd's order: the files first, then what the section sets itself. */
                STRV_FOREACH(kv, rt->file_env)
                        env_put(env, &len, *kv);
                STRV_FOREACH(kv, s->environment)
                        env_put(env, &len, *kv);
                r = env_put_own(rt, env, &len, "FORKVISOR_PATH", n->path);
                if (r >= 0 && n->reg_name)
                        r = env_put_own(rt, env, &len, "FORKVISOR_NAME", n->reg_name);
                if (r >= 0 && n->instance >= 0) {
                        snprintf(num, sizeof num, "%d", n->instance);
                        r = env_put_own(rt, env, &len, "FORKVISOR_INSTANCE", num);
                }
                if (r >= 0)
                        r = env_put_own(rt, env, &len, "FORKVISOR_CONTROL", m->control_path);
                if (r >= 0)
                        r = env_put_own(rt, env, &len, "FORKVISOR_MAILBOX", fd_mailbox);
                if (r >= 0)
                        r = env_put_own(rt, env, &len, "FORKVISOR_REGISTRY", fd_registry);
                if (r >= 0 && s->ready == READY_NOTIFY && m->notify)
                        r = env_put_own(rt, env, &len, "NOTIFY_SOCKET",
                                        notify_by_fd(s) ? fd_notify : notify_server_path(m->notify));
                /* systemd's: the timeout, and the pid it is meant for (a process it forks is not
                 * asked for keep-alives), which spawn.c writes into the child's copy. */
                rt->watchdog_pid = NULL;
                if (r >= 0 && s->watchdog_ms > 0) {
                        char usec[24];
                        snprintf(usec, sizeof usec, "%llu", (unsigned long long) msec_to_usec(s->watchdog_ms));
                        r = env_put_own(rt, env, &len, "WATCHDOG_USEC", usec);
                        if (r >= 0)
                                r = env_put_own(rt, env, &len, "WATCHDOG_PID", SPAWN_PID_DIGITS);
                        if (r >= 0)
                                rt->watchdog_pid = strchr(env[len - 1], '=') + 1;
                }
                if (r >= 0 && nl > 0) {
                        /* LISTEN_PID is the child's own: spawn.c sets it after the fork. */
                        _cleanup_free_ char *names = listen_fdnames(s->listen_names, nl);
                        snprintf(num, sizeof num, "%zu", nl);
                        r = names ? env_put_own(rt, env, &len, "LISTEN_FDS", num) : -ENOMEM;
                        if (r >= 0)
                                r = env_put_own(rt, env, &len, "LISTEN_FDNAMES", names);
                }
                if (r < 0) {
                        free(env);
                        return r;
                }
                rt->envp = env;
        }

        if (!rt->output && (s->stdout_mode == OUTPUT_LOG || s->stderr_mode == OUTPUT_LOG)) {
                r = output_pipe_new(m->event, n->path, &n->pid, &rt->output);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The descriptors one spawn needs, each with one owner. The ones opened for this spawn (a
 * `file:` output, the mailbox pair) are this struct's until it is done: closed at the end, except
 * the node's end of the mailbox, which the router takes. The others (the output pipe, /dev/null,
 * our own 1 and 2) are borrowed and never closed here. */
typedef struct SpawnFds {
        int out, err;              /* what the child gets as 1 and 2 (owned or borrowed) */
        int own_out, own_err;      /* opened for it, or -EBADF */
        int mailbox[2];            /* [0] the node's end, [1] the child's */
} SpawnFds;

#define SPAWN_FDS_INIT { .out = -EBADF, .err = -EBADF, .own_out = -EBADF, .own_err = -EBADF, \
                         .mailbox = { -EBADF, -EBADF } }

static void spawn_fds_close(SpawnFds *f) {
        f->own_out = safe_close(f->own_out);
        f->own_err = safe_close(f->own_err);
        f->mailbox[0] = safe_close(f->mailbox[0]);
        f->mailbox[1] = safe_close(f->mailbox[1]);
}

/* A `file:` output: a regular file (or one not made yet) is written by the node, through the
 * pipe in *slot, so that SIGUSR1 can reopen it and log_max_bytes rotate it; anything else (a
 * terminal, a FIFO, /dev/null) is opened for the child to write itself, as it always was. */
static int open_file_output(Manager *m, const Spec *s, const char *path, OutputPipe **slot, int *own) {
        struct stat st;
        OutputFile *f = NULL;
        int r;

        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
                *own = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, OUTPUT_FILE_MODE);
                return *own < 0 ? -errno : *own;
        }
        r = output_file_get(path, &f);
        if (r < 0)
                return r;
        output_file_set_rotation(f, s->log_max_bytes, s->log_backups);
        if (*slot)
                output_pipe_set_file(*slot, f);
        else if ((r = output_pipe_new_file(m->event, f, slot)) < 0) {
                output_file_unref(f);
                return r;
        }
        return output_pipe_fd(*slot);
}

/* What the child gets as fd inherit_fd for mode: borrowed, or opened into *own. */
static int open_output_fd(Manager *m, Child *rt, OutputMode mode, const char *path, int inherit_fd, int *own) {
        const Spec *s = rt->node->spec;

        switch (mode) {
        case OUTPUT_LOG:
                return output_pipe_fd(rt->output);
        case OUTPUT_INHERIT:
                return inherit_fd;
        case OUTPUT_NULL:
                return m->null_fd;
        case OUTPUT_FILE:
                return open_file_output(m, s, path, inherit_fd == STDERR_FILENO ? &rt->file_err : &rt->file_out, own);
        case _OUTPUT_MODE_MAX:
        case _OUTPUT_MODE_INVALID:
        default:
                return -EINVAL;
        }
}

static CgroupLimits spec_limits(const Spec *s) {
        return (CgroupLimits) { .memory_max = s->memory_max, .pids_max = s->pids_max, .cpu_weight = s->cpu_weight };
}

/* The worker's cgroup, made at its first start and kept for its restarts; its limits follow
 * its spec (a reload may change them). */
static int node_cgroup(Manager *m, Node *n, Child *rt) {
        CgroupLimits limits = spec_limits(n->spec);
        int r;
        if (!rt->cgroup) {
                r = cgroup_leaf_new(m->cgroups, n->path, &rt->cgroup);
                if (r < 0)
                        return r;
        }
        r = cgroup_leaf_prepare(rt->cgroup, &limits);
        if (r < 0)
                return r;
        rt->oom_kills = cgroup_leaf_oom_kills(rt->cgroup);
        return 0;
}

/* env_file is read at every spawn, as systemd reads EnvironmentFile= at every start: a changed
 * file applies at the next restart, without a reload. The files are small (ENVFILE_SIZE_MAX) and
 * regular, so reading them on the loop is bounded; one that cannot be read or does not parse
 * fails this start, n->reason naming the file and its line. */
static int read_env_files(Node *n, Child *rt) {
        _cleanup_strv_free_ char **env = NULL;
        const Spec *s = n->spec;

        if (!rt->file_env && strv_length(s->env_files) == 0)
                return 0;
        STRV_FOREACH(f, s->env_files) {
                const char *path = *f + (**f == '-');
                EnvFileError err = {};
                int r = envfile_load(*f, &env, &err);
                if (r == -ENOMEM || (r < 0 && err.line == 0)) {
                        snprintf(n->reason, sizeof n->reason, "cannot read env_file '%s': %s", path,
                                 r == -ENOMEM ? strerror(ENOMEM) : err.msg);
                        return r;
                }
                if (r < 0) {
                        snprintf(n->reason, sizeof n->reason, "env_file %s:%u: %s", path, err.line, err.msg);
                        return r;
                }
        }
        /* The environment is made again from what was read now. */
        rt->envp = mfree(rt->envp);
        rt->env_own = strv_free(rt->env_own);
        rt->watchdog_pid = NULL;
        strv_free(rt->file_env);
        rt->file_env = TAKE_PTR(env);
        return 0;
}

static bool listen_same(char *const *a, char *const *b) {
        size_t n = strv_length(a);
        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (strcmp(a[i], b[i]) != 0)
                        return false;
        return true;
}

static void listen_unwatch(Child *rt) {
        for (size_t i = 0; i < rt->n_listen_watch; i++)
                sd_event_source_disable_unref(rt->listen_watch[i]);
        rt->listen_watch = mfree(rt->listen_watch);
        rt->n_listen_watch = 0;
}

/* The sockets, before anything of the worker runs, its pre_start included; kept until it is
 * removed, or a reload gives it other addresses. */
static int listen_sockets(Node *n, Child *rt) {
        const Spec *s = n->spec;
        int r;

        if (rt->listen_addrs && (!listen_same(rt->listen_addrs, s->listen) || rt->listen_mode != s->listen_mode)) {
                listen_unwatch(rt);
                listen_set_close(&rt->listen);
                rt->listen_addrs = strv_free(rt->listen_addrs);
        }
        if (rt->listen_addrs || !s->listen)
                return 0;
        r = strv_extend_strv(&rt->listen_addrs, s->listen);
        if (r < 0)
                return r;
        r = listen_set_open(&rt->listen, s->listen, s->listen_mode, n->reason, sizeof n->reason);
        if (r < 0) {
                rt->listen_addrs = strv_free(rt->listen_addrs);
                return r;
        }
        rt->listen_mode = s->listen_mode;
        return 0;
}

/* Something waits on one of the sockets (a connection, a datagram), without taking it. */
static bool listen_pending(const Child *rt) {
        struct pollfd p[LISTEN_MAX];
        for (size_t i = 0; i < rt->listen.n; i++)
                p[i] = (struct pollfd) { .fd = rt->listen.fds[i], .events = POLLIN };
        return poll(p, rt->listen.n, 0) > 0;
}

static void listen_watch_enable(Child *rt, int on) {
        for (size_t i = 0; i < rt->n_listen_watch; i++)
                sd_event_source_set_enabled(rt->listen_watch[i], on);
}

static int on_listen_ready(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        Child *rt = userdata;
        /* Level-triggered: off at once, whatever comes of it; the next wait turns it on. */
        listen_watch_enable(rt, SD_EVENT_OFF);
        if (node_is_waiting(rt->node))
                tree_handle_activate(rt->manager->tree, rt->node);
        return 0;
}

/* listen_accept = lazy: the worker waits, the node polls its sockets for it. */
static int listen_wait(Manager *m, Child *rt) {
        if (!rt->listen_watch) {
                rt->listen_watch = calloc(rt->listen.n, sizeof *rt->listen_watch);
                if (!rt->listen_watch)
                        return -ENOMEM;
                for (size_t i = 0; i < rt->listen.n; i++) {
                        int r = sd_event_add_io(m->event, &rt->listen_watch[i], rt->listen.fds[i], EPOLLIN,
                                                on_listen_ready, rt);
                        if (r < 0) {
                                listen_unwatch(rt);
                                return r;
                        }
                        rt->n_listen_watch++;
                        sd_event_source_set_priority(rt->listen_watch[i], PRIORITY_SUPERVISE);
                }
        }
        listen_watch_enable(rt, SD_EVENT_ON);
        return 0;
}

/* One process of n: its own (hook NONE), or its pre_start or post_stop, which run as it does
 * (credentials, directory, environment, output, cgroup) but have no mailbox (fd 3 closed) and
 * never hold its names. Tracked by a Proc like any process of the node, so the one reaper finds
 * it and nothing of it outlives the node. */
static int spawn_one(Manager *m, Node *n, NodeHook hook, pid_t *ret_pid) {
        const Spec *s = n->spec;
        Child *rt = child_of(m, n);
        _cleanup_strv_free_ char **hook_argv = NULL;
        int r;

        if (!rt)
                return -ENOMEM;
        r = read_env_files(n, rt);
        if (r < 0)
                return r;
        r = child_prepare(m, n, rt);
        if (r < 0) {
                snprintf(n->reason, sizeof n->reason, "failed to prepare: %s", strerror(-r));
                return r;
        }
        char **argv = rt->argv;
        if (hook != NODE_HOOK_NONE) {
                char *const *words = hook == NODE_HOOK_PRE_START ? s->pre_start
                                     : hook == NODE_HOOK_HEALTH  ? s->health
                                                                 : s->post_stop;
                r = spec_expand_command(s, words, n->name, n->instance, &hook_argv);
                if (r < 0)
                        return r;
                char *prog = spawn_find_program(hook_argv[0]);
                if (!prog)
                        return -ENOMEM;
                free(hook_argv[0]);
                hook_argv[0] = prog;
                argv = hook_argv;
        }

        r = listen_sockets(n, rt);
        if (r < 0)
                return r;

        _cleanup_(spawn_fds_close) SpawnFds fds = SPAWN_FDS_INIT;
        fds.out = open_output_fd(m, rt, s->stdout_mode, s->stdout_path, STDOUT_FILENO, &fds.own_out);
        if (fds.out < 0) {
                snprintf(n->reason, sizeof n->reason, "failed to open '%s': %s", s->stdout_path, strerror(-fds.out));
                return fds.out;
        }
        if (s->stderr_mode == OUTPUT_FILE && rt->file_out && fds.out == output_pipe_fd(rt->file_out) &&
            strcmp(s->stdout_path, s->stderr_path) == 0)
                fds.err = fds.out; /* one pipe: the two reach the file in the order written */
        else
                fds.err = open_output_fd(m, rt, s->stderr_mode, s->stderr_path, STDERR_FILENO, &fds.own_err);
        if (fds.err < 0) {
                snprintf(n->reason, sizeof n->reason, "failed to open '%s': %s", s->stderr_path, strerror(-fds.err));
                return fds.err;
        }
        /* A pipe to a file this spec no longer names (a reload) is done with. */
        if (rt->file_out && fds.out != output_pipe_fd(rt->file_out) && fds.err != output_pipe_fd(rt->file_out))
                rt->file_out = output_pipe_free(rt->file_out);
        if (rt->file_err && fds.err != output_pipe_fd(rt->file_err))
                rt->file_err = output_pipe_free(rt->file_err);

        /* The mailbox of this incarnation: a successor never sees what was meant for it. */
        if (hook == NODE_HOOK_NONE && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds.mailbox) < 0) {
                r = -errno;
                snprintf(n->reason, sizeof n->reason, "failed to create its mailbox: %s", strerror(-r));
                return r;
        }

        int cgroup_fd = -EBADF;
        const int *cgroup_procs = NULL;
        size_t n_cgroup_procs = 0;
        if (cgroups_mode(m->cgroups) != CGROUP_MODE_NONE) {
                r = node_cgroup(m, n, rt);
                if (r < 0) {
                        snprintf(n->reason, sizeof n->reason, "failed to make its cgroup: %s", strerror(-r));
                        return r;
                }
                cgroup_fd = cgroup_leaf_fd(rt->cgroup);
                cgroup_procs = cgroup_leaf_v1_procs(rt->cgroup, &n_cgroup_procs);
        }

        bool limit_set[_SPEC_LIMIT_MAX];
        struct rlimit limit[_SPEC_LIMIT_MAX];
        memcpy(limit_set, s->limit_set, sizeof limit_set);
        memcpy(limit, s->limit, sizeof limit);
        if (!limit_set[SPEC_LIMIT_NOFILE] && m->nofile.rlim_max > 0) {
                limit_set[SPEC_LIMIT_NOFILE] = true;
                limit[SPEC_LIMIT_NOFILE] = m->nofile;
        }

        SpawnRequest req = {
                .argv = argv,
                .envp = rt->envp,
                .directory = s->directory,
                .fds = { s->stdin_inherit ? STDIN_FILENO : m->null_fd, fds.out, fds.err, fds.mailbox[1],
                         registry_reader_fd(m->registry),
                         hook == NODE_HOOK_NONE && s->ready == READY_NOTIFY && m->notify && notify_by_fd(s)
                                 ? notify_server_path_fd(m->notify)
                                 : -1 },
                /* Its pre_start and post_stop have the fds where it has them, but no sockets:
                 * without LISTEN_PID, sd_listen_fds() says there are none. */
                .listen_fds = hook == NODE_HOOK_NONE ? rt->listen.fds : NULL,
                .n_listen_fds = rt->listen.n,
                .listen_pid = hook == NODE_HOOK_NONE && rt->listen.n > 0,
                .umask = s->umask,
                .nice_set = s->nice_set,
                .nice = s->nice,
                .oom_score_adj_set = s->oom_score_adj_set,
                .oom_score_adj = s->oom_score_adj,
                .ioprio = s->ioprio,
                .cpu_affinity = s->cpu_affinity,
                .cpu_affinity_size = s->n_cpu_affinity * sizeof(uint64_t),
                .limit_set = limit_set,
                .limit = limit,
                .limit_resource = limit_resource,
                .n_limits = _SPEC_LIMIT_MAX,
                .set_groups = s->user != NULL,
                .groups = s->groups,
                .n_groups = s->n_groups,
                .set_gid = s->user || s->group,
                .gid = s->gid,
                .set_uid = s->user != NULL,
                .uid = s->uid,
                .cgroup_fd = cgroup_fd,
                .cgroup_procs = cgroup_procs,
                .n_cgroup_procs = n_cgroup_procs,
                .pid_digits = rt->watchdog_pid,
        };
        SpawnStage stage;
        pid_t pid;
        r = spawn_process(&req, &pid, &stage);
        if (rt->cgroup)
                cgroup_leaf_spawned(rt->cgroup);
        if (r < 0 && hook != NODE_HOOK_NONE)
                return r; /* the tree words it: a hook's failure is not the worker's reason */
        if (r < 0) {
                if (stage == SPAWN_STAGE_EXEC)
                        snprintf(n->reason, sizeof n->reason, "failed to execute '%s': %s", rt->argv[0], strerror(-r));
                else if (stage == SPAWN_STAGE_CHDIR)
                        snprintf(n->reason, sizeof n->reason, "failed to change directory to '%s': %s",
                                 s->directory, strerror(-r));
                else if (r == -EACCES && stage == SPAWN_STAGE_OOM_SCORE_ADJ)
                        snprintf(n->reason, sizeof n->reason, "failed to set oom_score_adj to %d: %s "
                                 "(lowering it needs CAP_SYS_RESOURCE)", s->oom_score_adj, strerror(-r));
                else if (r == -EPERM && stage == SPAWN_STAGE_IOPRIO)
                        snprintf(n->reason, sizeof n->reason, "failed to set I/O priority: %s "
                                 "(the realtime class needs CAP_SYS_NICE)", strerror(-r));
                else if (r == -EINVAL && stage == SPAWN_STAGE_CPU_AFFINITY)
                        snprintf(n->reason, sizeof n->reason, "failed to set CPU affinity: %s "
                                 "(none of its CPUs is online and allowed to the node)", strerror(-r));
                else
                        snprintf(n->reason, sizeof n->reason, "failed to %s: %s", spawn_stage_to_string(stage),
                                 strerror(-r));
                return r;
        }
        Proc *proc;
        r = proc_new(&m->procs, pid, n, &proc);
        if (r >= 0 && hook == NODE_HOOK_NONE) {
                Peer *peer;
                r = router_attach(m->router, proc, n->reg_name, s->subscribe, TAKE_FD(fds.mailbox[0]),
                                  s->mailbox_limit, n, &peer);
                if (r < 0)
                        proc_release(&m->procs, proc);
                else if (s->register_global && m->names) /* asked of the cluster: nobody waits */
                        cluster_names_take(m->names, s->register_global, pid, (uint32_t) proc->incarnation);
        }
        if (r < 0) {
                /* We could not track it, so it must not live. */
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                if (hook == NODE_HOOK_NONE)
                        snprintf(n->reason, sizeof n->reason, "%s", r == -EEXIST ? "its name is already registered"
                                                                                  : "out of memory");
                return r;
        }
        if (hook == NODE_HOOK_HEALTH)
                rt->health.proc = proc; /* beside the worker's own, which stays rt->proc */
        else
                rt->proc = proc;
        if (hook == NODE_HOOK_NONE)
                child_watchdog_start(rt); /* systemd arms it at the start, before readiness */
        if (!rt->cgroup)
                guard_watch_session(m->guard, pid); /* its session id: spawn.c made it a leader */
        *ret_pid = pid;
        return 0;
}

int child_spawn(void *ud, Node *n, pid_t *ret_pid, bool *ret_ready) {
        Manager *m = ud;
        Child *rt = child_of(m, n);
        int r;

        if (!rt)
                return -ENOMEM;
        if (n->spec->listen_lazy) {
                r = listen_sockets(n, rt);
                if (r < 0)
                        return r;
                listen_watch_enable(rt, SD_EVENT_OFF);
                if (!listen_pending(rt)) {
                        r = listen_wait(m, rt);
                        if (r < 0) {
                                snprintf(n->reason, sizeof n->reason, "cannot watch its sockets: %s", strerror(-r));
                                return r;
                        }
                        *ret_pid = 0;
                        *ret_ready = true;
                        return 0;
                }
        }
        r = spawn_one(ud, n, NODE_HOOK_NONE, ret_pid);
        if (r < 0)
                return r;
        *ret_ready = n->spec->ready == READY_NONE;
        return 0;
}

int child_spawn_hook(void *ud, Node *n, NodeHook hook, pid_t *ret_pid) {
        return spawn_one(ud, n, hook, ret_pid);
}

void child_kill(void *ud, Node *n, int sig, bool group) {
        Child *rt = n->userdata;
        if (n->pid <= 0)
                return;
        /* SIGKILL to the group: in cgroup mode to everything it started, setsid'd or not. */
        if (group && sig == SIGKILL && rt && rt->cgroup && cgroup_leaf_kill(rt->cgroup) >= 0)
                return;
        if (group && kill(-n->pid, sig) == 0)
                return;
        (void) kill(n->pid, sig);
}

static int on_node_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Child *rt = userdata;
        tree_handle_timer(rt->manager->tree, rt->node);
        return 0;
}

static int node_timer_new(Manager *m, Child *rt) {
        int r = sd_event_add_time(m->event, &rt->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_node_timer, rt);
        if (r < 0)
                return r;
        sd_event_source_set_priority(rt->timer, PRIORITY_SUPERVISE);
        sd_event_source_set_enabled(rt->timer, SD_EVENT_OFF);
        return 0;
}

/* Every node has its runtime record and timer from the start: a restart delay or a shutdown
 * timeout is then never lost to an allocation that fails (the node would stay `restarting`
 * forever); making the node fails instead, which its maker reports. */
int child_attach(void *ud, Node *n) {
        Manager *m = ud;
        Child *rt = child_of(m, n);
        if (!rt)
                return -ENOMEM;
        /* Stopped by the operator before the daemon last stopped: left down (held.h). The root
         * cannot be stopped; an instance is made anew at each start of its supervisor. */
        if (m->held && n->parent && n->instance < 0 && held_is_held(m->held, n->path)) {
                n->intent = NODE_INTENT_HOLD;
                n->exit_reason = NODE_REASON_OPERATOR; /* down as if stopped in this run */
                snprintf(n->reason, sizeof n->reason, "held: stopped by the operator before the daemon started");
                log_info("'%s' is held: stopped by the operator, it is not started", n->path);
        }
        int r = child_watchdog_attach(m, rt);
        if (r < 0)
                return r;
        return rt->timer ? 0 : node_timer_new(m, rt);
}

void child_set_timer(void *ud, Node *n, usec_t at) {
        Manager *m = ud;
        Child *rt = n->userdata;
        if (at == 0) {
                if (rt && rt->timer)
                        sd_event_source_set_enabled(rt->timer, SD_EVENT_OFF);
                return;
        }
        /* Made by child_attach(); this is for a node made without it. */
        if (!rt || !rt->timer) {
                int r = rt ? node_timer_new(m, rt) : -ENOMEM;
                if (r < 0) {
                        log_error_errno(r, "Failed to arm a timer for '%s': %m", n->path);
                        return;
                }
        }
        sd_event_source_set_time(rt->timer, at);
        sd_event_source_set_enabled(rt->timer, SD_EVENT_ONESHOT);
}

void child_release(void *ud, Node *n) {
        Manager *m = ud;
        Child *rt = n->userdata;
        if (!rt)
                return;
        /* Removed by a reload: a child of that path added later starts as any new one. */
        if (n->intent == NODE_INTENT_REMOVE && m->held && n->parent && n->instance < 0)
                (void) held_set(m->held, n->path, false);
        if (rt->proc) {
                router_detach(m->router, rt->proc->peer, "shutdown");
                rt->proc = proc_release(&m->procs, rt->proc);
        }
        health_release(m, &rt->health);
        sd_event_source_disable_unref(rt->timer);
        child_watchdog_free(rt);
        output_pipe_free(rt->output);
        output_pipe_free(rt->file_out);
        output_pipe_free(rt->file_err);
        cgroup_leaf_free(rt->cgroup);
        listen_unwatch(rt);
        listen_set_close(&rt->listen);
        strv_free(rt->listen_addrs);
        strv_free(rt->argv);
        free(rt->envp);
        strv_free(rt->env_own);
        strv_free(rt->file_env);
        free(rt->cmdline);
        free(rt->status_text);
        free(rt);
        n->userdata = NULL;
}

static void on_peer_ready(void *ud, void *owner) {
        Manager *m = ud;
        Node *n = owner;
        if (n->spec->ready == READY_MAILBOX)
                tree_handle_ready(m->tree, n);
}

/* A worker whose mailbox had to be closed is killed; its own policy restarts it, nobody else is
 * affected. what: why, for the log. */
static void kill_for_mailbox(Manager *m, Node *n, const char *what) {
        log_child(LOG_WARNING, n->path, n->pid, 0, 0, n->restarts,
                  "'%s' (pid %d) %s: closed its mailbox, killing it", n->path, (int) n->pid, what);
        tree_kill_worker(m->tree, n, NODE_REASON_MAILBOX);
}

static void on_peer_watchdog(void *ud, void *owner, pid_t pid) {
        child_watchdog_ping(ud, owner, pid);
}

static void on_peer_broken(void *ud, void *owner, const char *why) {
        char what[256];
        snprintf(what, sizeof what, "broke the mailbox protocol (%s)", why);
        kill_for_mailbox(ud, owner, what);
}

static void on_peer_lost(void *ud, void *owner, const char *what) {
        /* It would wait forever for what was lost: a restart by its policy is the way back. */
        char text[256];
        snprintf(text, sizeof text, "ran out of memory, %s was lost", what);
        kill_for_mailbox(ud, owner, text);
}

const RouterOps child_router_ops = {
        .ready = on_peer_ready,
        .broken = on_peer_broken,
        .lost = on_peer_lost,
        .watchdog = on_peer_watchdog,
};

int child_notify(void *ud, pid_t sender, const char *msg) {
        Manager *m = ud;
        char buf[STATUS_TEXT_MAX];

        Proc *proc = proc_get(&m->procs, sender);
        if (!proc)
                /* Sent by a helper process of the child, in the child's process group. */
                proc = proc_get(&m->procs, getpgid(sender));
        if (!proc)
                return -ESRCH;
        Node *n = proc->node;
        if (notify_field(msg, "STATUS", buf, sizeof buf)) {
                Child *rt = child_of(m, n);
                if (rt) {
                        free(rt->status_text);
                        rt->status_text = strdup(buf);
                }
        }
        /* Before READY=1: an EXTEND_TIMEOUT_USEC= sent with it applies while it is starting. */
        child_watchdog_notify(m, n, proc->pid, msg);
        if (notify_field(msg, "READY", buf, sizeof buf) && strcmp(buf, "1") == 0 && n->spec->ready == READY_NOTIFY)
                tree_handle_ready(m->tree, n);
        return 0;
}

const char *manager_node_status(const Node *n) {
        const Child *rt = n->userdata;
        return rt ? rt->status_text : NULL;
}

Peer *manager_node_peer(const Node *n) {
        const Child *rt = n->userdata;
        return rt && rt->proc ? rt->proc->peer : NULL;
}

const char *manager_node_argv0(const Node *n) {
        const Child *rt = n->userdata;
        return rt ? rt->cmdline : NULL;
}

int manager_node_cpu_usec(const Node *n, uint64_t *ret_user, uint64_t *ret_system) {
        const Child *rt = n->userdata;
        if (!rt || !rt->proc)
                return -ESRCH;
        /* A kernel too old for cpu.stat in every group: the process's own figures. */
        if (rt->cgroup && cgroup_leaf_cpu_usec(rt->cgroup, ret_user, ret_system) >= 0)
                return 0;
        return proc_stat_cpu_usec(rt->proc->pid, ret_user, ret_system);
}
