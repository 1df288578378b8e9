/* SPDX-License-Identifier: MIT */
/* THE process record: one per incarnation of a worker, made when it is spawned and released
 * when it is reaped, and the one pid → record index that the reaper, the router (addressing by
 * pid, registry entries) and the commands all use. One insert and one remove per incarnation.
 * What outlives an incarnation (prepared argv, output pipe, cgroup, timer) is the child's
 * (child.c); what the mailbox holds is the router's Peer, which points back here. Later routes
 * (a direct channel between two workers, a process on another node) hang off this record too. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "idmap.h"

struct Node;
struct Peer;

typedef struct Proc {
        pid_t pid;
        uint64_t incarnation;      /* node-wide, never reused: tells incarnations of a pid apart */
        struct Node *node;         /* borrowed: the tree node it runs for */
        struct Peer *peer;         /* its mailbox, in the router; NULL once detached */
} Proc;

typedef struct ProcIndex {
        IdMap by_pid;
        uint64_t incarnations;     /* made so far */
} ProcIndex;

/* A record for pid, indexed: 0, -ENOMEM, -EEXIST (pid has a live record), -EINVAL (pid <= 0). */
int proc_new(ProcIndex *x, pid_t pid, struct Node *node, Proc **ret);
/* The live record of pid, or NULL. */
Proc *proc_get(const ProcIndex *x, pid_t pid);
/* Out of the index and freed (its peer must have been detached). Returns NULL. */
Proc *proc_release(ProcIndex *x, Proc *p);
size_t proc_count(const ProcIndex *x);
void proc_index_done(ProcIndex *x);
