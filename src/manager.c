/* SPDX-License-Identifier: MIT */
/* The node: its one sd-event loop, its signals and their priorities (child exits first, then
 * timers and readiness, then control requests, then child output), systemd's status, its
 * start and its end. What it does per child is child.c, reaping is reap.c, the policy is the
 * tree's, and reloads are queued and applied by reload.c. */
#include "manager-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "cgroup.h"
#include "events.h"
#include "exitdesc.h"
#include "guard.h"
#include "log.h"
#include "log-sink.h"
#include "macro.h"
#include "notify.h"
#include "output-file.h"
#include "priority.h"
#include "strv.h"

#define STATUS_UPDATE_USEC (200 * USEC_PER_MSEC)

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
        case TREE_EVENT_EXITED: {
                const char *why = node_reason_to_string(n->exit_reason);
                char words[32] = "";
                exit_describe(&(ExitHow) { n->exit_code, n->exit_status, n->exit_oom }, EXIT_STYLE_LOG, how,
                              sizeof how);
                /* The reason in the text too, but the OOM killer's line names it already. */
                if (why && n->exit_reason != NODE_REASON_OOM)
                        snprintf(words, sizeof words, " (%s)", why);
                log_child_exit(n->signalled != NODE_SIGNALLED_NO || node_exited_normally(n) ? LOG_INFO : LOG_WARNING, n->path, n->pid,
                               n->exit_code, n->exit_status, why, n->restarts,
                               "'%s' (pid %d) %s%s", n->path, (int) n->pid, how, words);
                return;
        }
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
        case TREE_EVENT_HOOK_STARTED:
                log_child(LOG_INFO, n->path, n->pid, 0, 0, n->restarts, "Running %s of '%s' (pid %d)",
                          node_hook_to_string(n->hook), n->path, (int) n->pid);
                return;
        case TREE_EVENT_HOOK_EXITED: {
                bool ok = n->hook_code == CLD_EXITED && n->hook_status == 0;
                exit_describe(&(ExitHow) { n->hook_code, n->hook_status, false }, EXIT_STYLE_LOG, how, sizeof how);
                if (n->hook_code == NODE_EXIT_START_FAILED)
                        log_child(LOG_WARNING, n->path, 0, 0, 0, n->restarts, "%s of '%s' could not be run: %s",
                                  node_hook_to_string(n->hook), n->path, strerror(n->hook_status));
                else
                        log_child(ok ? LOG_INFO : LOG_WARNING, n->path, n->pid, 0, 0, n->restarts,
                                  "%s of '%s' (pid %d) %s", node_hook_to_string(n->hook), n->path, (int) n->pid, how);
                return;
        }
        case TREE_EVENT_KILLING:
                if (n->hook != NODE_HOOK_NONE)
                        log_child(LOG_WARNING, n->path, n->pid, 0, 0, n->restarts,
                                  "%s of '%s' (pid %d) did not end within %llu ms: sending SIGKILL",
                                  node_hook_to_string(n->hook), n->path, (int) n->pid,
                                  (unsigned long long) node_hook_limit_ms(n));
                else if (node_is_supervisor(n))
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
        if (ev == TREE_EVENT_STARTED && !node_is_supervisor(n))
                health_worker_started(m, n);
        else if (ev == TREE_EVENT_EXITED)
                health_worker_exited(m, n);
        events_publish_tree(m->events, n, ev);
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

        /* exit_status = significant: a job's failure is run's failure, as an init in a container
         * passes on its child's exit (read now, so a reload may have changed it). */
        int significant = tree_significant_exit(m->tree);
        bool pass_on = status == 0 && significant >= 0 &&
                       manager_config(m)->exit_status == EXIT_STATUS_SIGNIFICANT;
        m->exit_status = pass_on ? significant : status;
        (void) sd_notify(0, "STOPPING=1");
        if (status != 0)
                log_error("Root supervisor '%s' %s: %s", root->path,
                          m->ready_sent ? "terminated" : "failed to start", root->reason);
        else if (pass_on)
                log_info("Tree '%s' stopped; exit status %d, its significant child's (exit_status = significant)",
                         root->path, significant);
        else
                log_info("Tree '%s' stopped", root->path);
        sd_event_exit(m->event, m->exit_status);
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

        log_info("Received SIGHUP, reloading '%s'", manager_config(m)->path);
        int r = manager_reload(m, NULL, NULL, NULL, &d, &error);
        if (r == -EINVAL) {
                for (size_t i = 0; i < d.n; i++)
                        log_error("%s", d.lines[i]);
                log_error("Reload refused: '%s' is not valid, nothing was changed", manager_config(m)->path);
        } else if (r < 0)
                log_error("Reload refused: %s", error);
        diagnostics_done(&d);
        return 0;
}

/* The logrotate habit: the files were moved aside, the node opens every `file:` output it
 * writes again at its path. Outputs a child writes itself (a terminal, a FIFO) are not ours. */
