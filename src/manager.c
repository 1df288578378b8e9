/* SPDX-License-Identifier: MIT */
/* The node's event loop and the real TreeOps: spawn through spawn.c with a per-node prepared
 * argv/envp, signals, sd-event timers. One reaper (SIGCHLD + waitid(P_ALL)) serves the tree
 * and every orphan we adopt. Event priorities: child exits first, then timers and readiness,
 * then control requests, then child output. */
#include "manager.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "cgroup.h"
#include "guard.h"
#include "log.h"
#include "log-sink.h"
#include "macro.h"
#include "notify.h"
#include "output.h"
#include "reload.h"
#include "router.h"
#include "events.h"
#include "exitdesc.h"
#include "idmap.h"
#include "spawn.h"
#include "strv.h"

#define STATUS_TEXT_MAX 256
#define STATUS_UPDATE_USEC (200 * USEC_PER_MSEC)

/* What the manager keeps per tree node (Node.userdata). */
typedef struct NodeRt {
        Manager *manager;          /* borrowed */
        Node *node;                /* borrowed; owns us */
        sd_event_source *timer;
        OutputPipe *output;        /* when stdout or stderr = log */
        Peer *peer;                /* the running incarnation's mailbox, in the router */
        const Spec *prepared;      /* the spec argv and envp were made from (reload changes it) */
        char **argv;               /* prepared at the first start, reused by every restart */
        char **envp;               /* borrowed strings, owned array */
        char **env_own;            /* the strings of envp that are this node's own */
        char *cmdline;
        char *status_text;         /* sd_notify STATUS= of the child */
        CgroupLeaf *cgroup;        /* cgroup mode: the worker's cgroup, kept across restarts */
        uint64_t oom_kills;        /* the cgroup's OOM kills when the process started */
} NodeRt;

/* One `forkvisor reload` or SIGHUP: the configuration it read, and who waits for its outcome. */
struct ReloadJob {
        ReloadJob *next;
        Config *config;            /* owned until applied */
        ManagerReloadDone done;    /* NULL: nobody waits (SIGHUP, or the client went away) */
        void *done_ud;
};

struct Manager {
        sd_event *event;
        Config *config;            /* owned */
        Tree *tree;                /* owned */
        TreeOps ops;
        IdMap pids;                /* pid → Node, live workers only */
        Router *router;
        Registry *registry;        /* names → processes, shared read-only with every child */
        ControlServer *control;
        ControlHandler control_handler;
        void *control_ud;
        NotifyServer *notify;
        Cgroups *cgroups;          /* process tracking: cgroups, or process groups without */
        Guard *guard;              /* kills what we started if we die; NULL as PID 1 */
        char *control_path;
        char **base_env;           /* our environment minus what must not reach children */
        int null_fd;
        struct rlimit nofile;      /* as we were started: children get this, not our raised one */
        int exit_status;
        bool systemd;              /* started with $NOTIFY_SOCKET */
        bool subreaper;            /* orphans are re-parented to us (subreaper or PID 1) */
        bool ready_sent;
        bool status_dirty;
        sd_event_source *status_timer;
        ManagerObserver observer;
        void *observer_ud;

        /* Reload (SPEC 3.4): one applied at a time, the others wait in order. */
        ReloadJob *reload_job;     /* owned: being applied */
        Reload *reload;            /* owned: its plan */
        ReloadJob *reload_queue;   /* owned: FIFO */
        sd_event_source *reload_source; /* defer: takes the next steps after tree events */
        Config **retired;          /* owned: superseded configs some node may still point into */
        size_t n_retired;
};

static const int limit_resource[_SPEC_LIMIT_MAX] = {
        [SPEC_LIMIT_NOFILE] = RLIMIT_NOFILE,
        [SPEC_LIMIT_CORE] = RLIMIT_CORE,
        [SPEC_LIMIT_AS] = RLIMIT_AS,
        [SPEC_LIMIT_NPROC] = RLIMIT_NPROC,
};

/* ---- per-node preparation --------------------------------------------------------------- */

