/* SPDX-License-Identifier: MIT */
/* The operator commands the daemon serves on its control socket. */
#pragma once

#include "control.h"
#include "manager.h"

typedef struct Commands Commands;

int commands_new(Commands **ret);
/* Starts observing the tree of m (for waiters). */
void commands_attach(Commands *c, Manager *m);
/* A ControlHandler; ud is the Commands. */
void commands_handle(void *ud, ControlRequest *req, int argc, char **argv);
/* Drops every waiter without answering; free this before the manager. */
Commands *commands_free(Commands *c);