static int on_sigusr1(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        unsigned failed = 0, n = output_file_reopen_all(&failed);

        log_info("Received SIGUSR1, reopened %u file output%s%s", n, n == 1 ? "" : "s",
                 failed ? " (some failed, see above)" : "");
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

static void reload_kick(Manager *m) {
        if (m->reload_source && reload_queue_busy(m->reloads))
                sd_event_source_set_enabled(m->reload_source, SD_EVENT_ONESHOT);
}

static void on_reload_kick(void *ud) {
        reload_kick(ud);
}

/* [forkvisor] keys are read once at start (socket, log, registry size, subreaper, log
 * timestamps): a reload takes note of a change and leaves it for the next start of the daemon. */
static void on_reload_begin(void *ud, const Config *old, const Config *new) {
        (void) sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long) now_usec());
        const char *changed[6];
        size_t n = 0;
        if ((old->control || new->control) && (!old->control || !new->control || strcmp(old->control, new->control) != 0))
                changed[n++] = "control";
        if (old->log != new->log)
                changed[n++] = "log";
        if (old->subreaper != new->subreaper)
                changed[n++] = "subreaper";
        if (old->registry_size != new->registry_size)
                changed[n++] = "registry_size";
        if (old->log_timestamps != new->log_timestamps)
                changed[n++] = "log_timestamps";
        if ((old->state_dir || new->state_dir) &&
            (!old->state_dir || !new->state_dir || strcmp(old->state_dir, new->state_dir) != 0))
                changed[n++] = "state_dir";
        for (size_t i = 0; i < n; i++)
                log_warning("Reload: [forkvisor] %s changed; it takes effect when forkvisor is restarted", changed[i]);
        if (!cluster_config_equal(&old->cluster, &new->cluster))
                log_warning("Reload: [cluster] changed; it takes effect when forkvisor is restarted");
}

static void on_reload_refused(void *ud, const char *error) {
        log_error("Reload refused: %s", error);
        (void) sd_notify(0, "READY=1");
}

/* A hold on disk stands for a child of the tree, not an instance (made anew at each start). */
static bool held_path_known(const char *path, void *ud) {
        Manager *m = ud;
        Node *n = tree_find(m->tree, path);
        return n && n->parent && n->instance < 0;
}

/* The one place where a reload has been applied (or has ended in failure): the log line, systemd's
 * READY=1 after RELOADING=1, and the `forkvisor:reload` event of SPEC 6.4 (its counts in c). */
static void on_reload_finished(void *ud, const ReloadCounts *c, const char *error) {
        Manager *m = ud;

        if (error)
                log_error("Reload of '%s' applied with errors: %s", manager_config(m)->path, error);
        char scaled[32] = "";
        if (c->scaled > 0)
                snprintf(scaled, sizeof scaled, ", %u scaled", c->scaled);
        log_info("Reloaded configuration: %u unchanged, %u changed, %u added, %u removed%s", c->unchanged, c->changed,
                 c->added, c->removed, scaled);
        events_publish_reload(m->events, m->tree->root->path, c);
        held_check_stale(m->held, held_path_known, m);
        (void) sd_notify(0, "READY=1");
        update_status(m);
}

static const ReloadQueueOps reload_queue_ops = {
        .kick = on_reload_kick,
        .begin = on_reload_begin,
        .refused = on_reload_refused,
        .finished = on_reload_finished,
};

static int on_reload_step(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        reload_queue_run(m->reloads);
        return 0;
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
        int r = config_load(manager_config(m)->path, &c, diag);
        if (r >= 0 && diag) {
                r = check_limits(m, c, diag);
                if (r < 0)
                        c = config_free(c);
        }
        if (r < 0) {
                *ret_error = r == -ENOMEM ? "out of memory" : "the configuration is not valid";
                return r == -ENOMEM ? r : -EINVAL;
        }
        r = reload_queue_push(m->reloads, c, done, ud, ret);
        if (r < 0)
                *ret_error = "out of memory";
        return r;
}

