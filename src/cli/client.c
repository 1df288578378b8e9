/* SPDX-License-Identifier: MIT */
/* The client side of the operator subcommands: parse options, send one request on the control
 * socket, print what comes back, exit with the status the daemon chose. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "control-path.h"
#include "ctlproto.h"
#include "macro.h"
#include "time-util.h"

/* How long a client waits for the daemon. A stopped or wedged daemon must not hang a script: every
 * command has a deadline by which the daemon must take the request (answer CTL_ACCEPT), sent
 * along with it so that the daemon, when it reads the request too late, does not carry it out. */
typedef enum Patience {
        PATIENCE_QUICK,        /* answered at once: --timeout (default 5 s) bounds the whole command */
        PATIENCE_OPERATION,    /* returns once the tree got there: --timeout bounds the whole command;
                                * without it, 5 s for the daemon to take it, then as long as it takes */
        PATIENCE_OWN_TIMEOUT,  /* wait, call, get-state: --timeout is the daemon's (SPEC 1); the daemon
                                * takes it within that timeout (1 s to 5 s), then answers within the
                                * timeout plus a margin */
        PATIENCE_STREAM,       /* subscribe, events: --timeout is the stream's; taken as above */
} Patience;

#define CLIENT_DEADLINE_DEFAULT_MS 5000u
/* The least time the daemon has to take a request whose own --timeout is shorter. */
#define CLIENT_DEADLINE_MIN_MS 1000u
/* What an answer may come after a timeout the daemon keeps itself (its timer, then the reply). */
#define CLIENT_DEADLINE_MARGIN_MS 5000u
/* The daemon's own default for call and get-state without --timeout (router.c). */
#define CLIENT_CALL_TIMEOUT_DEFAULT_MS 5000u

typedef struct ClientVerb {
        const char *name;
        const char *usage;
        const char *help;
        int min_pos, max_pos;  /* positional arguments; -1 = any number */
        Patience patience;
        const char *options;   /* the short names (client_options) of the options it takes, beside
                                * --help, --control and --timeout, which every verb takes */
} ClientVerb;

