/* SPDX-License-Identifier: MIT */
/* The bare floors of the messaging figures of `make bench`: the least that processes exchanging
 * 64-byte messages over AF_UNIX SOCK_SEQPACKET socketpairs can do on this machine, with no
 * forkvisor, no library and no framing checks.
 *
 *   msgfloor pingpong BATCHES CALLS
 *       two processes: A sends 64 B, B answers 64 B, blocking send/recv. A times BATCHES batches
 *       of CALLS round trips (after a warm-up) and prints the median ns per round trip.
 *   msgfloor relay BATCHES CALLS
 *       three processes A → hub → B → hub → A: the hub waits in epoll_wait (level-triggered) on
 *       its two sockets and forwards each record it receives with one send to the other side;
 *       A and B block in send/recv. Printed like pingpong.
 *   msgfloor cast SECONDS
 *       cast throughput through a hub, one send per message: a sender sends 64-byte records as
 *       fast as it can for SECONDS; the hub (epoll_wait, then recv until EAGAIN, one blocking
 *       send per record) forwards each to the receiver, which counts them until end of stream.
 *   msgfloor batch SECONDS
 *       the same with batched records: the sender packs 32 frames per record, each a 32-byte
 *       header + a 4-byte target + a 64-byte payload (the size forkvisor's wire gives a 64 B cast
 *       to a 4-letter name); the hub forwards whole records (chunks); the receiver walks the
 *       frames of each record by their length fields and counts them.
 *   msgfloor fanout N SECONDS
 *       pub/sub fan-out through a bare broker that writes whole chunks to each subscriber: the
 *       sender sends records of 32 frames as in batch, the hub joins the records that are there
 *       into one chunk (up to 64 KiB) and sends it to each of N receivers (one blocking send per
 *       chunk per receiver), each receiver counts
 *       the frames; prints "delivered_per_s hub_cpu_ns_per_delivered": all the receivers counted
 *       / the time from the sender's start to the last receiver's last frame.
 *   The two throughput modes print "msgs_per_s hub_cpu_ns_per_msg receiver_cpu_ns_per_msg
 *   sender_cpu_ns_per_msg": messages the receiver counted / time from its first to its last
 *   message, and each process's CPU time (getrusage, whole run) per message.
 * Every child dies with its parent (PR_SET_PDEATHSIG) and is reaped before we exit. */
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "bench.h"

#define PAYLOAD 64
#define FRAME (32 + 4 + PAYLOAD)
#define PER_RECORD 32
#define RECORD_MAX 65536

#define FANOUT_MAX 100

static pid_t kids[FANOUT_MAX + 2];
static int n_kids;
static int results_fd = -1; /* throughput: each side writes its figures here */
static int fan_out[FANOUT_MAX], n_fan_out; /* the fan-out hub's ends towards its receivers */

static bool kept(int fd) {
        for (int i = 0; i < n_fan_out; i++)
                if (fan_out[i] == fd)
                        return true;
        return false;
}

static pid_t child(void (*fn)(int, int), int a, int b) {
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(1);
                /* Only our own ends stay open: the peers must see end of stream. */
                for (int fd = 3; fd < 256; fd++)
                        if (fd != a && fd != b && fd != results_fd && !kept(fd))
                                close(fd);
                fn(a, b);
                _exit(0);
        }
        kids[n_kids++] = pid;
        return pid;
}

