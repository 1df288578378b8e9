/* SPDX-License-Identifier: MIT */
/* The subcommands, one function each: argv[0] is the subcommand's name. Each returns the exit
 * status of SPEC 1 (0 ok, 1 failed, 2 usage or configuration, 3 no daemon). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_USAGE 2
#define EXIT_NO_DAEMON 3

/* "forkvisor --control PATH COMMAND": the control socket for any command (NULL if not given). */
extern const char *arg_control;

int verb_run(int argc, char **argv);
int verb_check(int argc, char **argv);
/* Every subcommand that is answered by the daemon over the control socket. */
int verb_control(int argc, char **argv);
/* Prints each message of a subscription stream (fd, after CTL_STREAM) as a line, until count
 * messages (0: no limit) or the deadline (CLOCK_MONOTONIC ms; < 0: none). numbered: the messages
 * are events, whose "seq" must go up by one (else exit 1: some were lost). Exit status. */
int stream_print(int fd, unsigned long count, int64_t deadline_ms, bool numbered);
/* The live view of the tree (src/cli/top.c). */
int verb_top(int argc, char **argv);
/* ready, recv, reply, monitor inside a worker; send and call there too, else verb_control. */
int verb_worker(int argc, char **argv);

/* The control socket to talk to: given (a --control option after the subcommand), else the global
 * --control, else $FORKVISOR_CONTROL, else the default path; *ret_free owns that one. NULL, after
 * a message on stderr, when there is none. */
const char *client_control_path(const char *given, char **ret_free);
/* Sends one request to the daemon at path and writes its answer's text to out, and the daemon's
 * errors and our own (one line each, "forkvisor: ..." ) to err. Returns the exit status: the
 * daemon's, or EXIT_NO_DAEMON when it cannot be reached. */
int client_transact(const char *path, char *const *req, bool eof_is_success, FILE *out, FILE *err);
