/* SPDX-License-Identifier: MIT */
/* The forkvisor workers of the messaging figures of `make bench`, on libforkvisor (linked from
 * build/libforkvisor.a). Each writes its figures as one line to the file $FV_BENCH_OUT (appended
 * in one write), then waits in fv_recv() until the node stops it.
 *
 *   fvmsg echo
 *       a GenServer (fv_server_run) whose handle_call answers with the call's own payload.
 *   fvmsg caller TARGET BATCHES CALLS
 *       after a warm-up batch, BATCHES batches of CALLS fv_call()s of 64 B to TARGET; writes
 *       "call MEDIAN_NS_PER_CALL" and every batch's ns per call after it.
 *   fvmsg sink
 *       counts the casts it receives (fv_recv); at the cast "end" writes
 *       "sink COUNT NS NODE_CPU_NS SINK_CPU_NS": casts counted (the "end" one excluded), time
 *       from the first to the "end", and the CPU time the node (our parent, /proc) and this
 *       process spent in that time. 3 s without a cast once counting stand for a lost "end"
 *       (dropped at the full mailbox): the line then ends at the last cast.
 *   fvmsg sender TARGET SECONDS
 *       fv_cast()s 64 B to TARGET as fast as it can for SECONDS (the library flushes its record
 *       when it is full, and at the end), then casts "end"; writes "sender COUNT CPU_NS". Each
 *       payload starts with its sequence number (8 bytes, from 1).
 *   fvmsg flood PEER [WINDOW]
 *       for ever: WINDOW fv_cast()s of 64 B to PEER, then wait for WINDOW messages from it
 *       (fv_recv flushes before it waits); without WINDOW (or 0), 1024 fv_cast()s, then every
 *       message that is there (fv_recv with timeout 0, which also flushes). Two of these flood
 *       each other through the node.
 *   fvmsg publisher TOPIC SECONDS
 *       fv_publish()es 64 B on TOPIC as fast as it can for SECONDS (0: for ever), each payload
 *       starting with its sequence number (8 bytes, from 1), then publishes "end"; writes
 *       "pub COUNT T0_NS NODE_CPU_NS": what it published (the "end" excluded), CLOCK_MONOTONIC
 *       just before the first, and the node's CPU time then.
 *   fvmsg subscriber
 *       counts what is published on the topics of its configuration (`subscribe = ...`) with
 *       fv_recv(); at "end" writes "sub COUNT T_NS NODE_CPU_NS LOST CPU_NS": messages counted,
 *       CLOCK_MONOTONIC and the node's CPU time at the "end", the gaps in the sequence numbers
 *       (publications that never arrived: dropped at a full mailbox), and its own CPU time since
 *       its first message. Once counting has begun, 3 s without a message stand for a lost
 *       "end": the line is then written with the time of the last message and LOST + 1.
 *   fvmsg lookup LOCAL GLOBAL
 *       101 passes, each timing 10000 fv_whereis_node()s of LOCAL (a name of this node), then
 *       10000 of GLOBAL (a global name held on another node, mirrored into this node's
 *       registry), each checked; writes "lookup LOCAL_NS GLOBAL_NS", the medians per lookup.
 * With FV_BENCH_GO set in its environment, a caller or a publisher waits for a cast "go" before it
 * starts, and after its line waits for the next "go" and measures again (the cluster rows of
 * bench/run.sh run them on nodes that stay up from run to run, once the cluster is ready). A
 * publisher's "go RATE" paces it at RATE publications per second (flushed every 64, then a sleep
 * until the next are due) instead of as fast as it can.
 * Exits 1 on any library error, with the call and the error on stderr. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "forkvisor.h"

#define PAYLOAD 64

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t self_cpu_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* utime+stime of PID in ns (clock ticks), from /proc/PID/stat. */
static uint64_t proc_cpu_ns(pid_t pid) {
        char path[64], buf[2048];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return 0;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        unsigned long long ut = 0, st = 0;
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return 0;
        return (ut + st) * (1000000000ULL / (uint64_t) sysconf(_SC_CLK_TCK));
}

static _Noreturn void fail(const char *what, int r) {
        fprintf(stderr, "fvmsg: %s: %s\n", what, strerror(-r));
        exit(1);
}

static void out_line(const char *line) {
        const char *path = getenv("FV_BENCH_OUT");
        if (!path)
                return;
        FILE *f = fopen(path, "ae");
        if (!f) {
                fprintf(stderr, "fvmsg: %s: %s\n", path, strerror(errno));
                exit(1);
        }
        fputs(line, f);
        fclose(f);
}

/* After the work: receive (and ignore) until the node closes the mailbox or kills us. */
static int idle(struct fv *fv) {
        struct fv_message m;
        int r;
        while ((r = fv_recv(fv, FV_INFINITY, &m)) >= 0)
                ;
        fv_close(fv);
        return r == -EPIPE ? 0 : 1;
}

