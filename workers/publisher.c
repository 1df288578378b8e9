/* SPDX-License-Identifier: MIT */
/* Test worker: reports ready, publishes COUNT messages on TOPIC ("1", "2", ...; padded with '.'
 * to SIZE bytes when SIZE is given), then waits until its mailbox closes. COUNT 0 publishes
 * forever (a flood). Usage: publisher TOPIC COUNT [SIZE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forkvisor.h"
#include "markers.h"

int main(int argc, char **argv) {
        struct fv *fv = NULL;
        struct fv_message m;
        static char payload[FV_PAYLOAD_MAX];

        if (argc < 3) {
                fprintf(stderr, "usage: publisher TOPIC COUNT [SIZE]\n");
                return 2;
        }
        unsigned long count = strtoul(argv[2], NULL, 10);
        size_t size = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
        if (size > sizeof payload)
                size = sizeof payload;
        mark_started();
        if (fv_open(0, &fv) < 0 || fv_ready(fv) < 0)
                return 1;
        for (unsigned long i = 1; count == 0 || i <= count; i++) {
                int n = snprintf(payload, sizeof payload, "%lu", i);
                size_t len = (size_t) n;
                if (size > len) {
                        memset(payload + len, '.', size - len);
                        len = size;
                }
                if (fv_publish(fv, argv[1], payload, len) < 0)
                        return 1;
                if (i % 64 == 0 && fv_flush(fv) < 0)
                        return 1;
        }
        if (fv_flush(fv) < 0)
                return 1;
        while (fv_recv(fv, -1, &m) >= 0)
                ;
        fv_close(fv);
        return 0;
}
