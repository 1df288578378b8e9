/* SPDX-License-Identifier: MIT */
/* Pub/sub topics as NATS subjects, and the header a federated publication carries
 * (forkvisor-cluster(7)). Pure functions, for the unit tests as well.
 *
 * A topic is any 1-255 printable bytes; a NATS subject is '.'-separated tokens whose wildcards
 * ('*' one token, '>' the rest) match whole tokens only. So a topic becomes one token per byte
 * after PREFIX.pub, then an end token "%":
 *
 *     orders:eu   ->  PREFIX.pub.o.r.d.e.r.s.:.e.u.%
 *     orders:*    ->  PREFIX.pub.o.r.d.e.r.s.:.>
 *     *           ->  PREFIX.pub.>
 *
 * A letter, digit, '_', '-' or ':' is its own token; any other byte is "%XX" (two upper-case hex
 * digits), so '.', '*', '>' and '%' never reach the subject as themselves. The end token makes
 * an exact topic match only itself, and lets a prefix pattern (a '>' after the prefix's
 * tokens) match the prefix alone as well: the server sends a node exactly the topics its
 * patterns match, at the price of a deeper subject tree in the server. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "topic.h"

/* Room for any topic's or pattern's subject after a prefix of plen bytes, with its NUL. */
#define CLUSTER_SUBJECT_SIZE(plen) ((plen) + sizeof ".pub" + 4 * TOPIC_MAX + sizeof ".%")

/* The subject of a topic (a valid topic) or pattern (a valid pattern: a topic, or a prefix and
 * '*') after prefix, into buf (NUL-terminated). Its length, -EINVAL for a bad topic or pattern,
 * -ENOBUFS when it does not fit. */
int cluster_subject_of_topic(const char *prefix, const char *topic, size_t len, char *buf, size_t size);
int cluster_subject_of_pattern(const char *prefix, const char *pattern, size_t len, char *buf, size_t size);
/* The topic a subject after prefix stands for, into buf (TOPIC_MAX + 1 bytes at least,
 * NUL-terminated): its length, or -EINVAL when the subject is no topic's. */
int cluster_subject_to_topic(const char *prefix, const char *subject, char *buf, size_t size);

/* A batch of federated publications on one subject: "NODE BOOT SEQ\n", then each publication as
 * its length (4 bytes, little-endian) and its data. NODE publishes, BOOT (hex) tells one run of
 * it from the next, SEQ (decimal, from 1) numbers the first publication and the others follow
 * it: the receiver drops what it has had already (a publication two of its patterns match) and
 * its own. A node sends the publications of one subject that follow each other in one message,
 * so the servers and the receivers pay per batch, not per publication. */
#define CLUSTER_HEADER_MAX (64 + 1 + 16 + 1 + 20 + 1)

typedef struct ClusterHeader {
        const char *node;       /* in the message, not NUL-terminated */
        size_t node_len;
        uint64_t boot, seq;
        size_t data_offset;     /* where the data starts */
} ClusterHeader;

/* Into buf (CLUSTER_HEADER_MAX bytes): its length, or -EINVAL for a node name too long. */
int cluster_header_format(char *buf, size_t size, const char *node, uint64_t boot, uint64_t seq);
/* 0, or -EINVAL when msg does not start with a header. */
int cluster_header_parse(const char *msg, size_t len, ClusterHeader *ret);

/* The length before each publication of a batch. */
#define CLUSTER_RECORD_HEADER 4
/* Appends a publication of len bytes at buf + *off (room checked by the caller). */
void cluster_record_put(char *buf, size_t *off, const void *data, size_t len);
/* The publication at msg + *off (len bytes in all): 1 with *data, *data_len and *off past it; 0
 * at the end; -EINVAL when a length overruns the message. */
int cluster_record_next(const char *msg, size_t len, size_t *off, const char **data, size_t *data_len);
