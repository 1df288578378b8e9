/* SPDX-License-Identifier: MIT */
/* Redis pub/sub fan-out, the peer of forkvisor's in `make bench`: RESP spoken directly over a
 * socket (no hiredis), to a redis-server that bench/run.sh starts and stops.
 *
 *   redispub ADDR N SECONDS [REDIS_PID]
 *       ADDR is a unix socket path (with a '/') or HOST:PORT. Forks N subscribers, each of which
 *       connects, sends SUBSCRIBE bench and waits for its confirmation; once all N are
 *       subscribed, this process publishes: PUBLISH bench <64 bytes> pipelined, in batches of
 *       BATCH commands in one write with at most WINDOW outstanding (it reads the integer
 *       replies as they come), for SECONDS, then PUBLISH bench end. Each payload starts with its
 *       sequence number (8 bytes, from 1). A subscriber reads in large reads, walks the RESP
 *       arrays ("message", channel, payload), counts the messages, and the gaps in the sequence
 *       numbers (none expected: the output buffer limit of pubsub clients is off), and at "end"
 *       reports its count and the time.
 *   Prints "DELIVERED_PER_S REDIS_CPU_NS_PER_MSG PUBLISHED DELIVERED LOST WINDOW_NS": messages
 *   all subscribers counted / the window, from just before the first PUBLISH to the last
 *   subscriber's "end"; the server's CPU time over the same span (utime+stime of REDIS_PID from
 *   /proc, 0 without it) per delivered message; what was published and delivered, and the gaps.
 * Every child dies with its parent (PR_SET_PDEATHSIG) and is reaped before we exit. */
#include <inttypes.h>
#include <netdb.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "bench.h"

#define PAYLOAD 64
#define BATCH 128
#define WINDOW 512
#define RBUF (1 << 20)
#define MAX_SUBS 1000

static const char CMD_HEAD[] = "*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$64\r\n";
#define CMD_LEN (sizeof CMD_HEAD - 1 + PAYLOAD + 2)
/* What a subscriber receives for each 64-byte publication. */
static const char MSG_HEAD[] = "*3\r\n$7\r\nmessage\r\n$5\r\nbench\r\n$64\r\n";
#define MSG_LEN (sizeof MSG_HEAD - 1 + PAYLOAD + 2)

typedef struct Result {
        uint64_t count, t_end, lost;
} Result;

static int connect_to(const char *addr) {
        int fd;
        if (strchr(addr, '/')) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                if (strlen(addr) >= sizeof sa.sun_path)
                        die("%s: path too long", addr);
                strcpy(sa.sun_path, addr);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                        die("connect %s: %s", addr, strerror(errno));
                return fd;
        }
        char host[256];
        const char *colon = strrchr(addr, ':');
        if (!colon || (size_t) (colon - addr) >= sizeof host)
                die("%s: expected a socket path or HOST:PORT", addr);
        memcpy(host, addr, (size_t) (colon - addr));
        host[colon - addr] = '\0';
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
        int r = getaddrinfo(host, colon + 1, &hints, &ai);
        if (r != 0)
                die("%s: %s", addr, gai_strerror(r));
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
                die("connect %s: %s", addr, strerror(errno));
        freeaddrinfo(ai);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
}

static void write_all(int fd, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        die("write: %s", n < 0 ? strerror(errno) : "short write");
                p += n;
                len -= (size_t) n;
        }
}

/* ---- a minimal RESP reader: arrays of bulk strings, integers and simple strings -------------- */

typedef struct Item {
        const char *s[3]; /* the first three elements of an array (NULL for nil or a non-string) */
        size_t len[3];
        long n;           /* elements, or -1 when the item is not an array */
} Item;

/* A line "<c>...\r\n" at p: its number after the type byte, and where the next line starts;
 * NULL when incomplete. */
static const char *resp_line(const char *p, const char *end, long *ret) {
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        if (!nl)
                return NULL;
        *ret = strtol(p + 1, NULL, 10);
        return nl + 1;
}