static const ClientVerb client_verbs[] = {
        { "status", "[PATH] [--json] [--timeout MS]", "One row per process: path, kind, state, pid, restarts, uptime, last exit.", 0, 1, PATIENCE_QUICK, "j" },
        { "tree", "[--json] [--timeout MS]", "The supervision tree with states and pids.", 0, 0, PATIENCE_QUICK, "j" },
        { "info", "PATH [--json] [--timeout MS]", "Details of one process.", 1, 1, PATIENCE_QUICK, "j" },
        { "start", "PATH [--timeout MS]", "Start a stopped child (worker or subtree); returns once it is running.", 1, 1, PATIENCE_OPERATION, "" },
        { "stop", "PATH [--timeout MS]", "Stop a child and keep it stopped; returns once it is down.", 1, 1, PATIENCE_OPERATION, "" },
        { "restart", "PATH [--timeout MS]", "Stop and start a child; returns once it is running again.", 1, 1, PATIENCE_OPERATION, "" },
        { "start-child", "[--timeout MS] SUP [ARG...]", "Start one more child of a simple_one_for_one supervisor; prints its path.", 1, -1, PATIENCE_OPERATION, "" },
        { "terminate-child", "PATH [--timeout MS]", "Stop a dynamic child and forget it.", 1, 1, PATIENCE_OPERATION, "" },
        { "scale", "SUP N [--timeout MS]",
          "Stop the highest-numbered instances of a simple_one_for_one supervisor, or start new ones\n"
          "under the lowest free numbers, until it runs N; returns once it does.", 2, 2, PATIENCE_OPERATION, "" },
        { "wait", "[PATH] [--state STATE] [--restarts N] [--pid-not PID] [--timeout MS]",
          "Wait until PATH (default: the whole tree) is in STATE (default: running). With --restarts,\n"
          "until it is running and ready with at least N restarts; with --pid-not, until it is running\n"
          "and ready in a process other than PID. Waits for the daemon to come up first, if it is not\n"
          "there yet (within the timeout; 5 s without one).", 0, 1, PATIENCE_OWN_TIMEOUT, "srp" },
        { "signal", "PATH SIG [--timeout MS]",
          "Send signal SIG (HUP, SIGHUP or a number) to the process of worker PATH, or to every running\n"
          "worker under supervisor PATH, through the daemon: never to a pid that was reused.", 2, 2, PATIENCE_QUICK, "" },
        { "shutdown", "[--timeout MS]", "Stop the whole tree in order; returns when the daemon has exited.", 0, 0, PATIENCE_OPERATION, "" },
        { "reload", "[--timeout MS]",
          "Read the configuration again and apply the difference; returns once it has been applied.\n"
          "Exit status: 0 applied; 1 refused or something failed to start; 2 the configuration is\n"
          "invalid (every problem printed as FILE:LINE: message, nothing changed).", 0, 0, PATIENCE_OPERATION, "" },
        { "whereis", "NAME [--all] [--timeout MS]", "Print the pid registered under NAME (all pids with --all).", 1, 1, PATIENCE_QUICK, "a" },
        { "registry", "[--json] [--timeout MS]", "List every registered name: name, pid, generation, unique or duplicate.", 0, 0, PATIENCE_QUICK, "j" },
        { "send", "NAME DATA [--timeout MS]", "Cast DATA to the process registered as NAME (dropped if nobody holds the name).", 2, 2, PATIENCE_QUICK, "" },
        { "call", "NAME DATA [--timeout MS]",
          "Call the process registered as NAME with DATA and print its reply; exit 1 on timeout or if\n"
          "NAME is not registered.", 2, 2, PATIENCE_OWN_TIMEOUT, "" },
        { "get-state", "NAME [--timeout MS]", "Print the state of the worker registered as NAME (its format_state).", 1, 1, PATIENCE_OWN_TIMEOUT, "" },
        { "publish", "TOPIC DATA [--timeout MS]", "Publish DATA on TOPIC: every current subscriber receives it once.", 2, 2, PATIENCE_QUICK, "" },
        { "subscribe", "TOPIC... [--count N] [--timeout MS] [--ready]",
          "Print each message published on TOPIC (or, for PREFIX*, on any topic starting with PREFIX),\n"
          "one per line, until N were received, MS milliseconds passed, or interrupted. Exits 1 when the\n"
          "timeout ends the wait before N messages, or when the daemon goes away. With --ready, first a\n"
          "line 'ready' once the subscription is live: what is published after it is received.", 1, -1, PATIENCE_STREAM, "nY" },
        { "events", "[--since SEQ] [--count N] [--timeout MS] [--ready] [--cluster]",
          "Print the daemon's lifecycle events (started, exited, restarting, gave_up, reload) as JSON\n"
          "objects, one per line; --count, --timeout and --ready as for subscribe. With --since SEQ, the\n"
          "kept events numbered after SEQ (\"seq\", as status --json reports the last) come first, then\n"
          "the live ones, none missed or repeated; exit 1 when some of them are no longer kept. With\n"
          "--cluster, on a node in a cluster, the other nodes' events as well, as they come (with \"node\").",
          0, 0, PATIENCE_STREAM, "nQYK" },
        { "cluster", "[--json] [--timeout MS]",
          "This node in its cluster ([cluster], forkvisor-cluster(7)): its name, state, NATS server in\n"
          "use, message counters, and the other nodes heard with their last heartbeat. Exits 1 when\n"
          "the node is not in a cluster.", 0, 0, PATIENCE_QUICK, "j" },
        { "metrics", "[--timeout MS]",
          "The node's figures in the Prometheus text format: each process's state, restarts, uptime,\n"
          "exits by reason, mailbox and memory; the tree's processes by state, messages, publications,\n"
          "control connections.", 0, 0, PATIENCE_QUICK, "" },
};

static const ClientVerb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(client_verbs); i++)
                if (strcmp(client_verbs[i].name, name) == 0)
                        return &client_verbs[i];
        return NULL;
}

/* One command's deadlines, CLOCK_MONOTONIC. */
typedef struct Deadline {
        usec_t accept;             /* the daemon takes the request by then, or exit 3 */
        usec_t answer;             /* and answers by then (USEC_INFINITY: no limit) */
        uint64_t accept_ms, answer_ms;
        bool late_is_failure;      /* an answer late after acceptance: exit 1 (the operation goes on) */
} Deadline;