static void reap(void) {
        for (int i = 0; i < n_kids; i++) {
                int st;
                if (waitpid(kids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        die("child %d failed (status %#x)", (int) kids[i], st);
        }
        n_kids = 0;
}

static void pair(int sv[2]) {
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair: %s", strerror(errno));
}

static void xsend(int fd, const void *buf, size_t len) {
        for (;;) {
                ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
                if (n == (ssize_t) len)
                        return;
                if (n < 0 && errno == EINTR)
                        continue;
                die("send: %s", n < 0 ? strerror(errno) : "short");
        }
}

/* Blocking recv; 0 at end of stream. */
static ssize_t xrecv(int fd, void *buf, size_t len) {
        for (;;) {
                ssize_t n = recv(fd, buf, len, 0);
                if (n >= 0)
                        return n;
                if (errno != EINTR)
                        die("recv: %s", strerror(errno));
        }
}

static uint64_t cpu_ns(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
               (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n) {
        qsort(v, n, sizeof *v, cmp_u64);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- round trips ---------------------------------------------------------------------------- */

/* B: answers every record with the same bytes until end of stream. */
static void echo_side(int fd, int unused) {
        char buf[PAYLOAD * 2];
        ssize_t n;
        (void) unused;
        while ((n = xrecv(fd, buf, sizeof buf)) > 0)
                xsend(fd, buf, (size_t) n);
}

/* The hub of the relay: level-triggered epoll on a and b, one recv and one send per record. */
static void hub_side(int a, int b) {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = a };
        char buf[RECORD_MAX];

        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev) < 0)
                die("epoll: %s", strerror(errno));
        ev.data.fd = b;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev) < 0)
                die("epoll: %s", strerror(errno));
        for (;;) {
                struct epoll_event evs[2];
                int n = epoll_wait(ep, evs, 2, -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        die("epoll_wait: %s", strerror(errno));
                for (int i = 0; i < n; i++) {
                        int from = evs[i].data.fd, to = from == a ? b : a;
                        ssize_t k = recv(from, buf, sizeof buf, MSG_DONTWAIT);
                        if (k == 0)
                                return; /* A closed: the end */
                        if (k < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        continue;
                                die("hub recv: %s", strerror(errno));
                        }
                        xsend(to, buf, (size_t) k);
                }
        }
}

static void round_trips(int fd, int batches, int calls) {
        char msg[PAYLOAD], buf[PAYLOAD * 2];
        uint64_t *v = calloc((size_t) batches, sizeof *v);

        memset(msg, 'x', sizeof msg);
        for (int b = -1; b < batches; b++) { /* batch -1: warm-up */
                uint64_t t0 = now_ns();
                for (int i = 0; i < calls; i++) {
                        xsend(fd, msg, sizeof msg);
                        if (xrecv(fd, buf, sizeof buf) != PAYLOAD)
                                die("round trip: short answer");
                }
                if (b >= 0)
                        v[b] = (now_ns() - t0) / (uint64_t) calls;
                if (getenv("MSGFLOOR_VERBOSE") && b >= 0)
                        fprintf(stderr, " %llu", (unsigned long long) v[b]);
        }
        printf("%llu\n", (unsigned long long) median(v, (size_t) batches));
        free(v);
}

static void pingpong(int batches, int calls) {
        int sv[2];
        pair(sv);
        child(echo_side, sv[1], 0);
        close(sv[1]);
        round_trips(sv[0], batches, calls);
        close(sv[0]);
        reap();
}

static void relay(int batches, int calls) {
        int ah[2], hb[2];
        pair(ah);
        pair(hb);
        child(hub_side, ah[1], hb[0]);
        child(echo_side, hb[1], 0);
        close(ah[1]);
        close(hb[0]);
        close(hb[1]);
        round_trips(ah[0], batches, calls);
        close(ah[0]);
        reap();
}

/* ---- throughput ------------------------------------------------------------------------------ */

static int batched;
static double seconds;

struct side_report {
        char who; /* 's'ender, 'h'ub, 'r'eceiver */
        uint64_t count, cpu, t_first, t_last;
};

static void report(char who, uint64_t count, uint64_t t_first, uint64_t t_last) {
        struct side_report r = { who, count, cpu_ns(), t_first, t_last };
        if (write(results_fd, &r, sizeof r) != sizeof r)
                die("report: %s", strerror(errno));
}

/* A record of PER_RECORD frames with the layout of forkvisor's wire (lengths at 6 and 8). */
static size_t make_record(char *buf) {
        size_t off = 0;
        for (int i = 0; i < PER_RECORD; i++) {
                char *f = buf + off;
                memset(f, 0, 32);
                f[0] = 'F';
                f[1] = 'V';
                f[2] = 1;
                f[3] = 1;
                f[6] = 4;
                f[8] = PAYLOAD;
                memcpy(f + 32, "sink", 4);
                memset(f + 36, 'x', PAYLOAD);
                off += FRAME;
        }
        return off;
}

