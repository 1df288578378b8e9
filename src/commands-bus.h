/* SPDX-License-Identifier: MIT */
/* The operator commands that talk to workers (commands-bus.c); argv as commands.c checked it. */
#pragma once

#include "control.h"
#include "manager.h"

/* send NAME DATA */
void bus_send(Manager *m, ControlRequest *req, char **argv);
/* call NAME DATA TIMEOUT_MS */
void bus_call(Manager *m, ControlRequest *req, char **argv);
/* get-state NAME TIMEOUT_MS */
void bus_get_state(Manager *m, ControlRequest *req, char **argv);
/* publish TOPIC DATA */
void bus_publish(Manager *m, ControlRequest *req, char **argv);
/* subscribe PATTERN...: the connection becomes a stream */
void bus_subscribe(Manager *m, ControlRequest *req, char **argv);
/* events [SINCE] */
void bus_events(Manager *m, ControlRequest *req, char **argv);
void bus_events_cluster(Manager *m, ControlRequest *req, char **argv);