static usec_t after_ms(usec_t now, uint64_t ms) {
        usec_t d = msec_to_usec(ms);
        return d == USEC_INFINITY || d > USEC_INFINITY - now ? USEC_INFINITY : now + d;
}

/* timeout_ms: --timeout, or UINT64_MAX when not given. */
static Deadline deadline_for(Patience p, uint64_t timeout_ms) {
        bool given = timeout_ms != UINT64_MAX;
        Deadline d = { .accept_ms = CLIENT_DEADLINE_DEFAULT_MS, .answer_ms = UINT64_MAX };

        switch (p) {
        case PATIENCE_QUICK:
                d.accept_ms = d.answer_ms = given ? timeout_ms : CLIENT_DEADLINE_DEFAULT_MS;
                break;
        case PATIENCE_OPERATION:
                if (given)
                        d.accept_ms = d.answer_ms = timeout_ms;
                d.late_is_failure = true;
                break;
        case PATIENCE_OWN_TIMEOUT:
        case PATIENCE_STREAM:
                /* Whoever asks for a reply within a second is not kept waiting 5 s by a daemon
                 * that is not there; a very short timeout still leaves the daemon 1 s. */
                if (given)
                        d.accept_ms = timeout_ms < CLIENT_DEADLINE_MIN_MS     ? CLIENT_DEADLINE_MIN_MS
                                      : timeout_ms > CLIENT_DEADLINE_DEFAULT_MS ? CLIENT_DEADLINE_DEFAULT_MS
                                                                                : timeout_ms;
                if (given && p == PATIENCE_OWN_TIMEOUT)
                        d.answer_ms = timeout_ms + CLIENT_DEADLINE_MARGIN_MS;
                break;
        }
        usec_t now = now_usec();
        d.accept = after_ms(now, d.accept_ms);
        d.answer = d.answer_ms == UINT64_MAX ? USEC_INFINITY : after_ms(now, d.answer_ms);
        return d;
}

static int no_answer(FILE *err, const char *path, uint64_t ms) {
        fprintf(err, "forkvisor: the daemon at %s did not answer within %" PRIu64 " ms\n", path, ms);
        return EXIT_NO_DAEMON;
}

/* A blocking connect with SO_SNDTIMEO: connecting to an AF_UNIX socket whose listen backlog is
 * full (a stopped daemon) waits for room, and the kernel bounds that wait by the send timeout. A
 * non-blocking connect would fail with EAGAIN at once and could only be retried by polling, as
 * the socket cannot tell when room is made. */
static int connect_control(const char *path, FILE *err, usec_t deadline, uint64_t deadline_ms) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path) {
                fprintf(err, "forkvisor: control socket path too long: %s\n", path);
                return -EXIT_USAGE;
        }
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd >= 0 && deadline != USEC_INFINITY) {
                usec_t now = now_usec(), left = deadline > now ? deadline - now : 1;
                struct timeval tv = { .tv_sec = (time_t) (left / USEC_PER_SEC),
                                      .tv_usec = (suseconds_t) (left % USEC_PER_SEC) };
                if (tv.tv_sec == 0 && tv.tv_usec == 0)
                        tv.tv_usec = 1; /* 0 would mean "no timeout" */
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        }
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int e = errno;
                safe_close(fd);
                if (e == EACCES || e == EPERM) {
                        fprintf(err, "forkvisor: %s: permission denied\n", path);
                        return -1;
                }
                if (e == EAGAIN || e == EINPROGRESS || e == ETIMEDOUT)
                        return -no_answer(err, path, deadline_ms);
                fprintf(err, "forkvisor: no daemon at %s: %s\n", path, strerror(e));
                return -EXIT_NO_DAEMON;
        }
        return fd;
}

/* How a subscription stream ends (subscribe, events): after count messages (0: never), at the
 * deadline (CLOCK_MONOTONIC ms; < 0: none). */
typedef struct StreamEnd {
        unsigned long count;
        int64_t deadline_ms;
        bool ready;            /* print "ready" when the subscription is live (--ready) */
        bool numbered;         /* events: a gap in "seq" is a failure */
} StreamEnd;

