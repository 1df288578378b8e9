/* SPDX-License-Identifier: MIT */
/* A child's stdout/stderr when it goes to the log: a pipe whose read end the loop drains
 * without blocking, split into lines and tagged with the child's path. The pipe lives as long
 * as the tree node, so a restart reuses it instead of creating a new one. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

typedef struct OutputPipe OutputPipe;

/* tag and pid are borrowed and read at each line (the pid changes across restarts). */
int output_pipe_new(sd_event *e, const char *tag, const pid_t *pid, OutputPipe **ret);
OutputPipe *output_pipe_free(OutputPipe *o);
/* Logs what the pipe holds now, and a last line without its newline: called when the child
 * exited, before its exit is logged, so its last words come before the node's line about it. */
void output_pipe_drain(OutputPipe *o);
/* The end to hand to the child as fd 1 and/or 2. */
int output_pipe_fd(const OutputPipe *o);