static NodeRt *node_rt(Manager *m, Node *n) {
        if (!n->userdata) {
                NodeRt *rt = calloc(1, sizeof *rt);
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
 * O_PATH descriptor of it instead (notify.c). */
#define NOTIFY_SOCKET_BY_FD "/proc/self/fd/5"
_Static_assert(SPAWN_FD_NOTIFY == 5, "NOTIFY_SOCKET_BY_FD names SPAWN_FD_NOTIFY");
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

static int env_put_own(NodeRt *rt, char **env, size_t *len, const char *key, const char *value) {
        char *kv;
        if (asprintf(&kv, "%s=%s", key, value) < 0)
                return -ENOMEM;
        if (strv_consume(&rt->env_own, kv) < 0)
                return -ENOMEM;
        env_put(env, len, kv);
        return 0;
}

static void unprepare_node(NodeRt *rt) {
        rt->argv = strv_free(rt->argv);
        rt->envp = mfree(rt->envp);
        rt->env_own = strv_free(rt->env_own);
        rt->cmdline = mfree(rt->cmdline);
}

static int prepare_node(Manager *m, Node *n, NodeRt *rt) {
        const Spec *s = n->spec;
        int r;

        /* A reload gave the node another spec: envp borrows the old one's strings. */
        if (rt->prepared != s) {
                unprepare_node(rt);
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
                size_t len = 0, cap = strv_length(m->base_env) + strv_length(s->environment) + 9; /* ours, and NULL */
                char **env = calloc(cap, sizeof *env);
                if (!env)
                        return -ENOMEM;
                STRV_FOREACH(kv, m->base_env)
                        env_put(env, &len, *kv);
                STRV_FOREACH(kv, s->environment)
                        env_put(env, &len, *kv);
                r = env_put_own(rt, env, &len, "FORKVISOR_PATH", n->path);
                if (r >= 0 && n->reg_name)
                        r = env_put_own(rt, env, &len, "FORKVISOR_NAME", n->reg_name);
                if (r >= 0 && n->instance >= 0) {
                        char num[16];
                        snprintf(num, sizeof num, "%d", n->instance);
                        r = env_put_own(rt, env, &len, "FORKVISOR_INSTANCE", num);
                }
                if (r >= 0)
                        r = env_put_own(rt, env, &len, "FORKVISOR_CONTROL", m->control_path);
                if (r >= 0)
                        r = env_put_own(rt, env, &len, "FORKVISOR_MAILBOX", "3");
                if (r >= 0)
                        r = env_put_own(rt, env, &len, "FORKVISOR_REGISTRY", "4");
                if (r >= 0 && s->ready == READY_NOTIFY && m->notify)
                        r = env_put_own(rt, env, &len, "NOTIFY_SOCKET",
                                        notify_by_fd(s) ? NOTIFY_SOCKET_BY_FD
                                                        : notify_server_path(m->notify));
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

static int open_output_fd(Manager *m, NodeRt *rt, OutputMode mode, const char *path, int inherit_fd) {
        switch (mode) {
        case OUTPUT_LOG:
                return output_pipe_fd(rt->output);
        case OUTPUT_INHERIT:
                return inherit_fd;
        case OUTPUT_NULL:
                return m->null_fd;
        case OUTPUT_FILE: {
                int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
                return fd < 0 ? -errno : fd;
        }
        default:
                return -EINVAL;
        }
}

static CgroupLimits spec_limits(const Spec *s) {
        return (CgroupLimits) { .memory_max = s->memory_max, .pids_max = s->pids_max, .cpu_weight = s->cpu_weight };
}

/* The worker's cgroup, made at its first start and kept for its restarts; its limits follow
 * its spec (a reload may change them). */
static int node_cgroup(Manager *m, Node *n, NodeRt *rt) {
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

/* ---- TreeOps ---------------------------------------------------------------------------- */

static int op_spawn(void *ud, Node *n, pid_t *ret_pid, bool *ret_ready) {
        Manager *m = ud;
        const Spec *s = n->spec;
        NodeRt *rt = node_rt(m, n);
        int r;

        if (!rt)
                return -ENOMEM;
        r = prepare_node(m, n, rt);
        if (r < 0) {
                snprintf(n->reason, sizeof n->reason, "failed to prepare: %s", strerror(-r));
                return r;
        }

        int out = open_output_fd(m, rt, s->stdout_mode, s->stdout_path, STDOUT_FILENO);
        if (out < 0) {
                snprintf(n->reason, sizeof n->reason, "failed to open '%s': %s", s->stdout_path, strerror(-out));
                return out;
        }
        int err = open_output_fd(m, rt, s->stderr_mode, s->stderr_path, STDERR_FILENO);
        if (err < 0) {
                if (s->stdout_mode == OUTPUT_FILE)
                        safe_close(out);
                snprintf(n->reason, sizeof n->reason, "failed to open '%s': %s", s->stderr_path, strerror(-err));
                return err;
        }

        /* The mailbox of this incarnation: a successor never sees what was meant for it. */
        int mailbox[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, mailbox) < 0) {
                r = -errno;
                if (s->stdout_mode == OUTPUT_FILE)
                        safe_close(out);
                if (s->stderr_mode == OUTPUT_FILE)
                        safe_close(err);
                snprintf(n->reason, sizeof n->reason, "failed to create its mailbox: %s", strerror(-r));
                return r;
        }

        int cgroup_fd = -EBADF;
        const int *cgroup_procs = NULL;
        size_t n_cgroup_procs = 0;
        if (cgroups_mode(m->cgroups) != CGROUP_MODE_NONE) {
                r = node_cgroup(m, n, rt);
                if (r < 0) {
                        safe_close(mailbox[0]);
                        safe_close(mailbox[1]);
                        if (s->stdout_mode == OUTPUT_FILE)
                                safe_close(out);
                        if (s->stderr_mode == OUTPUT_FILE)
                                safe_close(err);
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
                .argv = rt->argv,
                .envp = rt->envp,
                .directory = s->directory,
                .fds = { s->stdin_inherit ? STDIN_FILENO : m->null_fd, out, err, mailbox[1],
                         registry_reader_fd(m->registry),
                         s->ready == READY_NOTIFY && m->notify && notify_by_fd(s) ? notify_server_path_fd(m->notify)
                                                                                 : -1 },
                .umask = s->umask,
                .nice_set = s->nice_set,
                .nice = s->nice,
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
        };
        SpawnStage stage;
        pid_t pid;
        r = spawn_process(&req, &pid, &stage);
        if (rt->cgroup)
                cgroup_leaf_spawned(rt->cgroup);
        safe_close(mailbox[1]);
        if (r < 0)
                safe_close(mailbox[0]);
        if (s->stdout_mode == OUTPUT_FILE)
                safe_close(out);
        if (s->stderr_mode == OUTPUT_FILE)
                safe_close(err);
        if (r < 0) {
                if (stage == SPAWN_STAGE_EXEC)
                        snprintf(n->reason, sizeof n->reason, "failed to execute '%s': %s", rt->argv[0], strerror(-r));
                else if (stage == SPAWN_STAGE_CHDIR)
                        snprintf(n->reason, sizeof n->reason, "failed to change directory to '%s': %s",
                                 s->directory, strerror(-r));
                else
                        snprintf(n->reason, sizeof n->reason, "failed to %s: %s", spawn_stage_to_string(stage),
                                 strerror(-r));
                return r;
        }
        r = idmap_put(&m->pids, pid, n);
        if (r >= 0) {
                r = router_attach(m->router, pid, n->reg_name, s->subscribe, mailbox[0], s->mailbox_limit, n,
                                  &rt->peer);
                if (r < 0)
                        idmap_remove(&m->pids, pid);
        } else
                safe_close(mailbox[0]);
        if (r < 0) {
                /* We could not track it, so it must not live. */
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                snprintf(n->reason, sizeof n->reason, "%s", r == -EEXIST ? "its name is already registered"
                                                                          : "out of memory");
                return r;
        }
        if (!rt->cgroup)
                guard_watch_session(m->guard, pid); /* its session id: spawn.c made it a leader */
        *ret_pid = pid;
        *ret_ready = s->ready == READY_NONE;
        return 0;
}

static void op_kill(void *ud, Node *n, int sig, bool group) {
        NodeRt *rt = n->userdata;
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
        NodeRt *rt = userdata;
        tree_handle_timer(rt->manager->tree, rt->node);
        return 0;
}

static int node_timer_new(Manager *m, NodeRt *rt) {
        int r = sd_event_add_time(m->event, &rt->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_node_timer, rt);
        if (r < 0)
                return r;
        sd_event_source_set_priority(rt->timer, SD_EVENT_PRIORITY_IMPORTANT);
        sd_event_source_set_enabled(rt->timer, SD_EVENT_OFF);
        return 0;
}

/* Every node has its runtime record and timer from the start: a restart delay or a shutdown
 * timeout is then never lost to an allocation that fails (the node would stay `restarting`
 * forever); making the node fails instead, which its maker reports. */
static int op_attach(void *ud, Node *n) {
        Manager *m = ud;
        NodeRt *rt = node_rt(m, n);
        if (!rt)
                return -ENOMEM;
        return rt->timer ? 0 : node_timer_new(m, rt);
}

static void op_set_timer(void *ud, Node *n, usec_t at) {
        Manager *m = ud;
        NodeRt *rt = n->userdata;
        if (at == 0) {
                if (rt && rt->timer)
                        sd_event_source_set_enabled(rt->timer, SD_EVENT_OFF);
                return;
        }
        /* Made by op_attach(); this is for a node made without it. */
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

static usec_t op_now(void *ud) {
        return now_usec();
}

static void reload_kick(Manager *m);

static void update_status(Manager *m) {
        if (!m->systemd)
                return;
        m->status_dirty = true;
        if (m->status_timer)
                sd_event_source_set_enabled(m->status_timer, SD_EVENT_ONESHOT);
}

static void log_event(Manager *m, Node *n, TreeEvent ev) {
        char how[96] = "";
        switch (ev) {
        case TREE_EVENT_STARTED:
                if (!node_is_supervisor(n))
                        log_child(LOG_INFO, n->path, n->pid, 0, 0, n->restarts, "Started '%s' (pid %d)", n->path,
                                  (int) n->pid);
                return;
        case TREE_EVENT_READY:
                if (node_is_supervisor(n))
                        log_child(LOG_INFO, n->path, 0, 0, 0, n->restarts, "Supervisor '%s' is running", n->path);
                return;
        case TREE_EVENT_EXITED:
                exit_describe(&(ExitHow) { n->exit_code, n->exit_status, n->exit_oom }, EXIT_STYLE_LOG, how,
                              sizeof how);
                log_child_exit(n->stop_sent || node_exited_normally(n) ? LOG_INFO : LOG_WARNING, n->path, n->pid,
                               n->exit_code, n->exit_status, n->exit_oom ? "oom" : NULL, n->restarts,
                               "'%s' (pid %d) %s", n->path, (int) n->pid, how);
                return;
        case TREE_EVENT_RESTARTING:
                if (n->restart_delay > 0)
                        log_child(LOG_NOTICE, n->path, n->pid, 0, 0, n->restarts,
                                  "Restarting '%s' (restart %u) in %llu ms", n->path, n->restarts,
                                  (unsigned long long) (n->restart_delay / USEC_PER_MSEC));
                else
                        log_child(LOG_NOTICE, n->path, n->pid, 0, 0, n->restarts, "Restarting '%s' (restart %u)",
                                  n->path, n->restarts);
                return;
        case TREE_EVENT_GAVE_UP:
                log_child(LOG_ERR, n->path, 0, 0, 0, n->restarts, "Supervisor '%s' gave up: %s", n->path, n->reason);
                return;
        case TREE_EVENT_START_FAILED:
                log_child(LOG_ERR, n->path, n->pid, 0, 0, n->restarts, "'%s' failed to start: %s", n->path, n->reason);
                return;
        case TREE_EVENT_STOPPED:
                log_child(LOG_INFO, n->path, 0, 0, 0, n->restarts, "Stopped '%s'", n->path);
                return;
        case TREE_EVENT_KILLING:
                if (node_is_supervisor(n))
                        log_child(LOG_WARNING, n->path, 0, 0, 0, n->restarts,
                                  "Supervisor '%s' did not stop within %llu ms: sending SIGKILL to its processes",
                                  n->path, (unsigned long long) n->spec->shutdown_ms);
                else
                        log_child(LOG_WARNING, n->path, n->pid, 0, 0, n->restarts,
                                  "'%s' (pid %d) did not stop within %llu ms: sending SIGKILL", n->path, (int) n->pid,
                                  (unsigned long long) n->spec->shutdown_ms);
                return;
        case TREE_EVENT_AUTO_SHUTDOWN:
                log_child(LOG_NOTICE, n->path, 0, 0, 0, n->restarts,
                          "Supervisor '%s' shutting down (auto_shutdown = %s): %s", n->path,
                          auto_shutdown_to_string(n->spec->auto_shutdown), n->reason);
                return;
        case TREE_EVENT_STATE:
        default:
                return;
        }
}

static void op_event(void *ud, Node *n, TreeEvent ev) {
        Manager *m = ud;

        log_event(m, n, ev);
        events_publish_tree(m->router, n, ev);
        if (ev == TREE_EVENT_READY && n == m->tree->root && !m->ready_sent) {
                m->ready_sent = true;
                log_info("Tree '%s' started", n->path);
                (void) sd_notify(0, "READY=1");
        }
        if (ev == TREE_EVENT_STATE || ev == TREE_EVENT_RESTARTING)
                update_status(m);
        if (m->observer)
                m->observer(m->observer_ud, n, ev);
        reload_kick(m);
}

static void op_finished(void *ud, int status) {
        Manager *m = ud;
        Node *root = m->tree->root;

        m->exit_status = status;
        (void) sd_notify(0, "STOPPING=1");
        if (status != 0)
                log_error("Root supervisor '%s' %s: %s", root->path,
                          m->ready_sent ? "terminated" : "failed to start", root->reason);
        else
                log_info("Tree '%s' stopped", root->path);
        sd_event_exit(m->event, status);
}

static void op_release(void *ud, Node *n) {
        Manager *m = ud;
        NodeRt *rt = n->userdata;
        if (n->pid > 0)
                idmap_remove(&m->pids, n->pid);
        if (!rt)
                return;
        router_detach(m->router, rt->peer, "shutdown");
        sd_event_source_disable_unref(rt->timer);
        output_pipe_free(rt->output);
        cgroup_leaf_free(rt->cgroup);
        strv_free(rt->argv);
        free(rt->envp);
        strv_free(rt->env_own);
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
        op_kill(m, n, SIGKILL, n->spec->kill_group);
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

static const RouterOps router_ops = {
        .ready = on_peer_ready,
        .broken = on_peer_broken,
        .lost = on_peer_lost,
};

/* ---- the loop's sources ----------------------------------------------------------------- */

/* Without cgroups, as subreaper: the orphans we adopted whose session is sid (0: all of them,
 * at exit) are killed. Our children are listed by the kernel (/proc/self/task/TID/children);
 * the ones the tree does not know are adopted orphans, or the guard. */
static void kill_adopted(Manager *m, pid_t sid) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d/children", (int) getpid());
        /* Read as a stream: as PID 1 with thousands of children the list is long. */
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        long pid;
        while (f && fscanf(f, "%ld", &pid) == 1) {
                if (pid <= 0 || idmap_get(&m->pids, (pid_t) pid) || (pid_t) pid == guard_pid(m->guard))
                        continue;
                if (sid == 0 || getsid((pid_t) pid) == sid) {
                        log_debug("Killing adopted orphan %ld", pid);
                        (void) kill((pid_t) pid, SIGKILL);
                }
        }
}

static void guard_died(Manager *m) {
        guard_lost(m->guard);
        m->guard = guard_stop(m->guard);
        if (manager_shutting_down(m))
                return;
        log_warning("The guard process died: starting another");
        int r = guard_start(cgroups_groups(m->cgroups), &m->guard);
        if (r < 0)
                log_error_errno(r, "Failed to start a guard process: %m; if the node is killed, what it "
                                   "started may outlive it");
        cgroups_set_companion(m->cgroups, guard_pid(m->guard));
}

static int on_sigchld(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        /* Signals coalesce: reap until nothing is left. */
        for (;;) {
                siginfo_t info = {};
                if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG) < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* ECHILD: no children at all */
                }
                if (info.si_pid == 0)
                        break;
                Node *n = idmap_remove(&m->pids, info.si_pid);
                if (!n) {
                        if (m->guard && info.si_pid == guard_pid(m->guard))
                                guard_died(m);
                        else
                                log_debug("Reaped adopted orphan %d", (int) info.si_pid);
                        continue;
                }
                NodeRt *rt = n->userdata;
                /* Its last words come before our line about its exit. */
                if (rt && rt->output)
                        output_pipe_drain(rt->output);
                /* No stray second instance: what is left of its cgroup (or without cgroups, of its
                 * process group, and the orphans of its session we adopted) dies before any
                 * restart. The group id cannot be reused while members remain: race-free. */
                if (rt && rt->cgroup) {
                        if (n->spec->kill_group)
                                (void) cgroup_leaf_kill(rt->cgroup);
                        n->exit_oom = cgroup_leaf_oom_kills(rt->cgroup) > rt->oom_kills;
                } else {
                        n->exit_oom = false;
                        if (n->spec->kill_group) {
                                (void) kill(-info.si_pid, SIGKILL);
                                if (m->subreaper) /* else no orphan is ever ours */
                                        kill_adopted(m, info.si_pid);
                        }
                        guard_forget_session(m->guard, info.si_pid);
                }
                /* Its mailbox goes first: calls to it fail, monitors fire, and its name is free
                 * for a successor that the tree may start right away. */
                if (rt && rt->peer) {
                        char reason[64];
                        exit_describe(&(ExitHow) { info.si_code, info.si_status, false }, EXIT_STYLE_REASON,
                                      reason, sizeof reason);
                        router_detach(m->router, rt->peer, reason);
                        rt->peer = NULL;
                }
                tree_handle_exit(m->tree, n, info.si_code, info.si_status);
        }
        return 0;
}

static int on_shutdown_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        const char *name = sigabbrev_np((int) si->ssi_signo) ?: "?";

        if (m->tree->shutting_down) {
                log_notice("Received SIG%s during shutdown, ignoring (shutdown timeouts still apply)", name);
                return 0;
        }
        log_info("Received SIG%s, shutting down", name);
        manager_shutdown(m);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        Diagnostics d = {};
        const char *error = NULL;

        log_info("Received SIGHUP, reloading '%s'", m->config->path);
        int r = manager_reload(m, NULL, NULL, NULL, &d, &error);
        if (r == -EINVAL) {
                for (size_t i = 0; i < d.n; i++)
                        log_error("%s", d.lines[i]);
                log_error("Reload refused: '%s' is not valid, nothing was changed", m->config->path);
        } else if (r < 0)
                log_error("Reload refused: %s", error);
        diagnostics_done(&d);
        return 0;
}

static int notify_on_message(void *ud, pid_t sender, const char *msg) {
        Manager *m = ud;
        char buf[STATUS_TEXT_MAX];

        Node *n = idmap_get(&m->pids, sender);
        if (!n) {
                /* Sent by a helper process of the child, in the child's process group. */
                pid_t pgid = getpgid(sender);
                if (pgid > 0)
                        n = idmap_get(&m->pids, pgid);
        }
        if (!n)
                return -ESRCH;
        if (notify_field(msg, "STATUS", buf, sizeof buf)) {
                NodeRt *rt = node_rt(m, n);
                if (rt) {
                        free(rt->status_text);
                        rt->status_text = strdup(buf);
                }
        }
        if (notify_field(msg, "READY", buf, sizeof buf) && strcmp(buf, "1") == 0 && n->spec->ready == READY_NOTIFY)
                tree_handle_ready(m->tree, n);
        return 0;
}

typedef struct Counts {
        unsigned running, starting, failed, restarts, total;
} Counts;

static void count_node(Node *n, unsigned depth, void *ud) {
        Counts *c = ud;
        if (node_is_supervisor(n))
                return;
        c->total++;
        c->restarts += n->restarts;
        if (n->state == NODE_RUNNING)
                c->running++;
        else if (n->state == NODE_STARTING)
                c->starting++;
        else if (n->state == NODE_FAILED)
                c->failed++;
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        Counts c = {};

        if (!m->status_dirty)
                return 0;
        m->status_dirty = false;
        tree_walk(m->tree->root, count_node, &c);
        (void) sd_notifyf(0, "STATUS=%u/%u running, %u starting, %u failed, %u restarts", c.running, c.total,
                          c.starting, c.failed, c.restarts);
        sd_event_source_set_time_relative(s, STATUS_UPDATE_USEC);
        return 0;
}

/* ---- reload ----------------------------------------------------------------------------- */

static int cmp_ptr(const void *a, const void *b) {
        uintptr_t x = (uintptr_t) *(const void *const *) a, y = (uintptr_t) *(const void *const *) b;
        return x < y ? -1 : x > y;
}

typedef struct InUse {
        const Spec **specs;        /* sorted */
        size_t n;
        bool found;
} InUse;

static void check_in_use(Node *n, unsigned depth, void *ud) {
        InUse *u = ud;
        const Spec *s[2] = { n->spec, n->next_spec };
        for (size_t i = 0; i < 2 && !u->found; i++)
                if (s[i] && bsearch(&s[i], u->specs, u->n, sizeof *u->specs, cmp_ptr))
                        u->found = true;
}

/* Does any node of the tree still borrow a spec of c? (Nodes being removed or replaced keep
 * their old section until they are down.) */
static bool config_in_use(Manager *m, const Config *c) {
        InUse u = { .n = c->n_sections };
        u.specs = malloc((c->n_sections ? c->n_sections : 1) * sizeof *u.specs);
        if (!u.specs)
                return true; /* cannot tell: keep it */
        memcpy(u.specs, c->sections, c->n_sections * sizeof *u.specs);
        qsort(u.specs, u.n, sizeof *u.specs, cmp_ptr);
        tree_walk(m->tree->root, check_in_use, &u);
        free(u.specs);
        return u.found;
}

/* Frees the superseded configurations no node points into any more; the others wait for a
 * later reload or the end of the manager. */
static void free_retired(Manager *m) {
        size_t k = 0;
        for (size_t i = 0; i < m->n_retired; i++) {
                if (config_in_use(m, m->retired[i]))
                        m->retired[k++] = m->retired[i];
                else
                        config_free(m->retired[i]);
        }
        m->n_retired = k;
}

/* [forkvisor] keys are read once at start (socket, log, registry size, subreaper): a reload
 * takes note of a change and leaves it for the next start of the daemon. */
static void warn_daemon_keys(const Config *old, const Config *new) {
        const char *changed[4];
        size_t n = 0;
        if ((old->control || new->control) && (!old->control || !new->control || strcmp(old->control, new->control) != 0))
                changed[n++] = "control";
        if (old->log != new->log)
                changed[n++] = "log";
        if (old->subreaper != new->subreaper)
                changed[n++] = "subreaper";
        if (old->registry_size != new->registry_size)
                changed[n++] = "registry_size";
        for (size_t i = 0; i < n; i++)
                log_warning("Reload: [forkvisor] %s changed; it takes effect when forkvisor is restarted", changed[i]);
}

static void reload_kick(Manager *m) {
        if (m->reload_source && (m->reload || m->reload_queue))
                sd_event_source_set_enabled(m->reload_source, SD_EVENT_ONESHOT);
}

static void reload_answer(ReloadJob *j, int status, const char *message) {
        if (j->done)
                j->done(j->done_ud, status, message);
        config_free(j->config);
        free(j);
}

/* The one place where a reload has been applied (or has ended in failure): the log line, systemd's
 * READY=1 after RELOADING=1, and the `forkvisor:reload` event of SPEC 6.4 (its counts in c). */
static void reload_finished(Manager *m, const ReloadCounts *c, const char *error) {
        if (error)
                log_error("Reload of '%s' applied with errors: %s", m->config->path, error);
        log_info("Reloaded configuration: %u unchanged, %u changed, %u added, %u removed", c->unchanged, c->changed,
                 c->added, c->removed);
        events_publish_reload(m->router, m->tree->root->path, c);
        (void) sd_notify(0, "READY=1");
        update_status(m);
}

/* Starts the next queued reload; false when none could start. */
static bool reload_begin(Manager *m) {
        ReloadJob *j = m->reload_queue;
        const char *error = NULL;

        m->reload_queue = j->next;
        j->next = NULL;
        if (m->tree->shutting_down) {
                reload_answer(j, 1, "the daemon is shutting down");
                return false;
        }
        (void) sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long) now_usec());
        Reload *r;
        int q = reload_new(m->tree, j->config, &r, &error);
        if (q < 0) {
                log_error("Reload refused: %s", error);
                (void) sd_notify(0, "READY=1");
                reload_answer(j, 1, error);
                return false;
        }
        warn_daemon_keys(m->config, j->config);
        Config **a = reallocarray(m->retired, m->n_retired + 1, sizeof *a);
        if (!a) {
                reload_free(r);
                (void) sd_notify(0, "READY=1");
                reload_answer(j, 1, "out of memory");
                return false;
        }
        m->retired = a;
        m->retired[m->n_retired++] = m->config;
        m->config = TAKE_PTR(j->config);
        m->tree->config = m->config;
        m->reload = r;
        m->reload_job = j;
        return true;
}

static int on_reload_step(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        for (;;) {
                if (!m->reload) {
                        if (!m->reload_queue)
                                return 0;
                        if (!reload_begin(m))
                                continue;
                }
                const char *error;
                if (m->tree->shutting_down)
                        error = "the daemon began to shut down before the reload was applied";
                else if (!reload_continue(m->reload))
                        return 0; /* the next tree event brings us back */
                else
                        error = reload_error(m->reload);

                reload_finished(m, reload_counts(m->reload), error);
                ReloadJob *j = TAKE_PTR(m->reload_job);
                reload_answer(j, error ? 1 : 0, error); /* error may point into the plan */
                m->reload = reload_free(m->reload);
                free_retired(m);
        }
}

/* Each worker's resource keys need a controller this node may not have: a configuration error,
 * FILE:LINE as the parser would say it. */
static int check_limits(Manager *m, const Config *c, Diagnostics *diag) {
        int ret = 0;
        for (size_t i = 0; i < c->n_sections; i++) {
                const Spec *s = c->sections[i];
                const uint64_t want[_CGROUP_CONTROLLER_MAX] = {
                        [CGROUP_MEMORY] = s->memory_max, [CGROUP_PIDS] = s->pids_max, [CGROUP_CPU] = s->cpu_weight,
                };
                static const char *const key[_CGROUP_CONTROLLER_MAX] = {
                        [CGROUP_MEMORY] = "memory_max", [CGROUP_PIDS] = "pids_max", [CGROUP_CPU] = "cpu_weight",
                };
                if (s->kind != SPEC_WORKER)
                        continue;
                for (int ctl = 0; ctl < _CGROUP_CONTROLLER_MAX; ctl++) {
                        const char *why;
                        char *line;
                        if (want[ctl] == 0 || cgroups_controller_available(m->cgroups, (CgroupController) ctl, &why))
                                continue;
                        if (asprintf(&line, "%s:%u: %s of [worker:%s] cannot be applied here: %s", s->file,
                                     s->resource_line, key[ctl], s->name, why) < 0 ||
                            strv_consume(&diag->lines, line) < 0)
                                return -ENOMEM;
                        diag->n++;
                        ret = -EINVAL;
                }
        }
        return ret;
}

int manager_reload(Manager *m, ManagerReloadDone done, void *ud, ReloadJob **ret, Diagnostics *diag,
                   const char **ret_error) {
        if (m->tree->shutting_down) {
                *ret_error = "the daemon is shutting down";
                return -EBUSY;
        }
        /* Parsed now, applied in turn: what is applied is what the files said when asked. */
        Config *c = NULL;
        int r = config_load(m->config->path, &c, diag);
        if (r >= 0 && diag) {
                r = check_limits(m, c, diag);
                if (r < 0)
                        c = config_free(c);
        }
        if (r < 0) {
                *ret_error = r == -ENOMEM ? "out of memory" : "the configuration is not valid";
                return r == -ENOMEM ? r : -EINVAL;
        }
        ReloadJob *j = calloc(1, sizeof *j);
        if (!j) {
                config_free(c);
                *ret_error = "out of memory";
                return -ENOMEM;
        }
        j->config = c;
        j->done = done;
        j->done_ud = ud;
        ReloadJob **tail = &m->reload_queue;
        while (*tail)
                tail = &(*tail)->next;
        *tail = j;
        reload_kick(m);
        if (ret)
                *ret = j;
        return 0;
}

void manager_reload_forget(Manager *m, ReloadJob *j) {
        j->done = NULL;
        j->done_ud = NULL;
}

/* ---- setup ------------------------------------------------------------------------------ */

static bool env_is_ours(const char *kv) {
        static const char *const prefixes[] = { "NOTIFY_SOCKET=", "WATCHDOG_", "LISTEN_", "FORKVISOR_" };
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0)
                        return true;
        return false;
}

