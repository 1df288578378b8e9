/* SPDX-License-Identifier: MIT */
/* The client side of the operator subcommands: parse options, send one request on the control
 * socket, print what comes back, exit with the status the daemon chose. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "macro.h"
#include "manager.h"
#include "time-util.h"

typedef struct ClientVerb {
        const char *name;
        const char *usage;
        const char *help;
        int min_pos, max_pos;  /* positional arguments; -1 = any number */
} ClientVerb;

static const ClientVerb client_verbs[] = {
        { "status", "[PATH] [--json]", "One row per process: path, kind, state, pid, restarts, uptime, last exit.", 0, 1 },
        { "tree", "", "The supervision tree with states and pids.", 0, 0 },
        { "info", "PATH", "Details of one process.", 1, 1 },
        { "start", "PATH", "Start a stopped child (worker or subtree); returns once it is running.", 1, 1 },
        { "stop", "PATH", "Stop a child and keep it stopped; returns once it is down.", 1, 1 },
        { "restart", "PATH", "Stop and start a child; returns once it is running again.", 1, 1 },
        { "start-child", "SUP [ARG...]", "Start one more child of a simple_one_for_one supervisor; prints its path.", 1, -1 },
        { "terminate-child", "PATH", "Stop a dynamic child and forget it.", 1, 1 },
        { "wait", "[PATH] [--state STATE] [--timeout MS]",
          "Wait until PATH (default: the whole tree) is in STATE (default: running).", 0, 1 },
        { "shutdown", "", "Stop the whole tree in order; returns when the daemon has exited.", 0, 0 },
        { "reload", "",
          "Read the configuration again and apply the difference; returns once it has been applied.\n"
          "Exit status: 0 applied; 1 refused or something failed to start; 2 the configuration is\n"
          "invalid (every problem printed as FILE:LINE: message, nothing changed).", 0, 0 },
        { "whereis", "NAME [--all]", "Print the pid registered under NAME (all pids with --all).", 1, 1 },
        { "registry", "[--json]", "List every registered name: name, pid, generation, unique or duplicate.", 0, 0 },
        { "send", "NAME DATA", "Cast DATA to the process registered as NAME (dropped if nobody holds the name).", 2, 2 },
        { "call", "NAME DATA [--timeout MS]",
          "Call the process registered as NAME with DATA and print its reply; exit 1 on timeout or if\n"
          "NAME is not registered.", 2, 2 },
        { "get-state", "NAME [--timeout MS]", "Print the state of the worker registered as NAME (its format_state).", 1, 1 },
        { "publish", "TOPIC DATA", "Publish DATA on TOPIC: every current subscriber receives it once.", 2, 2 },
        { "subscribe", "TOPIC... [--count N] [--timeout MS]",
          "Print each message published on TOPIC (or, for PREFIX*, on any topic starting with PREFIX),\n"
          "one per line, until N were received, MS milliseconds passed, or interrupted. Exits 1 when the\n"
          "timeout ends the wait before N messages, or when the daemon goes away.", 1, -1 },
        { "events", "[--count N] [--timeout MS]",
          "Print the daemon's lifecycle events (started, exited, restarting, gave_up, reload) as JSON\n"
          "objects, one per line; --count and --timeout as for subscribe.", 0, 0 },
};

static const ClientVerb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(client_verbs); i++)
                if (strcmp(client_verbs[i].name, name) == 0)
                        return &client_verbs[i];
        return NULL;
}

static int connect_control(const char *path, FILE *err) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path) {
                fprintf(err, "forkvisor: control socket path too long: %s\n", path);
                return -EXIT_USAGE;
        }
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int e = errno;
                safe_close(fd);
                if (e == EACCES || e == EPERM) {
                        fprintf(err, "forkvisor: %s: permission denied\n", path);
                        return -1;
                }
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
} StreamEnd;

static int64_t deadline_after(const char *timeout) {
        if (!*timeout)
                return -1;
        return (int64_t) (now_usec() / USEC_PER_MSEC) + strtoll(timeout, NULL, 10);
}

/* Sends the request and relays the answer; returns the exit status. A subscription stream
 * (stream not NULL) is printed on stdout. */
