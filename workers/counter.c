/* SPDX-License-Identifier: MIT */
/* Example and test worker: a counter GenServer on fv_server_run(). Casts "inc" and "add N" change
 * the count, the call "get" returns it, get-state prints "count=N"; anything else is refused
 * (a call answers "error: ...", a cast is ignored). The same program is the example of
 * forkvisor(3). Usage: counter [START] */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forkvisor.h"
#include "markers.h"

struct counter {
        int64_t count;
};

static ssize_t counter_call(struct fv *fv, void *state, const struct fv_message *msg, void *reply, size_t size) {
        struct counter *c = state;
        if (strcmp(msg->payload, "get") == 0)
                return snprintf(reply, size, "%" PRId64, c->count);
        return snprintf(reply, size, "error: unknown call '%.64s'", msg->payload);
}

static int counter_cast(struct fv *fv, void *state, const struct fv_message *msg) {
        struct counter *c = state;
        char *end;
        if (strcmp(msg->payload, "inc") == 0)
                c->count++;
        else if (strncmp(msg->payload, "add ", 4) == 0) {
                long long n = strtoll(msg->payload + 4, &end, 10);
                if (end != msg->payload + 4 && *end == '\0')
                        c->count += n;
        }
        return 0;
}

static ssize_t counter_format_state(struct fv *fv, void *state, char *buf, size_t size) {
        struct counter *c = state;
        return snprintf(buf, size, "count=%" PRId64, c->count);
}

static void counter_terminate(struct fv *fv, void *state, int reason) {
        struct counter *c = state;
        if (reason < 0)
                fprintf(stderr, "counter: stopping at count=%" PRId64 ": %s\n", c->count, strerror(-reason));
}

int main(int argc, char **argv) {
        static const struct fv_server_callbacks callbacks = {
                .handle_call = counter_call,
                .handle_cast = counter_cast,
                .terminate = counter_terminate,
                .format_state = counter_format_state,
        };
        struct counter c = { .count = argc > 1 ? strtoll(argv[1], NULL, 10) : 0 };
        int r;

        record_pid(getpid());
        mark_started();
        r = fv_server_run(&callbacks, &c);
        if (r == -ENOENT) {
                fprintf(stderr, "counter: not inside a forkvisor worker (FORKVISOR_MAILBOX is not set)\n");
                return 2;
        }
        return r < 0 ? 1 : 0;
}
