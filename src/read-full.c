/* SPDX-License-Identifier: MIT */
#include "read-full.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "array.h"
#include "macro.h"

int read_full_fd(int fd, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, cap = 0;

        for (;;) {
                ssize_t n;

                /* Room for 4 KiB more at least, and the NUL. */
                if (ARRAY_GROW(buf, cap, size + 4096 + 1) < 0)
                        return -ENOMEM;
                n = read(fd, buf + size, cap - 1 - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max)
                        return -EFBIG;
        }
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}