/* Parses one item at p; returns where it ends, or NULL when it is incomplete. */
static const char *resp_item(const char *p, const char *end, Item *it) {
        long n;
        it->n = -1;
        if (p >= end)
                return NULL;
        if (*p != '*') { /* a simple string, an error or an integer */
                const char *q = resp_line(p, end, &n);
                if (q && (*p == '-'))
                        die("redis: %.*s", (int) (q - p - 2), p + 1);
                return q;
        }
        p = resp_line(p, end, &it->n);
        for (long i = 0; p && i < it->n; i++) {
                if (p >= end)
                        return NULL;
                char type = *p;
                const char *q = resp_line(p, end, &n);
                if (!q)
                        return NULL;
                if (i < 3)
                        it->s[i] = NULL;
                if (type == '$' && n >= 0) {
                        if (end - q < n + 2)
                                return NULL;
                        if (i < 3) {
                                it->s[i] = q;
                                it->len[i] = (size_t) n;
                        }
                        q += n + 2;
                }
                p = q;
        }
        return p;
}

static bool item_is(const Item *it, int i, const char *s) {
        return it->n > i && it->s[i] && it->len[i] == strlen(s) && memcmp(it->s[i], s, it->len[i]) == 0;
}

/* ---- subscriber ------------------------------------------------------------------------------- */

static void subscriber(const char *addr, int ready_fd, int result_fd) {
        static char buf[RBUF];
        size_t have = 0;
        bool subscribed = false;
        Result res = { 0 };
        uint64_t next = 1;
        int fd = connect_to(addr);

        write_all(fd, "*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nbench\r\n", 30);
        for (;;) {
                ssize_t n = read(fd, buf + have, sizeof buf - have);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        die("subscriber: read: %s", n < 0 ? strerror(errno) : "end of stream");
                have += (size_t) n;
                const char *p = buf, *end = buf + have;
                for (;;) {
                        /* The fast path: every publication has the same header. */
                        if ((size_t) (end - p) >= MSG_LEN && memcmp(p, MSG_HEAD, sizeof MSG_HEAD - 1) == 0) {
                                uint64_t seq;
                                memcpy(&seq, p + sizeof MSG_HEAD - 1, sizeof seq);
                                if (seq > next)
                                        res.lost += seq - next;
                                next = seq + 1;
                                res.count++;
                                p += MSG_LEN;
                                continue;
                        }
                        Item it;
                        const char *q = resp_item(p, end, &it);
                        if (!q)
                                break;
                        p = q;
                        if (item_is(&it, 0, "subscribe") && !subscribed) {
                                subscribed = true;
                                if (write(ready_fd, "r", 1) != 1)
                                        die("subscriber: ready pipe: %s", strerror(errno));
                                close(ready_fd); /* a subscriber that fails first ends the wait */
                        } else if (item_is(&it, 0, "message") && item_is(&it, 2, "end")) {
                                res.t_end = now_ns();
                                if (write(result_fd, &res, sizeof res) != sizeof res)
                                        die("subscriber: result pipe: %s", strerror(errno));
                                _exit(0);
                        } else if (item_is(&it, 0, "message")) {
                                res.count++; /* not 64 bytes: not ours, but counted as delivered */
                        }
                }
                have = (size_t) (end - p);
                memmove(buf, p, have);
                if (have == sizeof buf)
                        die("subscriber: an item larger than %d bytes", RBUF);
        }
}

/* ---- publisher -------------------------------------------------------------------------------- */

/* Reads integer replies: returns how many arrived (one '\n' each). */
static uint64_t read_replies(int fd) {
        static char buf[65536];
        uint64_t k = 0;
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) < 0 && errno == EINTR)
                ;
        if (n <= 0)
                die("publisher: read: %s", n < 0 ? strerror(errno) : "end of stream");
        for (const char *p = buf, *end = buf + n; (p = memchr(p, '\n', (size_t) (end - p))); p++)
                k++;
        if (buf[0] == '-')
                die("redis: %.*s", (int) (n > 200 ? 200 : n), buf);
        return k;
}