static struct fv *open_ready(void) {
        struct fv *fv;
        int r = fv_open(0, &fv);
        if (r < 0)
                fail("fv_open", r);
        r = fv_ready(fv);
        if (r < 0)
                fail("fv_ready", r);
        return fv;
}

/* Whether to measure (again): with FV_BENCH_GO, once a cast "go" or "go RATE" came (false: the
 * mailbox ended), RATE in *rate (0 without); without FV_BENCH_GO, the first time only. */
static bool go(struct fv *fv, bool *first, double *rate) {
        struct fv_message m;
        int r;

        *rate = 0;
        if (!getenv("FV_BENCH_GO")) {
                bool once = *first;
                *first = false;
                return once;
        }
        while ((r = fv_recv(fv, FV_INFINITY, &m)) >= 0) {
                char arg[32] = "";
                if (m.kind != FV_CAST || m.payload_len < 2 || memcmp(m.payload, "go", 2) != 0 ||
                    (m.payload_len > 2 && (m.payload_len > 2 + sizeof arg - 1 || ((const char *) m.payload)[2] != ' ')))
                        continue;
                if (m.payload_len > 2) {
                        memcpy(arg, (const char *) m.payload + 3, m.payload_len - 3);
                        *rate = atof(arg);
                }
                return true;
        }
        if (r != -EPIPE)
                fail("fv_recv", r);
        return false;
}

/* ---- echo ---------------------------------------------------------------------------------- */

static ssize_t echo_call(struct fv *fv, void *state, const struct fv_message *msg, void *reply, size_t size) {
        (void) fv;
        (void) state;
        size_t n = msg->payload_len < size ? msg->payload_len : size;
        memcpy(reply, msg->payload, n);
        return (ssize_t) n;
}

static int echo(void) {
        static const struct fv_server_callbacks cb = { .handle_call = echo_call };
        int r = fv_server_run(&cb, NULL);
        if (r < 0)
                fail("fv_server_run", r);
        return 0;
}

/* ---- caller -------------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* After a warm-up batch, BATCHES batches of CALLS calls; writes their median and every batch. */
static void call_batches(struct fv *fv, const char *target, int batches, int calls) {
        char msg[PAYLOAD];
        uint64_t v[batches], sorted[batches];

        memset(msg, 'x', sizeof msg);
        for (int b = -1; b < batches; b++) { /* -1: warm-up */
                uint64_t t0 = now_ns();
                for (int i = 0; i < calls; i++) {
                        struct fv_message m;
                        int r = fv_call(fv, target, msg, sizeof msg, 5000, &m);
                        if (r < 0)
                                fail("fv_call", r);
                        if (m.kind != FV_REPLY || m.payload_len != PAYLOAD || memcmp(m.payload, msg, PAYLOAD) != 0) {
                                fprintf(stderr, "fvmsg: fv_call: unexpected answer (kind %d, %zu bytes)\n",
                                        (int) m.kind, m.payload_len);
                                exit(1);
                        }
                }
                if (b >= 0)
                        v[b] = (now_ns() - t0) / (uint64_t) calls;
        }
        memcpy(sorted, v, (size_t) batches * sizeof *v);
        qsort(sorted, (size_t) batches, sizeof *v, cmp_u64);
        uint64_t med = batches % 2 ? sorted[batches / 2] : (sorted[batches / 2 - 1] + sorted[batches / 2]) / 2;
        char line[4096];
        int n = snprintf(line, sizeof line, "call %" PRIu64, med);
        for (int b = 0; b < batches && n < (int) sizeof line - 32; b++)
                n += snprintf(line + n, sizeof line - (size_t) n, " %" PRIu64, v[b]);
        snprintf(line + n, sizeof line - (size_t) n, "\n");
        out_line(line);
}

static int caller(const char *target, int batches, int calls) {
        struct fv *fv = open_ready();
        bool first = true;
        double rate;

        if (batches < 1 || batches > 1000 || calls < 1)
                fail("caller: BATCHES (1 to 1000) and CALLS (from 1)", -EINVAL);
        while (go(fv, &first, &rate))
                call_batches(fv, target, batches, calls);
        return idle(fv);
}

/* ---- registry lookups --------------------------------------------------------------------- */

#define LOOKUP_PASSES 101
#define LOOKUPS 10000

