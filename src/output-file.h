/* SPDX-License-Identifier: MIT */
/* A `file:` output that the node writes: the child's stdout/stderr go through an output pipe
 * (output.h) and the node appends what it reads here, whole lines at a time. Because the node
 * holds the descriptor, it can open the file again when it was moved (SIGUSR1, the logrotate
 * habit) and rotate it by size (log_max_bytes, log_backups: PATH → PATH.1 → ... PATH.N), which
 * it could not do to a descriptor the child holds. One OutputFile per path, shared by every
 * output that names it (a worker's stdout and stderr, the instances of a template), so two
 * writers never rotate one file each on their own. Writes never wait for anything but the disk:
 * a write that fails (a full disk) drops its line and counts it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct OutputFile OutputFile;

#define OUTPUT_FILE_MODE 0640

/* The file at path (absolute), opened for appending (created with OUTPUT_FILE_MODE), with one
 * more reference: the same object for the same path while it is referenced. 0 or -errno (the
 * open failed: nothing is referenced). */
int output_file_get(const char *path, OutputFile **ret);
/* Drops a reference; the last one closes the file. NULL. */
OutputFile *output_file_unref(OutputFile *f);

/* Rotation: before a line would take the file past max_bytes (0: never), PATH.N-1 becomes
 * PATH.N ... PATH becomes PATH.1 and PATH is made anew; backups 0 truncates PATH instead. The
 * last spawn that named the file sets it. */
void output_file_set_rotation(OutputFile *f, uint64_t max_bytes, unsigned backups);

/* Appends data[0..len) and, when nl, a newline: one piece of a line. A file is rotated only
 * between lines (never inside one), so one file exceeds max_bytes only by a line that alone is
 * longer. A write that fails drops the piece: counted, and said once until one succeeds. */
void output_file_write(OutputFile *f, const char *data, size_t len, bool nl);
/* Whole lines (data ends with a newline, len > 0): as many output_file_write() calls, in one
 * write when no rotation falls among them. */
void output_file_write_lines(OutputFile *f, const char *data, size_t len);

/* Every open file closed and opened again at its path (the old one was moved or removed). A
 * file that cannot be opened keeps its old descriptor, and the reason is logged. Returns how
 * many were reopened; *ret_failed how many were not. */
unsigned output_file_reopen_all(unsigned *ret_failed);

/* Pieces dropped since f was made (tests, and the reason in a log line). */
uint64_t output_file_dropped(const OutputFile *f);