int manager_new(Config *config, const char *control_path, ControlHandler handler, void *handler_ud,
                Manager **ret) {
        extern char **environ;
        Manager *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->config = config;
        m->null_fd = -EBADF;
        m->control_handler = handler;
        m->control_ud = handler_ud;
        m->control_path = strdup(control_path);
        m->base_env = strv_new_empty();
        if (!m->control_path || !m->base_env) {
                manager_free(m);
                return -ENOMEM;
        }
        for (char **e = environ; *e; e++)
                if (!env_is_ours(*e) && strv_push(&m->base_env, *e) < 0) {
                        manager_free(m);
                        return -ENOMEM;
                }
        m->ops = (TreeOps) {
                .spawn = op_spawn,
                .kill = op_kill,
                .set_timer = op_set_timer,
                .attach = op_attach,
                .now = op_now,
                .event = op_event,
                .finished = op_finished,
                .release = op_release,
        };
        *ret = m;
        return 0;
}

/* After the tree has stopped: nothing we started may outlive us. Adopted orphans (subreaper)
 * and whatever is left in our cgroup are killed, and the guard leaves quietly. */
static void stop_tracking(Manager *m) {
        kill_adopted(m, 0);
        m->cgroups = cgroups_free(m->cgroups);
        m->guard = guard_stop(m->guard);
        /* Reap what we killed (bounded: SIGKILLed processes exit at once). */
        for (int i = 0; i < 100; i++) {
                pid_t pid = waitpid(-1, NULL, WNOHANG);
                if (pid > 0) {
                        i = 0;
                        continue;
                }
                if (pid < 0)
                        break;
                struct timespec step = { 0, 2 * 1000 * 1000 };
                nanosleep(&step, NULL);
        }
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        reload_free(m->reload);
        if (m->reload_job)
                reload_answer(m->reload_job, 1, "the daemon exited");
        while (m->reload_queue) {
                ReloadJob *j = m->reload_queue;
                m->reload_queue = j->next;
                reload_answer(j, 1, "the daemon exited");
        }
        sd_event_source_disable_unref(m->reload_source);
        tree_free(m->tree);
        stop_tracking(m);
        /* After the tree: its nodes may borrow from these. */
        for (size_t i = 0; i < m->n_retired; i++)
                config_free(m->retired[i]);
        free(m->retired);
        router_free(m->router);
        registry_free(m->registry);
        control_server_free(m->control);
        notify_server_free(m->notify);
        sd_event_source_disable_unref(m->status_timer);
        /* The last lines (the tree's, the output pipes' rest) are written before the loop goes. */
        log_sink_detach();
        sd_event_unref(m->event);
        idmap_done(&m->pids);
        config_free(m->config);
        strv_free(m->base_env);
        free(m->control_path);
        safe_close(m->null_fd);
        return mfree(m);
}

