/* SPDX-License-Identifier: MIT */
/* The subcommands, one function each: argv[0] is the subcommand's name. Each returns the exit
 * status of SPEC 1 (0 ok, 1 failed, 2 usage or configuration, 3 no daemon). */
#pragma once

#include <stdint.h>

#define EXIT_USAGE 2
#define EXIT_NO_DAEMON 3

/* "forkvisor --control PATH COMMAND": the control socket for any command (NULL if not given). */
extern const char *arg_control;

int verb_run(int argc, char **argv);
int verb_check(int argc, char **argv);
/* Every subcommand that is answered by the daemon over the control socket. */
int verb_control(int argc, char **argv);
/* Prints each message of a subscription stream (fd, after CTL_STREAM) as a line, until count
 * messages (0: no limit) or the deadline (CLOCK_MONOTONIC ms; < 0: none). Exit status. */
int stream_print(int fd, unsigned long count, int64_t deadline_ms);

/* ready, recv, reply, monitor inside a worker; send and call there too, else verb_control. */
int verb_worker(int argc, char **argv);
