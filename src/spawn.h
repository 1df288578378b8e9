/* SPDX-License-Identifier: MIT */
/* Starts one process from a fully prepared request: clean signal state, its own session, the
 * fd plan, limits, credentials, parent-death signal, exec. Knows nothing of the tree. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* fds 0..5: stdin, stdout, stderr, mailbox, registry, and the notify socket for a child of
 * another user (NOTIFY_SOCKET=/proc/self/fd/5; closed in every other child). */
#define SPAWN_FD_COUNT 6
#define SPAWN_FD_NOTIFY 5
/* Socket activation: up to this many listening sockets go on fds 3.. (SD_LISTEN_FDS_START), and
 * fds 3..5 above move up past them. */
#define SPAWN_LISTEN_MAX 16

typedef enum SpawnStage {
        SPAWN_STAGE_NONE,
        SPAWN_STAGE_CLONE,
        SPAWN_STAGE_CGROUP,
        SPAWN_STAGE_FDS,
        SPAWN_STAGE_RLIMIT,
        SPAWN_STAGE_NICE,
        SPAWN_STAGE_OOM_SCORE_ADJ,
        SPAWN_STAGE_IOPRIO,
        SPAWN_STAGE_CPU_AFFINITY,
        SPAWN_STAGE_CHDIR,
        SPAWN_STAGE_GROUPS,
        SPAWN_STAGE_GID,
        SPAWN_STAGE_UID,
        SPAWN_STAGE_NPROC,
        SPAWN_STAGE_PDEATHSIG,
        SPAWN_STAGE_EXEC,
        _SPAWN_STAGE_MAX,
} SpawnStage;

typedef struct SpawnRequest {
        char *const *argv;           /* argv[0] is the program; searched in PATH if it has no '/' */
        char *const *envp;
        const char *directory;       /* NULL: keep the daemon's */
        int fds[SPAWN_FD_COUNT];     /* what becomes fd 0..5; -1 leaves that fd closed */
        const int *listen_fds;       /* what becomes fd 3..3+n_listen_fds-1; fds[3..5] then become
                                      * 3+n_listen_fds..5+n_listen_fds */
        size_t n_listen_fds;         /* at most SPAWN_LISTEN_MAX */
        bool listen_pid;             /* sets LISTEN_PID to the child's own pid in its environment */
        int umask;                   /* -1: inherit */
        bool nice_set;
        int nice;
        bool oom_score_adj_set;
        int oom_score_adj;
        int ioprio;                  /* 0: inherit; else ioprio_set(2)'s value */
        const uint64_t *cpu_affinity; /* NULL: inherit; else a mask of cpu_affinity_size bytes */
        size_t cpu_affinity_size;
        const bool *limit_set;       /* NULL or an array of n_limits */
        const struct rlimit *limit;
        const int *limit_resource;   /* RLIMIT_* for each index */
        size_t n_limits;
        bool set_groups;             /* setgroups(n_groups, groups) before setgid */
        const gid_t *groups;
        size_t n_groups;
        bool set_gid;
        gid_t gid;
        bool set_uid;
        uid_t uid;
        int cgroup_fd;               /* -1, or the cgroup v2 directory the process starts in
                                      * (clone3 CLONE_INTO_CGROUP: it never runs outside it) */
        const int *cgroup_procs;     /* v1 cgroup.procs files the process moves itself into first */
        size_t n_cgroup_procs;
        char *pid_digits;            /* NULL, or room in one of envp's strings (SPAWN_PID_DIGITS
                                      * long) where the child writes its own pid before exec:
                                      * only it knows it in time (WATCHDOG_PID) */
} SpawnRequest;

/* What pid_digits is made of: room for any pid (pid_max is at most 2^22). */
#define SPAWN_PID_DIGITS "0000000000"

/* Starts the process. Returns 0 and its pid once exec has succeeded, or a negative errno with
 * *ret_stage saying which step failed (the process is then already reaped). */
int spawn_process(const SpawnRequest *req, pid_t *ret_pid, SpawnStage *ret_stage);

const char *spawn_stage_to_string(SpawnStage s);

/* Where to find a program named without '/': resolves it once against PATH so the spawn path
 * does no search (execve, not execvp, in the child). Returns a new string or NULL. */
char *spawn_find_program(const char *name);