/* ns per fv_whereis_node() of name over LOOKUPS; remote: whether it must be held on another node. */
static uint64_t time_lookups(struct fv *fv, const char *name, bool remote) {
        char node[64];
        pid_t pid;
        uint64_t t0 = now_ns();

        for (int i = 0; i < LOOKUPS; i++) {
                int r = fv_whereis_node(fv, name, &pid, node, sizeof node);
                if (r == -EBUSY)
                        continue;
                if (r < 0)
                        fail("fv_whereis_node", r);
                if ((node[0] != '\0') != remote) {
                        fprintf(stderr, "fvmsg: %s is held %s\n", name, remote ? "here" : "on another node");
                        exit(1);
                }
        }
        return (now_ns() - t0) / LOOKUPS;
}

static int lookup(const char *local, const char *global) {
        struct fv *fv = open_ready();
        uint64_t l[LOOKUP_PASSES], g[LOOKUP_PASSES];
        bool first = true;
        double rate;

        while (go(fv, &first, &rate)) {
                for (int p = 0; p < LOOKUP_PASSES; p++) {
                        l[p] = time_lookups(fv, local, false);
                        g[p] = time_lookups(fv, global, true);
                }
                qsort(l, LOOKUP_PASSES, sizeof *l, cmp_u64);
                qsort(g, LOOKUP_PASSES, sizeof *g, cmp_u64);
                char line[128];
                snprintf(line, sizeof line, "lookup %" PRIu64 " %" PRIu64 "\n", l[LOOKUP_PASSES / 2], g[LOOKUP_PASSES / 2]);
                out_line(line);
        }
        return idle(fv);
}

/* ---- sink and sender -------------------------------------------------------------------------- */

static int sink(void) {
        struct fv *fv = open_ready();
        uint64_t count = 0, t0 = 0, t_last = 0, node0 = 0, cpu0 = 0;
        pid_t node = getppid();

        for (;;) {
                struct fv_message m;
                /* Once counting, 3 s of silence (-ETIMEDOUT) stand for an "end" lost to the full
                 * mailbox (the node drops casts there, the last one too): the line is written with
                 * the time of the last cast, as the subscriber does. */
                int r = fv_recv(fv, t0 ? 3000 : FV_INFINITY, &m);
                if (r == -EPIPE)
                        break;
                if (r < 0 && r != -ETIMEDOUT)
                        fail("fv_recv", r);
                if (r >= 0 && m.kind != FV_CAST)
                        continue;
                if (r >= 0 && count == 0 && t0 == 0) {
                        t0 = now_ns();
                        node0 = proc_cpu_ns(node);
                        cpu0 = self_cpu_ns();
                }
                if (r == -ETIMEDOUT || (m.payload_len == 3 && memcmp(m.payload, "end", 3) == 0)) {
                        uint64_t t = r == -ETIMEDOUT ? t_last : now_ns();
                        uint64_t dt = t - t0, node_cpu = proc_cpu_ns(node) - node0, cpu = self_cpu_ns() - cpu0;
                        char line[256];
                        snprintf(line, sizeof line, "sink %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", count,
                                 dt, node_cpu, cpu);
                        out_line(line);
                        count = 0;
                        t0 = 0;
                        continue;
                }
                count++;
                if (fv_pending(fv) == 0) /* the last of a record: one clock read per record */
                        t_last = now_ns();
        }
        fv_close(fv);
        return 0;
}

/* Casts or publishes 64 B to target as fast as it can (or at rate per second, when > 0) for
 * seconds (<= 0: for ever), each payload starting with its sequence number (8 bytes, from 1),
 * then "end"; flushes; returns how many (the "end" excluded). */
static uint64_t blast(struct fv *fv, const char *target, double seconds, bool publish, double rate) {
        const char *what = publish ? "fv_publish" : "fv_cast";
        char msg[PAYLOAD];
        uint64_t seq = 0, t0 = now_ns(), end = t0 + (uint64_t) (seconds * 1e9);
        int r;

        memset(msg, 'x', sizeof msg);
        do {
                if (rate > 0 && seq % 64 == 0) {
                        uint64_t due = t0 + (uint64_t) ((double) seq * 1e9 / rate), t = now_ns();
                        if (due > t) {
                                r = fv_flush(fv);
                                if (r < 0)
                                        fail("fv_flush", r);
                                struct timespec ts = { .tv_sec = (time_t) ((due - t) / 1000000000ULL),
                                                       .tv_nsec = (long) ((due - t) % 1000000000ULL) };
                                nanosleep(&ts, NULL);
                        }
                }
                for (int i = 0; i < (rate > 0 ? 64 : 256); i++) {
                        seq++;
                        memcpy(msg, &seq, sizeof seq);
                        r = publish ? fv_publish(fv, target, msg, sizeof msg) : fv_cast(fv, target, msg, sizeof msg);
                        if (r < 0)
                                fail(what, r);
                }
        } while (seconds <= 0 || now_ns() < end);
        r = publish ? fv_publish(fv, target, "end", 3) : fv_cast(fv, target, "end", 3);
        if (r >= 0)
                r = fv_flush(fv);
        if (r < 0)
                fail(what, r);
        return seq;
}

