/* SPDX-License-Identifier: MIT */
/* A process's CPU time from /proc/PID/stat, for a worker without a cgroup (`info`, status
 * --json): its own and that of the children it has waited for, as times(2) counts them. A leaf. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* From the text of a /proc/PID/stat: utime + cutime and stime + cstime, in clock ticks. The
 * name in parentheses may hold anything, spaces and ')' too: the fields are counted from the
 * last ')'. -EINVAL when the text is not such a line. */
int proc_stat_parse_cpu(const char *text, uint64_t *ret_user_ticks, uint64_t *ret_system_ticks);

/* The CPU time (user, system) of pid in microseconds: -errno when it cannot be read (gone). */
int proc_stat_cpu_usec(pid_t pid, uint64_t *ret_user, uint64_t *ret_system);