static int64_t deadline_after(const char *timeout) {
        if (!*timeout)
                return -1;
        return (int64_t) (now_usec() / USEC_PER_MSEC) + strtoll(timeout, NULL, 10);
}

/* The deadline the daemon is told: a little before ours (a tenth of the time, at most 200 ms), so
 * that the 'A' of a request the daemon takes at the last moment still reaches us in time; only a
 * daemon stopped right between taking a request and saying so carries out one we gave up on. */
static uint64_t sent_deadline(const Deadline *dl) {
        if (dl->accept == USEC_INFINITY)
                return 0;
        usec_t slack = msec_to_usec(dl->accept_ms) / 10;
        if (slack > 200 * USEC_PER_MSEC)
                slack = 200 * USEC_PER_MSEC;
        return dl->accept > slack ? dl->accept - slack : 1;
}

/* The old daemon's answer to a tag it does not know (before FV2). */
#define CTL_MALFORMED "malformed request\n"

/* Sends the request (FV2 with the deadline, or FV1 when legacy) and relays the answer; returns the
 * exit status, or -EPROTO when the daemon does not know FV2 (nothing was carried out). A
 * subscription stream (stream not NULL) is printed on stdout. */
static int transact_once(const char *path, char *const *req, bool eof_is_success, FILE *out, FILE *err,
                         const StreamEnd *stream, const Deadline *dl, bool legacy) {
        char buf[CTL_REQUEST_MAX];
        CtlHeader h = { .version = 2, .deadline_usec = sent_deadline(dl) };
        int len = ctl_encode_request(req, legacy ? NULL : &h, buf, sizeof buf);
        if (len < 0) {
                fprintf(err, "forkvisor: request too long\n");
                return EXIT_USAGE;
        }
        /* A daemon before FV2 never says it accepted: wait for the answer as before. */
        usec_t accept = legacy && !stream ? dl->answer : dl->accept;
        uint64_t accept_ms = legacy && !stream ? dl->answer_ms : dl->accept_ms;
        bool accepted = false, malformed = false;

        _cleanup_close_ int fd = connect_control(path, err, accept, accept_ms);
        if (fd < 0)
                return -fd;
        if (send(fd, buf, (size_t) len, MSG_NOSIGNAL) != len) {
                if (errno == EAGAIN)
                        return no_answer(err, path, accept_ms);
                fprintf(err, "forkvisor: cannot send to %s: %m\n", path);
                return EXIT_NO_DAEMON;
        }
        for (;;) {
                usec_t until = accepted ? dl->answer : accept;
                int wait = -1;
                if (until != USEC_INFINITY) {
                        usec_t now = now_usec();
                        /* Rounded up, so the last poll does not wake just before the deadline. */
                        usec_t left = until > now ? (until - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC : 0;
                        wait = left > INT32_MAX ? INT32_MAX : (int) left;
                }
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, wait);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r == 0 && now_usec() < until)
                        continue;
                if (r == 0) {
                        fflush(out);
                        if (!accepted)
                                return no_answer(err, path, accept_ms);
                        if (dl->late_is_failure) {
                                fprintf(err, "forkvisor: timed out after %" PRIu64 " ms; the daemon goes on with '%s'\n",
                                        dl->answer_ms, req[0]);
                                return 1;
                        }
                        return no_answer(err, path, dl->answer_ms);
                }
                char pkt[CTL_PACKET_MAX + 1];
                ssize_t n = recv(fd, pkt, sizeof pkt, MSG_DONTWAIT);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n <= 0) {
                        if (eof_is_success)
                                return 0;
                        fprintf(err, "forkvisor: the daemon closed the connection\n");
                        return 1;
                }
                if (legacy || pkt[0] != CTL_ERR)
                        accepted = true; /* the daemon has read the request: it answers */
                switch (pkt[0]) {
                case CTL_ACCEPT:
                        break;
                case CTL_OUT:
                        fwrite(pkt + 1, 1, (size_t) n - 1, out);
                        break;
                case CTL_ERR:
                        if (!accepted && !legacy && (size_t) n - 1 == strlen(CTL_MALFORMED) &&
                            memcmp(pkt + 1, CTL_MALFORMED, (size_t) n - 1) == 0) {
                                malformed = true; /* perhaps FV2 unknown: said if the exit status is 2 */
                                break;
                        }
                        accepted = true;
                        fputs("forkvisor: ", err);
                        fwrite(pkt + 1, 1, (size_t) n - 1, err);
                        break;
                case CTL_DIAG:
                        fwrite(pkt + 1, 1, (size_t) n - 1, stderr);
                        break;
                case CTL_EXIT: {
                        int status = n >= 2 ? (unsigned char) pkt[1] : 1;
                        if (malformed && status == EXIT_USAGE)
                                return -EPROTO;
                        if (malformed)
                                fputs("forkvisor: " CTL_MALFORMED, err);
                        fflush(out);
                        return status;
                }
                case CTL_STREAM:
                        if (!stream)
                                return 1;
                        /* The daemon subscribed us in the loop pass that sent this, before it
                         * reads any other request: whatever is published from now on reaches us. */
                        if (stream->ready && (fputs("ready\n", stdout) < 0 || fflush(stdout) != 0))
                                return 1;
                        return stream_print(fd, stream->count, stream->deadline_ms, stream->numbered);
                default:
                        break;
                }
        }
}

