/* SPDX-License-Identifier: MIT */
/* The node's figures for monitoring, in Prometheus' text format (metrics-text.h): served by
 * `forkvisor metrics` on the control socket, and written to [forkvisor] metrics_file every
 * metrics_interval for node_exporter's textfile collector. */
#pragma once

#include "control.h"
#include "manager.h"

typedef struct Metrics Metrics;

/* 0 or -ENOMEM. */
int metrics_new(Manager *m, Metrics **ret);
/* Arms the metrics_file timer on m's loop once it exists (manager_run makes it); nothing when
 * it is armed already. The file is written only while the configuration in force names one: a
 * reload may add it, move it or take it away. */
void metrics_start(Metrics *x);
Metrics *metrics_free(Metrics *x);
/* Every family, as the reply to req (not finished). */
void metrics_reply(Metrics *x, ControlRequest *req);