static void sender_side(int fd, int unused) {
        char buf[FRAME * PER_RECORD];
        size_t len = batched ? make_record(buf) : PAYLOAD;
        uint64_t sent = 0, t0 = now_ns(), end = t0 + (uint64_t) (seconds * 1e9);
        (void) unused;

        if (!batched)
                memset(buf, 'x', PAYLOAD);
        for (;;) {
                for (int i = 0; i < 64; i++) {
                        xsend(fd, buf, len);
                        sent += batched ? PER_RECORD : 1;
                }
                if (now_ns() >= end)
                        break;
        }
        shutdown(fd, SHUT_WR);
        report('s', sent, t0, 0);
}

/* epoll_wait, then every record that is there: recv, one blocking send to the receiver. */
static void cast_hub_side(int in, int out) {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = in };
        static char buf[RECORD_MAX];
        uint64_t records = 0;

        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev) < 0)
                die("epoll: %s", strerror(errno));
        for (;;) {
                int n = epoll_wait(ep, &ev, 1, -1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        die("epoll_wait: %s", strerror(errno));
                for (;;) {
                        ssize_t k = recv(in, buf, sizeof buf, MSG_DONTWAIT);
                        if (k == 0) {
                                shutdown(out, SHUT_WR);
                                report('h', records * (batched ? PER_RECORD : 1), 0, 0);
                                return;
                        }
                        if (k < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        break;
                                die("hub recv: %s", strerror(errno));
                        }
                        xsend(out, buf, (size_t) k);
                        records++;
                }
        }
}

static void receiver_side(int fd, int unused) {
        static char buf[RECORD_MAX];
        uint64_t count = 0, t_first = 0, t_last = 0;
        ssize_t n;
        (void) unused;

        while ((n = xrecv(fd, buf, sizeof buf)) > 0) {
                if (!t_first)
                        t_first = now_ns();
                if (batched) {
                        for (size_t off = 0; off + 32 <= (size_t) n;) {
                                const unsigned char *h = (const unsigned char *) buf + off;
                                off += 32 + ((size_t) h[6] | (size_t) h[7] << 8) +
                                       ((size_t) h[8] | (size_t) h[9] << 8 | (size_t) h[10] << 16 |
                                        (size_t) h[11] << 24);
                                count++;
                        }
                } else
                        count++;
                t_last = now_ns();
        }
        report('r', count, t_first, t_last);
}

static void throughput(double secs, int batch) {
        int sh[2], hr[2], res[2];
        struct side_report r[3], *snd = NULL, *hub = NULL, *rcv = NULL;

        seconds = secs;
        batched = batch;
        pair(sh);
        pair(hr);
        if (pipe2(res, O_CLOEXEC) < 0)
                die("pipe: %s", strerror(errno));
        results_fd = res[1];
        child(receiver_side, hr[1], 0);
        child(cast_hub_side, sh[1], hr[0]);
        child(sender_side, sh[0], 0);
        close(sh[0]);
        close(sh[1]);
        close(hr[0]);
        close(hr[1]);
        close(res[1]);
        for (int i = 0; i < 3; i++) {
                if (read(res[0], &r[i], sizeof r[i]) != sizeof r[i])
                        die("a side did not report");
                if (r[i].who == 's')
                        snd = &r[i];
                else if (r[i].who == 'h')
                        hub = &r[i];
                else
                        rcv = &r[i];
        }
        reap();
        if (!snd || !hub || !rcv || rcv->count == 0 || rcv->t_last <= rcv->t_first)
                die("throughput: incomplete reports");
        if (rcv->count != snd->count || hub->count != snd->count)
                die("throughput: sent %llu, forwarded %llu, received %llu", (unsigned long long) snd->count,
                    (unsigned long long) hub->count, (unsigned long long) rcv->count);
        double c = (double) rcv->count;
        printf("%.0f %.1f %.1f %.1f\n", c * 1e9 / (double) (rcv->t_last - rcv->t_first), (double) hub->cpu / c,
               (double) rcv->cpu / c, (double) snd->cpu / c);
}