static int transact_stream(const char *path, char *const *req, bool eof_is_success, FILE *out, FILE *err,
                           const StreamEnd *stream) {
        char buf[CTL_REQUEST_MAX];
        int len = ctl_encode_request(req, buf, sizeof buf);
        if (len < 0) {
                fprintf(err, "forkvisor: request too long\n");
                return EXIT_USAGE;
        }
        int fd = connect_control(path, err);
        if (fd < 0)
                return -fd;
        if (send(fd, buf, (size_t) len, MSG_NOSIGNAL) != len) {
                fprintf(err, "forkvisor: cannot send to %s: %m\n", path);
                safe_close(fd);
                return EXIT_NO_DAEMON;
        }
        for (;;) {
                char pkt[CTL_PACKET_MAX + 1];
                ssize_t n = recv(fd, pkt, sizeof pkt, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        safe_close(fd);
                        if (eof_is_success)
                                return 0;
                        fprintf(err, "forkvisor: the daemon closed the connection\n");
                        return 1;
                }
                switch (pkt[0]) {
                case CTL_OUT:
                        fwrite(pkt + 1, 1, (size_t) n - 1, out);
                        break;
                case CTL_ERR:
                        fputs("forkvisor: ", err);
                        fwrite(pkt + 1, 1, (size_t) n - 1, err);
                        break;
                case CTL_DIAG:
                        fwrite(pkt + 1, 1, (size_t) n - 1, stderr);
                        break;
                case CTL_EXIT:
                        safe_close(fd);
                        fflush(out);
                        return n >= 2 ? (unsigned char) pkt[1] : 1;
                case CTL_STREAM: {
                        int r = stream ? stream_print(fd, stream->count, stream->deadline_ms) : 1;
                        safe_close(fd);
                        return r;
                }
                default:
                        break;
                }
        }
}

static int transact(const char *path, char **req, bool eof_is_success) {
        return transact_stream(path, req, eof_is_success, stdout, stderr, NULL);
}

int client_transact(const char *path, char *const *req, bool eof_is_success, FILE *out, FILE *err) {
        return transact_stream(path, req, eof_is_success, out, err, NULL);
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

int verb_control(int argc, char **argv) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "control", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { "all", no_argument, NULL, 'a' },
                { "state", required_argument, NULL, 's' },
                { "timeout", required_argument, NULL, 't' },
                { "count", required_argument, NULL, 'n' },
                {},
        };
        const ClientVerb *v = find_verb(argv[0]);
        const char *control = NULL, *state = "running", *timeout = "";
        bool json = false, all = false;
        unsigned long count = 0;
        int c;

        assert(v);
        /* '+': options stop at the first positional argument, so start-child can pass "-x" on. */
        while ((c = getopt_long(argc, argv, strcmp(v->name, "start-child") == 0 ? "+hc:" : "hc:", opts, NULL)) >= 0) {
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
                        if (!*optarg || strspn(optarg, "0123456789") != strlen(optarg)) {
                                fprintf(stderr, "forkvisor: --timeout takes milliseconds, not '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        timeout = optarg;
                        break;
                case 'n': {
                        char *end;
                        errno = 0;
                        count = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || errno || strspn(optarg, "0123456789") != strlen(optarg) || count == 0 ||
                            (strcmp(v->name, "subscribe") != 0 && strcmp(v->name, "events") != 0)) {
                                fprintf(stderr, "forkvisor: --count takes a number of messages (subscribe, events), not '%s'\n",
                                        optarg);
                                return EXIT_USAGE;
                        }
                        break;
                }
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

        _cleanup_free_ char *path = NULL;
        control = client_control_path(control, &path);
        if (!control)
                return EXIT_NO_DAEMON;

        char **pos = argv + optind;
        const char *first = npos > 0 ? pos[0] : "";
        if (strcmp(v->name, "status") == 0)
                return transact(control, (char *[]) { "status", (char *) first, json ? "1" : "0", NULL }, false);
        if (strcmp(v->name, "wait") == 0)
                return transact(control, (char *[]) { "wait", (char *) first, (char *) state, (char *) timeout, NULL },
                                false);
        if (strcmp(v->name, "call") == 0)
                return transact(control, (char *[]) { "call", pos[0], pos[1], (char *) timeout, NULL }, false);
        if (strcmp(v->name, "get-state") == 0)
                return transact(control, (char *[]) { "get-state", pos[0], (char *) timeout, NULL }, false);
        if (strcmp(v->name, "registry") == 0)
                return transact(control, (char *[]) { "registry", json ? "1" : "0", NULL }, false);
        if (strcmp(v->name, "whereis") == 0)
                return transact(control, (char *[]) { "whereis", pos[0], all ? "1" : "0", NULL }, false);

        StreamEnd stream = { count, deadline_after(timeout) };
        if (strcmp(v->name, "events") == 0)
                return transact_stream(control, (char *[]) { "events", NULL }, false, stdout, stderr, &stream);

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
                               strcmp(v->name, "subscribe") == 0 ? &stream : NULL);
}