static int sender(const char *target, double seconds) {
        struct fv *fv = open_ready();
        uint64_t cpu0 = self_cpu_ns(), sent = blast(fv, target, seconds, false, 0);
        char line[128];
        snprintf(line, sizeof line, "sender %" PRIu64 " %" PRIu64 "\n", sent, self_cpu_ns() - cpu0);
        out_line(line);
        return idle(fv);
}

/* ---- publisher and subscriber ---------------------------------------------------------------- */

static int publisher(const char *topic, double seconds) {
        struct fv *fv = open_ready();
        bool first = true;
        double rate;

        while (go(fv, &first, &rate)) {
                uint64_t t0 = now_ns(), node0 = proc_cpu_ns(getppid()), n = blast(fv, topic, seconds, true, rate);
                char line[128];
                snprintf(line, sizeof line, "pub %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", n, t0, node0);
                out_line(line);
        }
        return idle(fv);
}

static int subscriber(void) {
        struct fv *fv = open_ready();
        uint64_t count = 0, next = 1, lost = 0, t_last = 0, cpu0 = 0;
        pid_t node = getppid();

        for (;;) {
                struct fv_message m;
                int r = fv_recv(fv, count ? 3000 : FV_INFINITY, &m);
                if (r == -EPIPE)
                        break;
                if (r < 0 && r != -ETIMEDOUT)
                        fail("fv_recv", r);
                bool end = r == -ETIMEDOUT || (m.payload_len == 3 && memcmp(m.payload, "end", 3) == 0);
                if (r >= 0 && m.kind != FV_INFO)
                        continue;
                if (end) {
                        if (r >= 0)
                                t_last = now_ns();
                        char line[256];
                        snprintf(line, sizeof line, "sub %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                                 count, t_last, proc_cpu_ns(node), lost + (r == -ETIMEDOUT), self_cpu_ns() - cpu0);
                        out_line(line);
                        count = lost = 0;
                        next = 1;
                        continue;
                }
                if (count++ == 0)
                        cpu0 = self_cpu_ns();
                uint64_t seq;
                if (m.payload_len >= sizeof seq) {
                        memcpy(&seq, m.payload, sizeof seq);
                        if (seq > next)
                                lost += seq - next;
                        next = seq + 1;
                }
                if (fv_pending(fv) == 0) /* the last of a record: one clock read per record */
                        t_last = now_ns();
        }
        fv_close(fv);
        return 0;
}

/* ---- flood --------------------------------------------------------------------------------- */

static int flood(const char *peer, int window) {
        struct fv *fv = open_ready();
        char msg[PAYLOAD];

        memset(msg, 'x', sizeof msg);
        for (;;) {
                for (int i = 0; i < (window ? window : 1024); i++) {
                        int r = fv_cast(fv, peer, msg, sizeof msg);
                        if (r < 0)
                                fail("fv_cast", r);
                }
                /* window: wait for as many from the peer (fv_recv flushes before it waits);
                 * else take whatever is there. */
                for (int got = 0; !window || got < window; got++) {
                        struct fv_message m;
                        int r = fv_recv(fv, window ? FV_INFINITY : 0, &m);
                        if (r == -EAGAIN) /* timeout 0: nothing there */
                                break;
                        if (r == -EPIPE)
                                return 0;
                        if (r < 0)
                                fail("fv_recv", r);
                }
        }
}

int main(int argc, char **argv) {
        if (argc == 2 && strcmp(argv[1], "echo") == 0)
                return echo();
        if (argc == 5 && strcmp(argv[1], "caller") == 0)
                return caller(argv[2], atoi(argv[3]), atoi(argv[4]));
        if (argc == 2 && strcmp(argv[1], "sink") == 0)
                return sink();
        if (argc == 4 && strcmp(argv[1], "sender") == 0)
                return sender(argv[2], atof(argv[3]));
        if ((argc == 3 || argc == 4) && strcmp(argv[1], "flood") == 0)
                return flood(argv[2], argc == 4 ? atoi(argv[3]) : 0);
        if (argc == 4 && strcmp(argv[1], "publisher") == 0)
                return publisher(argv[2], atof(argv[3]));
        if (argc == 2 && strcmp(argv[1], "subscriber") == 0)
                return subscriber();
        if (argc == 4 && strcmp(argv[1], "lookup") == 0)
                return lookup(argv[2], argv[3]);
        fprintf(stderr, "usage: fvmsg echo | caller TARGET BATCHES CALLS | sink | sender TARGET SECONDS | flood PEER [WINDOW]\n"
                        "       | publisher TOPIC SECONDS | subscriber | lookup LOCAL GLOBAL\n");
        return 2;
}