static int transact_stream(const char *path, char *const *req, bool eof_is_success, FILE *out, FILE *err,
                           const StreamEnd *stream, const Deadline *dl) {
        int r = transact_once(path, req, eof_is_success, out, err, stream, dl, false);
        if (r == -EPROTO)
                /* A daemon older than this client (it was upgraded while the daemon runs): ask
                 * again the old way, without a deadline it could check. */
                r = transact_once(path, req, eof_is_success, out, err, stream, dl, true);
        return r;
}

static int transact(const char *path, char **req, bool eof_is_success, const Deadline *dl) {
        return transact_stream(path, req, eof_is_success, stdout, stderr, NULL, dl);
}

int client_transact(const char *path, char *const *req, bool eof_is_success, FILE *out, FILE *err) {
        Deadline dl = deadline_for(PATIENCE_QUICK, UINT64_MAX);
        return transact_stream(path, req, eof_is_success, out, err, NULL, &dl);
}

const char *client_control_path(const char *given, char **ret_free) {
        const char *control = given ?: arg_control ?: getenv("FORKVISOR_CONTROL");
        if (control && *control)
                return control;
        if (control_path_default(ret_free, false) < 0) {
                fprintf(stderr, "forkvisor: cannot determine the control socket path\n");
                return NULL;
        }
        return *ret_free;
}

static void usage(FILE *f, const ClientVerb *v) {
        fprintf(f, "Usage: forkvisor %s %s [--control PATH]\n", v->name, v->usage);
}

static const struct option client_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "control", required_argument, NULL, 'c' },
        { "timeout", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "all", no_argument, NULL, 'a' },
        { "state", required_argument, NULL, 's' },
        { "restarts", required_argument, NULL, 'r' },
        { "pid-not", required_argument, NULL, 'p' },
        { "count", required_argument, NULL, 'n' },
        { "since", required_argument, NULL, 'Q' },
        { "ready", no_argument, NULL, 'Y' },
        { "cluster", no_argument, NULL, 'K' },
        {},
};

static const char *option_name(int c) {
        for (const struct option *o = client_options; o->name; o++)
                if (o->val == c)
                        return o->name;
        return "?";
}

/* A decimal number in [min, max] (no sign, no space), else a usage error naming the option. */
static int parse_option_number(int c, const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (!*s || *end || errno || strspn(s, "0123456789") != strlen(s) || v < min || v > max) {
                fprintf(stderr, "forkvisor: --%s takes a number from %" PRIu64 " to %" PRIu64 ", not '%s'\n",
                        option_name(c), min, max, s);
                return -EXIT_USAGE;
        }
        *ret = v;
        return 0;
}

/* Whether a daemon answers at path: a connection it accepts, or one its full backlog holds. */
static bool daemon_listening(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path)
                return true; /* the real attempt says why not */
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return true;
        return connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0 || (errno != ENOENT && errno != ECONNREFUSED);
}

/* `forkvisor run t.ini & forkvisor wait`: the daemon may not have made its socket yet, or the one
 * of a daemon that died is still there. Looks again every 10 ms until deadline, so that waiting
 * for the tree includes waiting for the daemon. Returns the time it took. */
