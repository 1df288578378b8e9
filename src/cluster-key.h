/* SPDX-License-Identifier: MIT */
/* Global names in JetStream KV (forkvisor-cluster(7), cluster-names.h): pure mappings, no I/O.
 * The bucket of a cluster is "PREFIX-names" (a prefix is already made of [A-Za-z0-9_-], what a
 * bucket name allows, so the mapping is one to one). A name is a key: the bytes A-Z, a-z, 0-9,
 * '_' and '-' as they are, every other byte as '=' and two upper-case hex digits (so '.', which
 * would split the key's subject, '/' and '=' itself are escaped too): "db.main" is "db=2Emain".
 * A value is the text "1 NODE PID INCARNATION TTL_MS": the format's version, the holder, and how
 * long the key lives unless its holder refreshes it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "registry.h"
#include "spec.h"

/* An encoded key is at most three bytes per byte of the name. */
#define CLUSTER_KEY_MAX (3 * REGISTRY_KEY_MAX)
#define CLUSTER_BUCKET_MAX (CLUSTER_NAME_MAX + 6)
#define CLUSTER_VALUE_MAX (2 + CLUSTER_NAME_MAX + 3 * 21)

typedef struct NameValue {
        char node[CLUSTER_NAME_MAX + 1];
        pid_t pid;
        uint32_t incarnation;
        uint32_t ttl_ms;
} NameValue;

/* "PREFIX-names" in buf (size n): 0, or -EINVAL (no prefix name) / -ENOBUFS. */
int cluster_bucket_name(const char *prefix, char *buf, size_t n);
/* name (a registry name: registry_name_is_valid(), no '+') as a key: 0, or -EINVAL, -ENOBUFS. */
int cluster_key_encode(const char *name, char *buf, size_t n);
/* A key back to its name: 0, or -EINVAL (not one cluster_key_encode() makes: the name would not
 * be valid, an escape that is not needed or not two upper-case hex digits) / -ENOBUFS. */
int cluster_key_decode(const char *key, char *buf, size_t n);
/* v as text in buf (size n): its length, or -EINVAL / -ENOBUFS. */
int cluster_value_encode(const NameValue *v, char *buf, size_t n);
/* 0, or -EBADMSG: another version, a node that is no node name, a pid or number out of range. */
int cluster_value_decode(const void *data, size_t len, NameValue *ret);
