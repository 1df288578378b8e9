/* SPDX-License-Identifier: MIT */
/* Operator holds kept across restarts of the daemon, as runit's and s6's `down` files: one file
 * per child stopped with `forkvisor stop`, in the node's state_dir, named by its path encoded
 * (held_encode). Written on stop, removed on start and restart; read when a node is made. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct HeldDir HeldDir;

/* A child's path as one file name: every byte outside [a-z0-9_-] and '.' (not first) becomes
 * %XX, so "app/web" is "app%2Fweb". A path has no '%' of its own (names are [a-z0-9_-]), but any
 * text encodes to a name without '/' that never begins with '.' (our temporary files do).
 * -ENAMETOOLONG when it does not fit in size (NAME_MAX + 1 is the most that is useful). */
int held_encode(const char *path, char *buf, size_t size);
/* The reverse: -EINVAL for a name held_encode() does not make (a stranger's file). */
int held_decode(const char *name, char *buf, size_t size);

/* dir made when missing (mode 0700) and checked as the control socket's directory is: ours,
 * not a symlink, closed to group and others. -EPERM (logged) when it breaks the rules. */
int held_dir_open(const char *dir, HeldDir **ret);
HeldDir *held_dir_free(HeldDir *h);
const char *held_dir_path(const HeldDir *h);

/* Is path held? A file that cannot be read is not a hold (logged). */
bool held_is_held(HeldDir *h, const char *path);
/* Keeps (held) or forgets the hold of path, durably: written to a temporary file, fsynced,
 * renamed, and the directory fsynced; removal is fsynced too. 0 or -errno (nothing logged: the
 * caller tells the operator). A local file of a few bytes: a short block, as s6's and runit's. */
int held_set(HeldDir *h, const char *path, bool held);
/* Logs every hold whose path is not in the tree (is_known false), once per path over the
 * life of h: a configuration that lost a child leaves its file, which is ignored. */
void held_check_stale(HeldDir *h, bool (*is_known)(const char *path, void *ud), void *ud);
