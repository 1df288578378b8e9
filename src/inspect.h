/* SPDX-License-Identifier: MIT */
/* What the operator reads of one node or of the tree (`forkvisor status`, `tree`, `info`), as
 * text for people and as JSON for scripts: the same facts in both. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "control.h"
#include "manager.h"
#include "tree.h"

/* One row per node under n (n first): a table, or a JSON object, {"seq": seq, "processes": [rows]}
 * (seq: the last event's sequence number). */
void inspect_status(ControlRequest *req, Node *n, bool json, uint64_t seq, const Cluster *cluster);
/* The tree under root: drawn with its branches, or as one nested JSON object. */
void inspect_tree(ControlRequest *req, Node *root, bool json);
/* Everything known of n: "key: value" lines, or one JSON object. */
void inspect_info(ControlRequest *req, Manager *m, Node *n, bool json);
/* The node has a process or a start under way now: its uptime counts from n->started_at. */
bool inspect_has_uptime(const Node *n);
/* The resident memory of pid from /proc, in kB; -1 when it cannot be read. */
long inspect_rss_kb(pid_t pid);
