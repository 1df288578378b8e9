/* SPDX-License-Identifier: MIT */
/* The floor of the remote call in `make bench`: a bare libnats request/reply between two
 * processes, on the nats-server that bench/run.sh starts for the cluster rows, with the same
 * 64-byte payload as bench/fvmsg's caller. libnats as it comes: default options, its own
 * threads (the reader, the flusher, a subscription's delivery thread, the requests' reply
 * subscription), except where a mode says otherwise. MODE is one of:
 *     asap      natsOptions_SetSendAsap() on both sides: every publish is written at once, in
 *               the caller's thread. The floor of the table: the fastest bare request/reply.
 *     defaults  libnats' defaults: a publish made in a subscription's callback (the responder's
 *               reply) waits for the flusher thread, which yields ~1 ms before it writes.
 *
 *   natsfloor responder MODE URL SUBJECT
 *       subscribes to SUBJECT with a callback that publishes every message's data back to its
 *       reply subject; once the server has the subscription (a flush), prints "ready" on stdout;
 *       then waits until SIGTERM or SIGINT.
 *   natsfloor requester MODE URL SUBJECT BATCHES CALLS
 *       after a warm-up batch, BATCHES batches of CALLS natsConnection_Request()s of 64 B to
 *       SUBJECT (5 s timeout each), checking every reply; prints "call MEDIAN_NS_PER_CALL" and
 *       every batch's ns per call after it, as fvmsg's caller does.
 * Exits 1 on any libnats error, with the call and the error on stderr. */
#include <inttypes.h>
#include <signal.h>

#include <nats/nats.h>

#include "bench.h"

#define PAYLOAD 64

static void check(const char *what, natsStatus s) {
        if (s != NATS_OK)
                die("natsfloor: %s: %s", what, natsStatus_GetText(s));
}

static void connect_to(natsConnection **nc, const char *mode, const char *url) {
        natsOptions *o = NULL;

        if (strcmp(mode, "asap") != 0 && strcmp(mode, "defaults") != 0)
                die("natsfloor: MODE is asap or defaults, not %s", mode);
        check("natsOptions_Create", natsOptions_Create(&o));
        check("natsOptions_SetURL", natsOptions_SetURL(o, url));
        if (strcmp(mode, "asap") == 0)
                check("natsOptions_SetSendAsap", natsOptions_SetSendAsap(o, true));
        check("natsConnection_Connect", natsConnection_Connect(nc, o));
        natsOptions_Destroy(o);
}

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
        (void) sub;
        (void) closure;
        const char *reply = natsMsg_GetReply(msg);
        if (reply)
                check("natsConnection_Publish", natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg)));
        natsMsg_Destroy(msg);
}

static int responder(const char *mode, const char *url, const char *subject) {
        natsConnection *nc = NULL;
        natsSubscription *sub = NULL;
        sigset_t set;
        int sig;

        /* Blocked before libnats starts its threads, so that they inherit the mask and the
         * signal waits for sigwait() here. */
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        connect_to(&nc, mode, url);
        check("natsConnection_Subscribe", natsConnection_Subscribe(&sub, nc, subject, on_request, NULL));
        check("natsConnection_Flush", natsConnection_Flush(nc));
        printf("ready\n");
        fflush(stdout);
        sigwait(&set, &sig);
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
        natsConnection_Destroy(nc);
        nats_Close();
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static int requester(const char *mode, const char *url, const char *subject, int batches, int calls) {
        natsConnection *nc = NULL;
        char msg[PAYLOAD];
        uint64_t *v, *sorted;

        if (batches < 1 || calls < 1)
                die("natsfloor: BATCHES and CALLS must be at least 1");
        v = calloc((size_t) batches, sizeof *v);
        sorted = calloc((size_t) batches, sizeof *v);
        if (!v || !sorted)
                die("natsfloor: out of memory");
        memset(msg, 'x', sizeof msg);
        connect_to(&nc, mode, url);
        for (int b = -1; b < batches; b++) { /* -1: warm-up */
                uint64_t t0 = now_ns();
                for (int i = 0; i < calls; i++) {
                        natsMsg *reply = NULL;
                        check("natsConnection_Request", natsConnection_Request(&reply, nc, subject, msg, sizeof msg, 5000));
                        if (natsMsg_GetDataLength(reply) != PAYLOAD || memcmp(natsMsg_GetData(reply), msg, PAYLOAD) != 0)
                                die("natsfloor: unexpected reply (%d bytes)", natsMsg_GetDataLength(reply));
                        natsMsg_Destroy(reply);
                }
                if (b >= 0)
                        v[b] = (now_ns() - t0) / (uint64_t) calls;
        }
        memcpy(sorted, v, (size_t) batches * sizeof *v);
        qsort(sorted, (size_t) batches, sizeof *v, cmp_u64);
        printf("call %" PRIu64, batches % 2 ? sorted[batches / 2] : (sorted[batches / 2 - 1] + sorted[batches / 2]) / 2);
        for (int b = 0; b < batches; b++)
                printf(" %" PRIu64, v[b]);
        printf("\n");
        natsConnection_Destroy(nc);
        nats_Close();
        free(v);
        free(sorted);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 5 && strcmp(argv[1], "responder") == 0)
                return responder(argv[2], argv[3], argv[4]);
        if (argc == 7 && strcmp(argv[1], "requester") == 0)
                return requester(argv[2], argv[3], argv[4], atoi(argv[5]), atoi(argv[6]));
        fprintf(stderr, "usage: natsfloor responder MODE URL SUBJECT | requester MODE URL SUBJECT BATCHES CALLS\n"
                        "       (MODE: asap or defaults)\n");
        return 2;
}
