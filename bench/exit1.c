/* SPDX-License-Identifier: MIT */
/* Crash-loop worker for `make bench`: exits with status 1 at once, a static equivalent of
 * `exit-with 1` without libc (bench/nolibc.h), so the children's CPU time in the crash loop is the
 * kernel's cost of one process (clone, execve, exit, reap) and nothing of a libc start-up. */
#include "nolibc.h"

__attribute__((used)) void start_c(long *sp) {
        (void) sp;
        nl_exit(1);
}
