/* SPDX-License-Identifier: MIT */
/* Reading a whole descriptor into memory, bounded: a configuration file, an env_file. A leaf. */
#pragma once

#include <stddef.h>

/* Everything FD has until its end, NUL-terminated, grown as it comes (a small file costs a
 * small buffer): 0, -EFBIG past MAX bytes, -ENOMEM, or read(2)'s -errno. */
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_size);
