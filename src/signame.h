/* SPDX-License-Identifier: MIT */
/* Signals by name, as a configuration (stop_signal) and an operator (`forkvisor signal`) write
 * them. A leaf: pure functions. */
#pragma once

/* "TERM" for SIGTERM; NULL for 0, the real-time signals and beyond. */
const char *signal_name(int sig);
/* A number from 1 to SIGRTMAX, a name with or without SIG (any case), RTMIN+N or RTMAX-N;
 * else -EINVAL. */
int parse_signal(const char *v);