/* The fan-out hub: a chunk of every record that is there (up to 64 KiB; a receiver walks the
 * frames by their lengths, so records may be joined), then that chunk to each receiver. */
static void fanout_hub_side(int in, int unused) {
        static char buf[RECORD_MAX];
        uint64_t frames = 0;
        ssize_t k;
        (void) unused;

        while ((k = xrecv(in, buf, sizeof buf)) > 0) {
                size_t len = (size_t) k;
                while (sizeof buf - len >= FRAME * PER_RECORD) {
                        k = recv(in, buf + len, sizeof buf - len, MSG_DONTWAIT);
                        if (k <= 0)
                                break; /* EAGAIN, or the end: seen by the next xrecv */
                        len += (size_t) k;
                }
                for (int i = 0; i < n_fan_out; i++)
                        xsend(fan_out[i], buf, len);
                frames += len / FRAME;
        }
        for (int i = 0; i < n_fan_out; i++)
                shutdown(fan_out[i], SHUT_WR);
        report('h', frames, 0, 0);
}

static void fanout(int n, double secs) {
        int sh[2], res[2], hr[FANOUT_MAX][2];
        uint64_t delivered = 0, t0 = 0, t_end = 0, hub_cpu = 0, sent = 0;

        if (n < 1 || n > FANOUT_MAX)
                die("fanout: 1 to %d receivers", FANOUT_MAX);
        seconds = secs;
        batched = 1;
        pair(sh);
        if (pipe2(res, O_CLOEXEC) < 0)
                die("pipe: %s", strerror(errno));
        results_fd = res[1];
        for (int i = 0; i < n; i++) {
                pair(hr[i]);
                child(receiver_side, hr[i][1], 0);
                close(hr[i][1]);
                fan_out[i] = hr[i][0];
        }
        n_fan_out = n; /* the hub keeps them (see child()), and only the hub */
        child(fanout_hub_side, sh[1], -1);
        n_fan_out = 0;
        for (int i = 0; i < n; i++)
                close(hr[i][0]);
        child(sender_side, sh[0], 0);
        close(sh[0]);
        close(sh[1]);
        close(res[1]);
        for (int i = 0; i < n + 2; i++) {
                struct side_report r;
                if (read(res[0], &r, sizeof r) != sizeof r)
                        die("a side did not report");
                if (r.who == 's') {
                        t0 = r.t_first;
                        sent = r.count;
                } else if (r.who == 'h')
                        hub_cpu = r.cpu;
                else {
                        delivered += r.count;
                        if (r.t_last > t_end)
                                t_end = r.t_last;
                }
        }
        reap();
        if (delivered != sent * (uint64_t) n || t_end <= t0)
                die("fanout: sent %llu to %d, delivered %llu", (unsigned long long) sent, n, (unsigned long long) delivered);
        printf("%.0f %.1f\n", (double) delivered * 1e9 / (double) (t_end - t0), (double) hub_cpu / (double) delivered);
}

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc == 4 && strcmp(argv[1], "pingpong") == 0)
                pingpong(atoi(argv[2]), atoi(argv[3]));
        else if (argc == 4 && strcmp(argv[1], "relay") == 0)
                relay(atoi(argv[2]), atoi(argv[3]));
        else if (argc == 3 && strcmp(argv[1], "cast") == 0)
                throughput(atof(argv[2]), 0);
        else if (argc == 3 && strcmp(argv[1], "batch") == 0)
                throughput(atof(argv[2]), 1);
        else if (argc == 4 && strcmp(argv[1], "fanout") == 0)
                fanout(atoi(argv[2]), atof(argv[3]));
        else {
                fprintf(stderr, "usage: msgfloor pingpong|relay BATCHES CALLS | msgfloor cast|batch SECONDS | msgfloor fanout N SECONDS\n");
                return 2;
        }
        return 0;
}
