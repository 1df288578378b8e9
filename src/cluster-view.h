/* SPDX-License-Identifier: MIT */
/* The cluster as the operator sees it (`forkvisor cluster`, the "cluster" of `status --json`):
 * this node's name, state, server and counters, and the other nodes heard. */
#pragma once

#include <stdbool.h>

#include "cluster.h"
#include "control.h"

/* c NULL (no [cluster]): JSON null. */
void cluster_view_json(ControlRequest *req, const Cluster *c);
void cluster_view_text(ControlRequest *req, const Cluster *c);
