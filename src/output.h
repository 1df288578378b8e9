/* SPDX-License-Identifier: MIT */
/* A child's stdout/stderr when it goes to the log: a pipe whose read end the loop drains
 * without blocking, split into lines and tagged with the child's path. The pipe lives as long
 * as the tree node, so a restart reuses it instead of creating a new one. A `file:` output of a
 * regular file goes through such a pipe too, its lines written to the file by the node
 * (output-file.h), so that the node can reopen and rotate it. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "output-file.h"

typedef struct OutputPipe OutputPipe;

/* tag and pid are borrowed and read at each line (the pid changes across restarts). */
int output_pipe_new(sd_event *e, const char *tag, const pid_t *pid, OutputPipe **ret);
/* A pipe whose lines go to f, whose reference it takes. */
int output_pipe_new_file(sd_event *e, OutputFile *f, OutputPipe **ret);
/* Takes the reference f and writes to it from now on (the same file, or another one after a
 * reload: what the pipe still holds goes to the old one first). */
void output_pipe_set_file(OutputPipe *o, OutputFile *f);
OutputPipe *output_pipe_free(OutputPipe *o);
/* Logs what the pipe holds now, and a last line without its newline: called when the child
 * exited, before its exit is logged, so its last words come before the node's line about it. */
void output_pipe_drain(OutputPipe *o);
/* The end to hand to the child as fd 1 and/or 2. */
int output_pipe_fd(const OutputPipe *o);