/* Process tracking, before the first child: cgroups (or process groups), a previous run's
 * leftovers killed, the limits checked, and the guard. 0, or the exit status of run. */
static int start_tracking(Manager *m) {
        int r = cgroups_new(m->control_path, NULL, &m->cgroups);
        if (r < 0)
                return log_error_errno(r, "Failed to set up process tracking: %m"), 1;
        log_info("Process tracking: %s", cgroups_describe(m->cgroups));
        r = cgroups_kill_leftovers(m->cgroups);
        if (r > 0)
                log_warning("Killed %d leftover process%s of a previous run in %s", r, r == 1 ? "" : "es",
                            cgroups_path(m->cgroups));

        Diagnostics diag = {};
        r = check_limits(m, m->config, &diag);
        if (r < 0) {
                for (size_t i = 0; i < diag.n; i++)
                        log_error("%s", diag.lines[i]);
                diagnostics_done(&diag);
                return r == -ENOMEM ? (log_error("Out of memory"), 1) : 2;
        }
        /* As PID 1 the kernel kills our whole namespace when we die: no guard needed. */
        if (getpid() != 1) {
                r = guard_start(cgroups_groups(m->cgroups), &m->guard);
                if (r < 0)
                        log_warning_errno(r, "Failed to start a guard process: %m; if the node is killed, "
                                             "what it started may outlive it");
                cgroups_set_companion(m->cgroups, guard_pid(m->guard));
        }
        return 0;
}

