/* SPDX-License-Identifier: MIT */
/* The guard: a tiny process the node forks at start, holding the read end of a pipe whose write
 * end only the node holds. When the node dies however it dies (SIGKILL, a crash, the OOM
 * killer), the guard reads EOF and kills everything the node started: the node's cgroup with
 * cgroup.kill, or, without cgroups, every process of the sessions the node told it of. The
 * parent-death signal only reaches the node's direct children; this reaches their descendants.
 * On the node's orderly exit it is told to leave quietly. Knows nothing of the tree. */
#pragma once

#include <sys/types.h>

typedef struct Guard Guard;

/* groups: the node's group directories (cgroups_groups()), killed and removed when the node
 * dies; NULL or empty to kill sessions instead. */
int guard_start(char *const *groups, Guard **ret);
pid_t guard_pid(const Guard *g);
/* Without cgroups: the sessions (a worker's pid, which is its session id) to kill. The node
 * never blocks on the guard: a full pipe drops the message (counted). */
void guard_watch_session(Guard *g, pid_t sid);
void guard_forget_session(Guard *g, pid_t sid);
/* The guard died (the node reaped it): forget it, so that guard_stop() does not wait for it. */
void guard_lost(Guard *g);
/* Orderly exit: the guard leaves without killing anything, and is reaped. */
Guard *guard_stop(Guard *g);

/* The guard runs as the node's own program under this name (argv[0]); main() hands it here. */
#define GUARD_ARGV0 "forkvisor-guard"
int guard_exec_main(int argc, char **argv);

/* The guard's side, also for tests: kills every process whose session is in sids[0..n). How many
 * were signalled. */
int guard_kill_sessions(const pid_t *sids, size_t n);
