/* SPDX-License-Identifier: MIT */
/* Encoding and decoding of control requests; every length is checked before use. */
#include "ctlproto.h"

#include <errno.h>
#include <string.h>

int ctl_encode_request(char *const *argv, char *buf, size_t size) {
        size_t len = sizeof CTL_TAG;
        if (size < len)
                return -E2BIG;
        memcpy(buf, CTL_TAG, sizeof CTL_TAG);
        for (size_t i = 0; argv[i]; i++) {
                size_t l = strlen(argv[i]) + 1;
                if (i >= CTL_ARGS_MAX)
                        return -E2BIG;
                if (l > size - len)
                        return -E2BIG;
                memcpy(buf + len, argv[i], l);
                len += l;
        }
        return (int) len;
}

int ctl_decode_request(char *buf, size_t len, char **argv, size_t max) {
        if (len < sizeof CTL_TAG || memcmp(buf, CTL_TAG, sizeof CTL_TAG) != 0)
                return -EBADMSG;
        /* Every string must be terminated inside the packet. */
        if (buf[len - 1] != '\0')
                return -EBADMSG;
        size_t n = 0;
        for (size_t off = sizeof CTL_TAG; off < len;) {
                if (n >= max)
                        return -EBADMSG;
                argv[n++] = buf + off;
                off += strlen(buf + off) + 1;
        }
        return (int) n;
}