void manager_reload_forget(Manager *m, ReloadJob *j) {
        reload_job_forget(j);
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
        /* Last: config is ours only once nothing can fail (the caller frees it when we do). */
        if (reload_queue_new(config, &reload_queue_ops, m, &m->reloads) < 0) {
                manager_free(m);
                return -ENOMEM;
        }
        m->ops = (TreeOps) {
                .spawn = child_spawn,
                .spawn_hook = child_spawn_hook,
                .kill = child_kill,
                .set_timer = child_set_timer,
                .attach = child_attach,
                .now = op_now,
                .event = op_event,
                .finished = op_finished,
                .release = child_release,
        };
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        if (m->reloads)
                reload_queue_cancel(m->reloads, "the daemon exited");
        sd_event_source_disable_unref(m->reload_source);
        tree_free(m->tree);
        reap_stop_tracking(m);
        /* After the tree: its nodes may borrow from these. */
        reload_queue_free(m->reloads);
        /* The loop is done: nothing would read NATS' answers any more. Closed, the connection
         * fails at once what the global names' threads still wait for. */
        cluster_close(m->cluster);
        cluster_names_free(m->names); /* after the tree, whose exits delete their global names */
        cluster_rpc_free(m->rpc); /* after the tree, whose exits it tells other nodes of */
        cluster_free(m->cluster); /* publishes on events */
        events_free(m->events);
        router_free(m->router);
        registry_free(m->registry);
        control_server_free(m->control);
        notify_server_free(m->notify);
        held_dir_free(m->held);
        sd_event_source_disable_unref(m->status_timer);
        /* The last lines (the tree's, the output pipes' rest) are written before the loop goes. */
        log_sink_detach();
        sd_event_unref(m->event);
        proc_index_done(&m->procs);
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
        r = check_limits(m, manager_config(m), &diag);
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

/* state_dir, else CONTROL.held beside the control socket: under the runtime directory, which
 * /run empties at boot ("down until reboot", as s6 and runit have it); one per node, as the
 * notify socket is. A directory we cannot trust stops the start: holds read from it would
 * decide what runs. 0, or the exit status of run. */
static int open_held(Manager *m) {
        _cleanup_free_ char *dflt = NULL;
        const char *dir = manager_config(m)->state_dir;
        if (!dir) {
                if (asprintf(&dflt, "%s.held", m->control_path) < 0)
                        return log_error("Out of memory"), 1;
                dir = dflt;
        }
        if (held_dir_open(dir, &m->held) < 0)
                return log_error("Refusing to start: the state directory '%s' cannot be used", dir), 1;
        return 0;
}

int manager_keep_hold(Manager *m, const Node *n, bool held) {
        if (!m->held || !n->parent || n->instance >= 0)
                return 0;
        return held_set(m->held, n->path, held);
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
        sigaddset(&mask, SIGUSR1);
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
        if ((r = add_signal(m, SIGCHLD, reap_children, PRIORITY_REAP)) < 0 ||
            (r = add_signal(m, SIGTERM, on_shutdown_signal, PRIORITY_SUPERVISE)) < 0 ||
            (r = add_signal(m, SIGINT, on_shutdown_signal, PRIORITY_SUPERVISE)) < 0 ||
            (r = add_signal(m, SIGHUP, on_sighup, PRIORITY_CONTROL)) < 0 ||
            (r = add_signal(m, SIGUSR1, on_sigusr1, PRIORITY_CONTROL)) < 0)
                return log_error_errno(r, "Failed to watch signals: %m"), 1;

        m->subreaper = manager_config(m)->subreaper > 0 || (manager_config(m)->subreaper < 0 && getpid() == 1);
        if (m->subreaper && getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return log_error_errno(errno, "Failed to become a child subreaper: %m"), 1;

        r = registry_new(manager_config(m)->registry_size, &m->registry);
        if (r < 0)
                return log_error_errno(r, "Failed to create the registry: %m"), 1;
        r = router_new(m->event, m->registry, &m->procs, &child_router_ops, m, &m->router);
        if (r < 0)
                return log_error_errno(r, "Failed to set up message routing: %m"), 1;
        r = events_new(m->router, &m->events);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the lifecycle events: %m"), 1;

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
        r = notify_server_new(m->event, notify_path, child_notify, m, &m->notify);
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
                        sd_event_source_set_priority(m->status_timer, PRIORITY_IDLE);
        }
        /* WATCHDOG=1 at half of WatchdogSec=, when systemd asks for it. */
        (void) sd_event_set_watchdog(m->event, true);

        r = sd_event_add_defer(m->event, &m->reload_source, on_reload_step, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up reloading: %m"), 1;
        sd_event_source_set_enabled(m->reload_source, SD_EVENT_OFF);

        r = open_held(m);
        if (r != 0)
                return r;
        r = start_tracking(m);
        if (r != 0)
                return r;

        /* Connecting goes on in the background: the tree starts at once. */
        if (manager_config(m)->cluster.enabled &&
            (cluster_new(m->event, m->events, &manager_config(m)->cluster, &m->cluster) < 0 ||
             cluster_attach_router(m->cluster, m->router) < 0))
                return 1;
        if (m->cluster && cluster_rpc_new(m->cluster, m->router, &m->rpc) < 0)
                return log_error("Out of memory"), 1;
        if (m->cluster && cluster_names_new(m->event, m->cluster, m->router, m->registry, &m->names) < 0)
                return 1;

        /* Its nodes read their holds as they are made (child_attach). */
        r = tree_new(manager_config(m), &m->ops, m, &m->tree);
        if (r < 0)
                return log_error_errno(r, "Failed to build the tree: %m"), 1;
        reload_queue_set_tree(m->reloads, m->tree);
        held_check_stale(m->held, held_path_known, m);

        log_info("Starting tree '%s' from '%s'", m->tree->root->path, manager_config(m)->path);
        tree_start(m->tree);
        if (m->tree->finished)
                return m->exit_status;

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), 1;
        router_flush_streams(m->router);
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
        return reload_queue_config(m->reloads);
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

unsigned manager_control_connections(Manager *m) {
        return m->control ? control_server_connections(m->control) : 0;
}

Router *manager_router(Manager *m) {
        return m->router;
}

Events *manager_events(Manager *m) {
        return m->events;
}

Cluster *manager_cluster(Manager *m) {
        return m->cluster;
}

const RegistryView *manager_registry(Manager *m) {
        return registry_view(m->registry);
}
