/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the control request decoder: any packet a client can send. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *argv[CTL_ARGS_MAX + 1];
        if (size > CTL_REQUEST_MAX)
                return 0;
        /* An exact-size copy, so ASan sees any read past the packet. */
        char *buf = malloc(size ? size : 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        CtlHeader h;
        int n = ctl_decode_request(buf, size, argv, CTL_ARGS_MAX, &h);
        for (int i = 0; i < n; i++)
                (void) strlen(argv[i]);
        free(buf);
        return 0;
}