static uint64_t publish(int fd, double seconds) {
        static char batch[BATCH * CMD_LEN];
        uint64_t seq = 0, outstanding = 0, deadline = now_ns() + (uint64_t) (seconds * 1e9);

        for (int i = 0; i < BATCH; i++) {
                char *c = batch + (size_t) i * CMD_LEN;
                memcpy(c, CMD_HEAD, sizeof CMD_HEAD - 1);
                memset(c + sizeof CMD_HEAD - 1, 'x', PAYLOAD);
                memcpy(c + CMD_LEN - 2, "\r\n", 2);
        }
        while (now_ns() < deadline) {
                while (outstanding + BATCH > WINDOW)
                        outstanding -= read_replies(fd);
                for (int i = 0; i < BATCH; i++) {
                        seq++;
                        memcpy(batch + (size_t) i * CMD_LEN + sizeof CMD_HEAD - 1, &seq, sizeof seq);
                }
                write_all(fd, batch, sizeof batch);
                outstanding += BATCH;
        }
        static const char end[] = "*3\r\n$7\r\nPUBLISH\r\n$5\r\nbench\r\n$3\r\nend\r\n";
        write_all(fd, end, sizeof end - 1);
        outstanding++;
        while (outstanding > 0)
                outstanding -= read_replies(fd);
        return seq;
}

/* utime+stime of the server in ns; 0 when unknown. */
static uint64_t server_cpu_ns(int pid) {
        uint64_t v = 0;
        if (pid <= 0 || proc_cpu_ns(pid, &v, NULL) < 0)
                return 0;
        return v;
}

int main(int argc, char **argv) {
        if (argc < 4 || argc > 5)
                die("usage: redispub ADDR N SECONDS [REDIS_PID]");
        const char *addr = argv[1];
        int n = atoi(argv[2]);
        double seconds = atof(argv[3]);
        int redis = argc > 4 ? atoi(argv[4]) : 0;
        int ready[2], results[2];
        pid_t kids[MAX_SUBS], parent = getpid();

        if (n < 1 || n > MAX_SUBS)
                die("redispub: 1 to %d subscribers", MAX_SUBS);
        if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(results, O_CLOEXEC) < 0)
                die("pipe: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
                kids[i] = fork();
                if (kids[i] < 0)
                        die("fork: %s", strerror(errno));
                if (kids[i] == 0) {
                        prctl(PR_SET_PDEATHSIG, SIGKILL);
                        if (getppid() != parent)
                                _exit(1);
                        close(ready[0]);
                        close(results[0]);
                        subscriber(addr, ready[1], results[1]);
                        _exit(1);
                }
        }
        close(ready[1]);
        close(results[1]);
        for (int got = 0; got < n;) {
                char c[MAX_SUBS];
                ssize_t k = read(ready[0], c, sizeof c);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        die("redispub: a subscriber failed before subscribing");
                got += (int) k;
        }

        int fd = connect_to(addr);
        uint64_t t0 = now_ns(), cpu0 = server_cpu_ns(redis);
        uint64_t published = publish(fd, seconds);
        uint64_t delivered = 0, lost = 0, t_end = 0;
        for (int i = 0; i < n; i++) {
                Result r;
                ssize_t k;
                while ((k = read(results[0], &r, sizeof r)) < 0 && errno == EINTR)
                        ;
                if (k != sizeof r)
                        die("redispub: a subscriber failed before the end");
                delivered += r.count;
                lost += r.lost;
                if (r.t_end > t_end)
                        t_end = r.t_end;
        }
        uint64_t cpu = server_cpu_ns(redis) - cpu0;
        for (int i = 0; i < n; i++) {
                int st;
                if (waitpid(kids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        die("redispub: subscriber %d failed (status %#x)", (int) kids[i], st);
        }
        close(fd);
        double window = (double) (t_end - t0);
        printf("%.0f %.1f %" PRIu64 " %" PRIu64 " %" PRIu64 " %.0f\n", delivered * 1e9 / window,
               delivered ? (double) cpu / (double) delivered : 0.0, published, delivered, lost, window);
        return 0;
}
