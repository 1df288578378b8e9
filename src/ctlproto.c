/* SPDX-License-Identifier: MIT */
/* Encoding and decoding of control requests; every length is checked before use. */
#include "ctlproto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CTL_DEADLINE_KEY "deadline="

static int put_string(char *buf, size_t size, size_t *len, const char *s) {
        size_t l = strlen(s) + 1;
        if (l > size - *len)
                return -E2BIG;
        memcpy(buf + *len, s, l);
        *len += l;
        return 0;
}

int ctl_encode_request(char *const *argv, const CtlHeader *h, char *buf, size_t size) {
        size_t len = 0;
        if (size < sizeof CTL_TAG)
                return -E2BIG;
        (void) put_string(buf, size, &len, h ? CTL_TAG_V2 : CTL_TAG);
        if (h) {
                if (h->deadline_usec > 0) {
                        char field[sizeof CTL_DEADLINE_KEY + 20];
                        snprintf(field, sizeof field, CTL_DEADLINE_KEY "%" PRIu64, h->deadline_usec);
                        if (put_string(buf, size, &len, field) < 0)
                                return -E2BIG;
                }
                if (put_string(buf, size, &len, "") < 0)
                        return -E2BIG;
        }
        for (size_t i = 0; argv[i]; i++) {
                if (i >= CTL_ARGS_MAX)
                        return -E2BIG;
                if (put_string(buf, size, &len, argv[i]) < 0)
                        return -E2BIG;
        }
        return (int) len;
}

/* A decimal number of µs, digits only, without overflow and not 0 (0 means "none"). */
static int parse_usec(const char *s, uint64_t *ret) {
        uint64_t v = 0;
        if (!*s)
                return -EBADMSG;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EBADMSG;
                uint64_t digit = (uint64_t) (*s - '0');
                if (v > (UINT64_MAX - digit) / 10)
                        return -EBADMSG;
                v = v * 10 + digit;
        }
        if (v == 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int ctl_decode_request(char *buf, size_t len, char **argv, size_t max, CtlHeader *h) {
        CtlHeader header = { .version = 1 };
        size_t off = sizeof CTL_TAG;

        if (len < sizeof CTL_TAG)
                return -EBADMSG;
        if (memcmp(buf, CTL_TAG_V2, sizeof CTL_TAG_V2) == 0)
                header.version = 2;
        else if (memcmp(buf, CTL_TAG, sizeof CTL_TAG) != 0)
                return -EBADMSG;
        /* Every string must be terminated inside the packet. */
        if (buf[len - 1] != '\0')
                return -EBADMSG;
        if (header.version == 2) {
                /* Fields up to the empty string that ends the header; the header must end. */
                for (;;) {
                        if (off >= len)
                                return -EBADMSG;
                        const char *f = buf + off;
                        off += strlen(f) + 1;
                        if (!*f)
                                break;
                        if (!strchr(f, '='))
                                return -EBADMSG;
                        if (strncmp(f, CTL_DEADLINE_KEY, strlen(CTL_DEADLINE_KEY)) == 0 &&
                            parse_usec(f + strlen(CTL_DEADLINE_KEY), &header.deadline_usec) < 0)
                                return -EBADMSG;
                }
        }
        size_t n = 0;
        while (off < len) {
                if (n >= max)
                        return -EBADMSG;
                argv[n++] = buf + off;
                off += strlen(buf + off) + 1;
        }
        if (h)
                *h = header;
        return (int) n;
}