static int add_signal(Manager *m, int sig, sd_event_signal_handler_t cb, int64_t prio) {
        sd_event_source *s = NULL;
        int r = sd_event_add_signal(m->event, &s, sig, cb, m);
        if (r < 0)
                return r;
        sd_event_source_set_priority(s, prio);
        /* Owned by the loop from now on: freed with it. */
        sd_event_source_set_floating(s, 1);
        sd_event_source_unref(s);
        return 0;
}

static char *notify_path_for(const char *control_path) {
        char *p;
        if (asprintf(&p, "%s.notify", control_path) < 0)
                return NULL;
        return p;
}

static void raise_fd_limit(Manager *m) {
        /* A thousand children with log pipes need a few thousand fds. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return;
        m->nofile = rl;
        if (rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

/* The node reads its signals from signalfd, in its one thread, where they are blocked. A thread
 * it did not make (a preloaded library's: libfiu's remote control, a profiler's, an allocator's)
 * has them unblocked if it was made before they were blocked, and the kernel hands a
 * process-wide signal to a thread that does not block it: at SIG_DFL, a SIGCHLD taken there is
 * lost (no child reaped again: every worker left `running` with a dead process) and a SIGTERM
 * kills the node outright. With this handler such a thread passes the signal on to the main
 * thread, where it waits, blocked, for signalfd. */
static pid_t main_tid;

static void pass_to_main_thread(int sig) {
        int saved = errno;
        (void) tgkill(getpid(), main_tid, sig);
        errno = saved;
}

static void catch_signals_of_other_threads(const sigset_t *mask) {
        struct sigaction sa = { .sa_handler = pass_to_main_thread, .sa_flags = SA_RESTART };
        main_tid = gettid();
        sigfillset(&sa.sa_mask);
        for (int sig = 1; sig < _NSIG; sig++)
                if (sigismember(mask, sig) == 1)
                        (void) sigaction(sig, &sa, NULL);
}

int manager_run(Manager *m) {
        int r;
        sigset_t mask;

        /* Block before any child exists: signalfd only sees blocked signals, and no child may
         * exit unseen. Children start with an empty mask (spawn.c). */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        catch_signals_of_other_threads(&mask);
        signal(SIGPIPE, SIG_IGN);
        raise_fd_limit(m);

        m->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (m->null_fd < 0)
                return log_error_errno(errno, "Failed to open /dev/null: %m"), 1;

        r = sd_event_new(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to create the event loop: %m"), 1;
        /* From here a reader that stops reading our stderr costs log lines, not the loop. */
        r = log_sink_attach(m->event);
        if (r < 0)
                log_warning_errno(r, "Failed to watch the log for room, lines may wait: %m");
        if ((r = add_signal(m, SIGCHLD, on_sigchld, SD_EVENT_PRIORITY_IMPORTANT - 100)) < 0 ||
            (r = add_signal(m, SIGTERM, on_shutdown_signal, SD_EVENT_PRIORITY_IMPORTANT)) < 0 ||
            (r = add_signal(m, SIGINT, on_shutdown_signal, SD_EVENT_PRIORITY_IMPORTANT)) < 0 ||
            (r = add_signal(m, SIGHUP, on_sighup, SD_EVENT_PRIORITY_NORMAL)) < 0)
                return log_error_errno(r, "Failed to watch signals: %m"), 1;

        m->subreaper = m->config->subreaper > 0 || (m->config->subreaper < 0 && getpid() == 1);
        if (m->subreaper && getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return log_error_errno(errno, "Failed to become a child subreaper: %m"), 1;

        r = registry_new(m->config->registry_size, &m->registry);
        if (r < 0)
                return log_error_errno(r, "Failed to create the registry: %m"), 1;
        r = router_new(m->event, m->registry, &router_ops, m, &m->router);
        if (r < 0)
                return log_error_errno(r, "Failed to set up message routing: %m"), 1;

        r = control_server_new(m->event, m->control_path, m->control_handler, m->control_ud, &m->control);
        if (r == -EADDRINUSE)
                return log_error("Another forkvisor is already listening on '%s'", m->control_path), 1;
        if (r == -EEXIST)
                return log_error("Refusing to replace '%s': it exists and is not a socket", m->control_path), 1;
        if (r == -EPERM)
                return log_error("Refusing to replace '%s': it is another user's socket", m->control_path), 1;
        if (r < 0)
                return log_error_errno(r, "Failed to listen on '%s': %m", m->control_path), 1;

        _cleanup_free_ char *notify_path = notify_path_for(m->control_path);
        if (!notify_path)
                return log_error("Out of memory"), 1;
        r = notify_server_new(m->event, notify_path, notify_on_message, m, &m->notify);
        if (r == -EADDRINUSE)
                return log_error("Another process is already listening on '%s'", notify_path), 1;
        if (r == -EEXIST)
                return log_error("Refusing to replace '%s': it exists and is not a socket", notify_path), 1;
        if (r == -EPERM)
                return log_error("Refusing to replace '%s': it is another user's socket", notify_path), 1;
        if (r < 0)
                return log_error_errno(r, "Failed to listen on '%s': %m", notify_path), 1;

        m->systemd = getenv("NOTIFY_SOCKET") != NULL;
        if (m->systemd) {
                r = sd_event_add_time_relative(m->event, &m->status_timer, CLOCK_MONOTONIC, STATUS_UPDATE_USEC,
                                               10 * USEC_PER_MSEC, on_status_timer, m);
                if (r >= 0)
                        sd_event_source_set_priority(m->status_timer, SD_EVENT_PRIORITY_IDLE);
        }
        /* WATCHDOG=1 at half of WatchdogSec=, when systemd asks for it. */
        (void) sd_event_set_watchdog(m->event, true);

        r = sd_event_add_defer(m->event, &m->reload_source, on_reload_step, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up reloading: %m"), 1;
        sd_event_source_set_enabled(m->reload_source, SD_EVENT_OFF);

        r = start_tracking(m);
        if (r != 0)
                return r;

        r = tree_new(m->config, &m->ops, m, &m->tree);
        if (r < 0)
                return log_error_errno(r, "Failed to build the tree: %m"), 1;

        log_info("Starting tree '%s' from '%s'", m->tree->root->path, m->config->path);
        tree_start(m->tree);
        if (m->tree->finished)
                return m->exit_status;

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), 1;
        return m->exit_status;
}

void manager_set_observer(Manager *m, ManagerObserver fn, void *ud) {
        m->observer = fn;
        m->observer_ud = ud;
}

Tree *manager_tree(Manager *m) {
        return m->tree;
}

sd_event *manager_event(Manager *m) {
        return m->event;
}

const Config *manager_config(Manager *m) {
        return m->config;
}

void manager_shutdown(Manager *m) {
        if (m->tree->shutting_down)
                return;
        (void) sd_notify(0, "STOPPING=1");
        tree_shutdown(m->tree);
        reload_kick(m); /* a reload under way or queued ends now, refused */
}

bool manager_shutting_down(Manager *m) {
        return m->tree->shutting_down;
}

const char *manager_node_status(const Node *n) {
        const NodeRt *rt = n->userdata;
        return rt ? rt->status_text : NULL;
}

Router *manager_router(Manager *m) {
        return m->router;
}

const RegistryView *manager_registry(Manager *m) {
        return registry_view(m->registry);
}

Peer *manager_node_peer(const Node *n) {
        const NodeRt *rt = n->userdata;
        return rt ? rt->peer : NULL;
}

const char *manager_node_argv0(const Node *n) {
        const NodeRt *rt = n->userdata;
        return rt ? rt->cmdline : NULL;
}