#define DAEMON_POLL_USEC (10 * USEC_PER_MSEC)
static usec_t wait_for_daemon(const char *path, usec_t deadline) {
        usec_t start = now_usec(), now = start;
        while (!daemon_listening(path) && now < deadline) {
                usec_t nap = deadline - now < DAEMON_POLL_USEC ? deadline - now : DAEMON_POLL_USEC;
                (void) nanosleep(&(struct timespec) { .tv_sec = 0, .tv_nsec = (long) (nap * 1000) }, NULL);
                now = now_usec();
        }
        return now - start;
}

int verb_control(int argc, char **argv) {
        const ClientVerb *v = find_verb(argv[0]);
        const char *control = NULL, *state = NULL;
        bool json = false, all = false, ready = false, cluster = false;
        uint64_t count = 0, restarts = UINT64_MAX, pid_not = 0, since = UINT64_MAX;
        uint64_t timeout_ms = UINT64_MAX;
        int c, r;

        assert(v);
        /* '+': options stop at the first positional argument, so start-child can pass "-x" on.
         * ':' first: a missing argument is told apart from an unknown option. */
        while ((c = getopt_long(argc, argv, strcmp(v->name, "start-child") == 0 ? "+:hc:" : ":hc:", client_options,
                                NULL)) >= 0) {
                if (c == '?') {
                        fprintf(stderr, "forkvisor: %s: unknown option '%s'\n", v->name, argv[optind - 1]);
                        usage(stderr, v);
                        return EXIT_USAGE;
                }
                if (c == ':') {
                        fprintf(stderr, "forkvisor: %s: option '%s' needs a value\n", v->name, argv[optind - 1]);
                        usage(stderr, v);
                        return EXIT_USAGE;
                }
                /* One table for all, but each verb takes only its own options: a --json that a
                 * verb cannot honour must not be ignored (a script would read text as JSON). */
                if (c != 'h' && c != 'c' && c != 't' && !strchr(v->options, c)) {
                        fprintf(stderr, "forkvisor: %s does not take --%s\n", v->name, option_name(c));
                        usage(stderr, v);
                        return EXIT_USAGE;
                }
                switch (c) {
                case 'h':
                        usage(stdout, v);
                        printf("\n%s\n", v->help);
                        return 0;
                case 'c':
                        control = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'a':
                        all = true;
                        break;
                case 's':
                        state = optarg;
                        break;
                case 't':
                        if ((r = parse_option_number(c, optarg, 0, UINT32_MAX - 1, &timeout_ms)) < 0)
                                return -r;
                        break;
                case 'n':
                        if ((r = parse_option_number(c, optarg, 1, ULONG_MAX, &count)) < 0)
                                return -r;
                        break;
                case 'r':
                        if ((r = parse_option_number(c, optarg, 0, UINT32_MAX, &restarts)) < 0)
                                return -r;
                        break;
                case 'p':
                        if ((r = parse_option_number(c, optarg, 1, INT32_MAX, &pid_not)) < 0)
                                return -r;
                        break;
                case 'Q':
                        if ((r = parse_option_number(c, optarg, 0, UINT64_MAX - 1, &since)) < 0)
                                return -r;
                        break;
                case 'Y':
                        ready = true;
                        break;
                case 'K':
                        cluster = true;
                        break;
                default:
                        usage(stderr, v);
                        return EXIT_USAGE;
                }
        }
        int npos = argc - optind;
        if (npos < v->min_pos || (v->max_pos >= 0 && npos > v->max_pos)) {
                usage(stderr, v);
                return EXIT_USAGE;
        }
        if (state && (restarts != UINT64_MAX || pid_not) && strcmp(state, "running") != 0) {
                fprintf(stderr, "forkvisor: wait: --restarts and --pid-not wait for 'running', not '%s'\n", state);
                return EXIT_USAGE;
        }

        _cleanup_free_ char *path = NULL;
        control = client_control_path(control, &path);
        if (!control)
                return EXIT_NO_DAEMON;

        /* A call without --timeout is answered by the daemon's default call timeout. */
        if (timeout_ms == UINT64_MAX && (strcmp(v->name, "call") == 0 || strcmp(v->name, "get-state") == 0))
                timeout_ms = CLIENT_CALL_TIMEOUT_DEFAULT_MS;
        char **pos = argv + optind;
        const char *first = npos > 0 ? pos[0] : "";
        char timeout[32] = "";
        if (timeout_ms != UINT64_MAX)
                snprintf(timeout, sizeof timeout, "%" PRIu64, timeout_ms);

        if (strcmp(v->name, "wait") == 0) {
                /* The time spent waiting for the daemon comes out of the timeout. */
                usec_t took = wait_for_daemon(control, after_ms(now_usec(), timeout_ms != UINT64_MAX ? timeout_ms
                                                                                : CLIENT_DEADLINE_DEFAULT_MS));
                if (timeout_ms != UINT64_MAX) {
                        uint64_t spent = took / USEC_PER_MSEC;
                        timeout_ms = spent < timeout_ms ? timeout_ms - spent : 0;
                        snprintf(timeout, sizeof timeout, "%" PRIu64, timeout_ms);
                }
        }
        Deadline dl = deadline_for(v->patience, timeout_ms);
        if (strcmp(v->name, "status") == 0)
                return transact(control, (char *[]) { "status", (char *) first, json ? "1" : "0", NULL }, false, &dl);
        if (strcmp(v->name, "tree") == 0 || strcmp(v->name, "info") == 0) {
                /* Without --json the request is the one an older daemon knows too. */
                char *req[] = { (char *) v->name, npos > 0 ? pos[0] : NULL, NULL, NULL };
                req[npos + 1] = json ? "1" : NULL;
                return transact(control, req, false, &dl);
        }
        if (strcmp(v->name, "wait") == 0) {
                char rs[32] = "", ps[32] = "";
                if (restarts != UINT64_MAX)
                        snprintf(rs, sizeof rs, "%" PRIu64, restarts);
                if (pid_not)
                        snprintf(ps, sizeof ps, "%" PRIu64, pid_not);
                char *req[] = { "wait", (char *) first, (char *) (state ?: "running"), timeout, rs, ps, NULL };
                if (!rs[0] && !ps[0])
                        req[4] = NULL; /* the request an older daemon knows */
                return transact(control, req, false, &dl);
        }
        if (strcmp(v->name, "call") == 0)
                return transact(control, (char *[]) { "call", pos[0], pos[1], timeout, NULL }, false, &dl);
        if (strcmp(v->name, "get-state") == 0)
                return transact(control, (char *[]) { "get-state", pos[0], timeout, NULL }, false, &dl);
        if (strcmp(v->name, "registry") == 0)
                return transact(control, (char *[]) { "registry", json ? "1" : "0", NULL }, false, &dl);
        if (strcmp(v->name, "cluster") == 0)
                return transact(control, (char *[]) { "cluster", json ? "1" : "0", NULL }, false, &dl);
        if (strcmp(v->name, "whereis") == 0)
                return transact(control, (char *[]) { "whereis", pos[0], all ? "1" : "0", NULL }, false, &dl);

        StreamEnd stream = { count, deadline_after(timeout), ready, strcmp(v->name, "events") == 0 };
        if (strcmp(v->name, "events") == 0) {
                char ss[32] = "";
                if (since != UINT64_MAX)
                        snprintf(ss, sizeof ss, "%" PRIu64, since);
                /* Without --since, the request an older daemon knows. */
                return transact_stream(control, (char *[]) { cluster ? "events-cluster" : "events", ss[0] ? ss : NULL, NULL },
                                       false, stdout, stderr, &stream, &dl);
        }

        /* Every other verb sends its name and its positional arguments as they are. */
        char *req[CTL_ARGS_MAX + 1];
        if (npos + 1 > CTL_ARGS_MAX) {
                fprintf(stderr, "forkvisor: too many arguments\n");
                return EXIT_USAGE;
        }
        req[0] = (char *) v->name;
        for (int i = 0; i < npos; i++)
                req[i + 1] = pos[i];
        req[npos + 1] = NULL;
        return transact_stream(control, req, strcmp(v->name, "shutdown") == 0, stdout, stderr,
                               strcmp(v->name, "subscribe") == 0 ? &stream : NULL, &dl);
}
