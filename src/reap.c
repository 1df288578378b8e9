/* SPDX-License-Identifier: MIT */
/* The one reaper: SIGCHLD → waitid(P_ALL) until nothing is left → the child's last output, its
 * leftovers killed, its mailbox detached → the tree. It also reaps the orphans the node adopts
 * (subreaper, PID 1) and the guard, and at the end kills and reaps whatever is left. */
#include "manager-internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "exitdesc.h"
#include "guard.h"
#include "log.h"
#include "macro.h"
#include "output.h"

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
                if (pid <= 0 || proc_get(&m->procs, (pid_t) pid) || (pid_t) pid == guard_pid(m->guard))
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

int reap_children(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
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
                Proc *proc = proc_get(&m->procs, info.si_pid);
                if (!proc) {
                        if (m->guard && info.si_pid == guard_pid(m->guard))
                                guard_died(m);
                        else
                                log_debug("Reaped adopted orphan %d", (int) info.si_pid);
                        continue;
                }
                if (health_reaped(m, proc, info.si_code, info.si_status))
                        continue; /* a health check: the worker is as it was */
                Node *n = proc->node;
                Child *rt = n->userdata;
                /* Its last words come before our line about its exit. */
                if (rt && rt->output)
                        output_pipe_drain(rt->output);
                if (rt && rt->file_out)
                        output_pipe_drain(rt->file_out);
                if (rt && rt->file_err)
                        output_pipe_drain(rt->file_err);
                /* No stray second instance: what is left of its cgroup (or without cgroups, of its
                 * process group, and the orphans of its session we adopted) dies before any
                 * restart. The group id cannot be reused while members remain: race-free. */
                if (rt && rt->cgroup) {
                        if (n->spec->kill_group)
                                (void) cgroup_leaf_kill(rt->cgroup);
                        if (n->hook == NODE_HOOK_NONE) /* a hook's end keeps how the worker ended */
                                n->exit_oom = cgroup_leaf_oom_kills(rt->cgroup) > rt->oom_kills;
                } else {
                        if (n->hook == NODE_HOOK_NONE)
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
                if (proc->peer) {
                        char reason[64];
                        exit_describe(&(ExitHow) { info.si_code, info.si_status, false }, EXIT_STYLE_REASON,
                                      reason, sizeof reason);
                        router_detach(m->router, proc->peer, reason);
                }
                if (rt) {
                        rt->proc = NULL;
                        child_watchdog_stop(rt);
                }
                proc_release(&m->procs, proc);
                tree_handle_exit(m->tree, n, info.si_code, info.si_status);
        }
        return 0;
}

/* After the tree has stopped: nothing we started may outlive us. Adopted orphans (subreaper)
 * and whatever is left in our cgroup are killed, and the guard leaves quietly. */
void reap_stop_tracking(Manager *m) {
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

/* Before a command says which processes run: one the kernel has already ended is reaped first,
 * even when its SIGCHLD is still waiting behind the request in this loop iteration, so that no
 * answer names a pid that has exited. One waitid() when there is nothing to reap. */
void manager_reap_pending(Manager *m) {
        (void) reap_children(NULL, NULL, m);
}
