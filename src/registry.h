/* SPDX-License-Identifier: MIT */
/* The registry: names → process incarnations, in a sealed memfd that the node alone writes and
 * every child maps read-only (fd 4) and reads directly, without a message to the node.
 * Open addressing over 64-byte slots, each guarded by a sequence counter (a seqlock), so a
 * reader never returns a torn entry; deletions leave tombstones, and a rebuild (when they pile
 * up) is guarded by a table-wide counter. Shared by the node (writer) and libforkvisor
 * (reader); no I/O here but the memfd itself.
 *
 * Layout, little-endian, all counters C11 atomics:
 *   header, 64 bytes: u32 magic "FVRG", u32 version (1), u32 slot count (a power of two),
 *                     u32 slot size (64), u32 table sequence (odd while rebuilding), rest 0
 *   slot,   64 bytes: u32 sequence (odd while written), then 15 u32 words:
 *                     w0 = state (0 empty, 1 used, 2 deleted) | flags << 8 | name length << 16
 *                     w1 = pid, w2 = generation, w3..w14 = name bytes (at most 48) */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define REGISTRY_MAGIC 0x47525646u /* "FVRG" */
#define REGISTRY_VERSION 1u
#define REGISTRY_SLOT_SIZE 64u
#define REGISTRY_NAME_MAX 48u
/* A name as configured or registered: ".N" of a dynamic child still fits REGISTRY_NAME_MAX. */
#define REGISTRY_KEY_MAX 40u
#define REGISTRY_READ_RETRIES 64

#define REGISTRY_DUPLICATE 0x01u /* a duplicate key ("+group"): many holders */
/* A global name ([cluster], cluster-names.h) held by a process of this node. */
#define REGISTRY_GLOBAL 0x02u
/* A global name held on another node: the entry's name is "NAME@NODE", its key NAME (no name
 * holds '@'), its pid and generation the holder's on NODE, never a pid of this node. */
#define REGISTRY_REMOTE 0x04u

typedef struct RegistryEntry {
        pid_t pid;
        uint32_t generation;
        unsigned flags;
        char name[REGISTRY_NAME_MAX + 1];
} RegistryEntry;

typedef struct RegistryView {
        const void *base;          /* the mapping */
        size_t size;
        uint32_t slots;
} RegistryView;

/* Reader side. Checks the header of a mapping of `size` bytes: -EPROTONOSUPPORT for a layout
 * we do not know, -EBADMSG for a damaged one. */
int registry_view_init(RegistryView *v, const void *base, size_t size);
/* Looks NAME up: 1 and *ret for the first holder, 0 if nobody holds it, -EBUSY when the
 * writer kept changing what we read for REGISTRY_READ_RETRIES tries. */
int registry_lookup(const RegistryView *v, const char *name, RegistryEntry *ret);
/* Every holder of NAME (duplicate keys): calls fn for each, returns how many or -EBUSY. */
int registry_lookup_all(const RegistryView *v, const char *name, void (*fn)(const RegistryEntry *e, void *ud),
                        void *ud);
/* Every entry of the table, in slot order. */
int registry_list(const RegistryView *v, void (*fn)(const RegistryEntry *e, void *ud), void *ud);

/* Writer side (the node). */
typedef struct Registry Registry;

/* A table for at least `capacity` names. */
int registry_new(unsigned capacity, Registry **ret);
Registry *registry_free(Registry *r);
/* A read-only fd of the sealed table, to hand to children as fd 4. */
int registry_reader_fd(const Registry *r);
const RegistryView *registry_view(const Registry *r);

/* -EEXIST: a unique name already held (or held as the other kind); -ENOSPC: the table is full;
 * -EINVAL: a name that does not fit. A duplicate key may be held by many pids, once each. With
 * REGISTRY_REMOTE, name is "NAME@NODE" and NAME is the key looked up and compared. */
int registry_add(Registry *r, const char *name, pid_t pid, uint32_t generation, unsigned flags);
/* Removes NAME's entry of pid: 0, or -ENOENT. */
int registry_remove(Registry *r, const char *name, pid_t pid);
/* Removes every entry of pid, scanning the whole table; returns how many. (The node removes a
 * terminated process's names one by one with registry_remove, which only walks their chains.) */
int registry_remove_pid(Registry *r, pid_t pid);

/* A registry name (SPEC 6.3): 1..REGISTRY_KEY_MAX printable ASCII characters, no whitespace,
 * not only digits (that is a pid). The leading '+' of a duplicate key is not part of it. */
bool registry_name_is_valid(const char *name);
