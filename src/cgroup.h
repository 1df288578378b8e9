/* SPDX-License-Identifier: MIT */
/* Process tracking by cgroup: one cgroup per worker inside one group of the node's, so that
 * "this worker stopped" can mean "everything it started stopped" (cgroup.kill), whatever the
 * worker forked, double-forked or setsid'd. The node's group is named after its control socket,
 * so a daemon started again finds what a killed predecessor left and kills it.
 *
 * Tracking and killing use the cgroup v2 hierarchy: /sys/fs/cgroup on pure v2 hosts, the
 * "unified" one of hybrid hosts. The resource limits (memory_max, pids_max, cpu_weight) use the
 * v2 controllers where the v2 hierarchy has them, else the v1 hierarchies of a hybrid host.
 * Where no cgroup can be had (no v2 hierarchy, not writable), the node falls back to process
 * groups (CGROUP_MODE_NONE) and says why. Knows nothing of the tree. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum CgroupMode {
        CGROUP_MODE_NONE,    /* process groups and sessions only */
        CGROUP_MODE_V2,      /* pure cgroup v2 */
        CGROUP_MODE_HYBRID,  /* v2 "unified" hierarchy for tracking, v1 controllers beside it */
        _CGROUP_MODE_MAX,
} CgroupMode;

/* The resource controllers a worker's limits need. */
typedef enum CgroupController {
        CGROUP_MEMORY,
        CGROUP_PIDS,
        CGROUP_CPU,
        _CGROUP_CONTROLLER_MAX,
} CgroupController;

#define CGROUP_LIMIT_UNSET 0           /* memory_max, pids_max, cpu_weight not configured */
#define CGROUP_LIMIT_INFINITY UINT64_MAX

typedef struct CgroupLimits {
        uint64_t memory_max;  /* bytes */
        uint64_t pids_max;
        uint64_t cpu_weight;  /* 1..10000 */
} CgroupLimits;

typedef struct Cgroups Cgroups;
typedef struct CgroupLeaf CgroupLeaf;

/* Finds the hierarchies and makes the node's group, named after identity (the control socket
 * path). Never fails for want of cgroups: *ret is then in CGROUP_MODE_NONE with the reason in
 * cgroups_describe(). -ENOMEM only. root: where the v2 hierarchy is mounted, NULL to find it in
 * /proc/self/mountinfo (tests pass a directory of their own). */
int cgroups_new(const char *identity, const char *root, Cgroups **ret);
/* Kills and removes everything still in the node's group (at exit). */
Cgroups *cgroups_free(Cgroups *c);

/* A process that moves with the node when it has to leave its own cgroup (its guard). */
void cgroups_set_companion(Cgroups *c, pid_t pid);

CgroupMode cgroups_mode(const Cgroups *c);
const char *cgroup_mode_to_string(CgroupMode m);
/* One line for the log: the mode, where, and why when it is CGROUP_MODE_NONE. */
const char *cgroups_describe(const Cgroups *c);
/* The node's group (the v2 directory), or NULL without cgroups. */
const char *cgroups_path(const Cgroups *c);
/* Every group directory of the node's, the v2 one first and the v1 ones made so far, NULL
 * terminated; NULL without cgroups. Valid until the next call that makes a group. */
char *const *cgroups_groups(const Cgroups *c);

/* A previous run's leftovers (processes in the node's group when it was made): killed, and the
 * number killed returned (0 when there were none). */
int cgroups_kill_leftovers(Cgroups *c);

/* Whether limits of this controller can be set; if not, 0 is returned with *ret_why saying why
 * (static text or c's own buffer). Enables the controller (once) when it can. */
bool cgroups_controller_available(Cgroups *c, CgroupController ctl, const char **ret_why);
const char *cgroup_controller_to_string(CgroupController ctl);

/* The guard's part, by path (it keeps nothing of the node): kills everything in the group and
 * below, waits (bounded) for it to empty, and removes the group. */
void cgroup_kill_and_remove(const char *group);

/* The cgroup of one worker: name is its tree path ("app/pool/job.2"). Made, or reused. */
int cgroup_leaf_new(Cgroups *c, const char *name, CgroupLeaf **ret);
/* Kills what is left in it and removes it (best effort: a group still busy is left to
 * cgroups_free()). */
CgroupLeaf *cgroup_leaf_free(CgroupLeaf *l);
/* Before each start of the worker: its limits (a reload may have changed them), a new directory
 * when the last one was killed, and the descriptors of cgroup_leaf_fd() and
 * cgroup_leaf_v1_procs(), open until cgroup_leaf_spawned(). */
int cgroup_leaf_prepare(CgroupLeaf *l, const CgroupLimits *limits);
void cgroup_leaf_spawned(CgroupLeaf *l);
int cgroup_leaf_set_limits(CgroupLeaf *l, const CgroupLimits *limits);
/* The v2 directory fd for clone3(CLONE_INTO_CGROUP). */
int cgroup_leaf_fd(const CgroupLeaf *l);
/* The v1 cgroup.procs files the child writes "0" into before it runs anything of its own
 * (hybrid limits); *ret_n of them. */
const int *cgroup_leaf_v1_procs(const CgroupLeaf *l, size_t *ret_n);
/* Sends SIGKILL to every process in it, when any is left (cgroup.kill, or one by one where the
 * kernel has no cgroup.kill). */
int cgroup_leaf_kill(CgroupLeaf *l);
/* How many processes of it the kernel's OOM killer has killed so far (memory.events oom_kill on
 * v2, memory.oom_control on v1); 0 without a memory limit. */
uint64_t cgroup_leaf_oom_kills(const CgroupLeaf *l);
/* The CPU time (user, system) its processes used since the last cgroup_leaf_prepare(), in
 * microseconds, from its cpu.stat: -errno when it cannot be read. */
int cgroup_leaf_cpu_usec(const CgroupLeaf *l, uint64_t *ret_user, uint64_t *ret_system);
/* Whether any process is left in it. */
bool cgroup_leaf_populated(const CgroupLeaf *l);

/* The node's group's name under a hierarchy: "forkvisor-" and 16 hex digits of a hash of
 * identity. */
void cgroup_group_name(const char *identity, char *buf, size_t size);
/* A worker's cgroup name: its path with '/' as ':' (section names never contain ':' or start a
 * name like the kernel's own files). */
void cgroup_leaf_name(const char *path, char *buf, size_t size);
