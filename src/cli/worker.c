/* SPDX-License-Identifier: MIT */
/* The subcommands a worker runs on its own mailbox (FORKVISOR_MAILBOX): ready, recv, reply,
 * monitor, register, unregister, subscribe, unsubscribe, and send, call, publish and whereis on
 * its behalf; outside a worker, send, call, publish, whereis and subscribe go to the control
 * socket instead (client.c). Built on libforkvisor,
 * opened without batches: the node then sends one frame per record, and `recv` reads exactly
 * one record, so no message is ever read by a command that will not print it. `call`,
 * `register` and `unregister` get their answer on a private socket (DESIGN 4); `whereis` reads
 * the registry the worker holds on fd 4 (FORKVISOR_REGISTRY) and sends nothing at all. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forkvisor.h"
#include "macro.h"
#include "proto.h"

/* What `forkvisor call` waits for when --timeout is not given: OTP's gen_server:call default. */
#define CALL_TIMEOUT_DEFAULT_MS 5000

typedef struct WorkerVerb {
        const char *name;
        const char *usage;
        const char *help;
        int npos;               /* positional arguments; -1: one or more */
        bool timeout, shell, all, global; /* options it takes */
        bool outside;           /* outside a worker, the control socket answers it */
} WorkerVerb;

static const WorkerVerb worker_verbs[] = {
        { .name = "ready", .usage = "",
          .help = "Report that this worker is ready (for a worker with ready = mailbox)." },
        { .name = "watchdog", .usage = "",
          .help = "Send a watchdog keep-alive (for a worker with watchdog = MS, ready = mailbox); nothing\n"
                  "when the worker has no watchdog (no WATCHDOG_USEC)." },
        { .name = "recv", .usage = "[--timeout MS] [--shell]", .timeout = true, .shell = true,
          .help = "Wait for the next message of this worker's mailbox and print its payload. With --shell,\n"
                  "print FV_KIND= FV_REF= FV_FROM= FV_TOPIC= FV_PAYLOAD= assignments for eval, quoted with\n"
                  "single quotes; FV_KIND is one of cast, call, info, down, get_state (or reply, error).\n"
                  "Exits 1 on timeout or when the mailbox is closed." },
        { .name = "reply", .usage = "REF DATA", .npos = 2,
          .help = "Answer the call (or get_state) whose reference is REF with DATA." },
        { .name = "monitor", .usage = "NAME", .npos = 1,
          .help = "Receive a down message when the process registered as NAME terminates." },
        { .name = "send", .usage = "NAME DATA", .npos = 2, .outside = true,
          .help = "Cast DATA to the process registered as NAME (NAME may also be a pid)." },
        { .name = "call", .usage = "NAME DATA [--timeout MS]", .npos = 2, .timeout = true, .outside = true,
          .help = "Call the process registered as NAME (or a pid) with DATA and print its reply; the answer\n"
                  "comes on a private socket, so this worker's mailbox is not read. The default timeout is\n"
                  "5000 ms. Exits 1 on timeout, if NAME is not registered, or if the callee fails." },
        { .name = "whereis", .usage = "NAME [--all]", .npos = 1, .all = true, .outside = true,
          .help = "Print the pid registered under NAME; with --all, every pid holding the duplicate key NAME,\n"
                  "one per line. Read directly from the registry this worker holds on fd 4\n"
                  "(FORKVISOR_REGISTRY), without a message to the daemon. Exits 1 if nobody holds NAME." },
        { .name = "register", .usage = "NAME [--global]", .npos = 1, .global = true,
          .help = "Register this worker under NAME (+NAME: a duplicate key, which many may hold). Exits 1\n"
                  "with the daemon's reason when it refuses: taken, registry full, bad name. With --global,\n"
                  "NAME is unique across the nodes of the cluster (forkvisor-cluster(7)): the answer comes\n"
                  "when the cluster has answered; also no cluster, not connected, no quorum." },
        { .name = "unregister", .usage = "NAME [--global]", .npos = 1, .global = true,
          .help = "Remove NAME (+NAME for a duplicate key) from this worker's registry names (a global name\n"
                  "from the cluster's, with or without --global). Exits 1 if this worker does not hold NAME." },
        { .name = "publish", .usage = "TOPIC DATA", .npos = 2, .outside = true,
          .help = "Publish DATA on TOPIC: every current subscriber receives it once, as an info message\n"
                  "whose FV_TOPIC is TOPIC and FV_FROM this worker's pid." },
        { .name = "subscribe", .usage = "TOPIC...", .npos = -1, .outside = true,
          .help = "Subscribe this worker to each TOPIC (PREFIX* for every topic starting with PREFIX):\n"
                  "what is published there arrives through recv, as info messages. Subscriptions end\n"
                  "when the worker terminates. With --count, --timeout or --ready (or outside a worker), print\n"
                  "the messages instead, as described in forkvisor(1)." },
        { .name = "unsubscribe", .usage = "TOPIC...", .npos = -1,
          .help = "End this worker's subscription to each TOPIC (exactly as subscribed). Exits 1 if it\n"
                  "was not subscribed to one of them." },
};

static const WorkerVerb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(worker_verbs); i++)
                if (strcmp(worker_verbs[i].name, name) == 0)
                        return &worker_verbs[i];
        return NULL;
}

static void usage(FILE *f, const WorkerVerb *v) {
        fprintf(f, "Usage: forkvisor %s%s%s\n", v->name, *v->usage ? " " : "", v->usage);
}

static bool is_option(const char *arg, const char *name) {
        size_t n = strlen(name);
        return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* True when argv asks for the control socket explicitly (--control PATH), or, for subscribe,
 * for a stream of messages to print (--count, --timeout, --ready). */
static bool wants_control(const WorkerVerb *v, int argc, char **argv) {
        bool stream = strcmp(v->name, "subscribe") == 0;
        if (arg_control)
                return true;
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (is_option(argv[i], "--control") ||
                    (stream && (is_option(argv[i], "--count") || is_option(argv[i], "--timeout") ||
                               is_option(argv[i], "--ready"))))
                        return true;
        return false;
}

static int parse_timeout(const char *s, int *ret) {
        char *end;
        if (!*s || strspn(s, "0123456789") != strlen(s))
                return -EINVAL;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || v > INT_MAX)
                return -ERANGE;
        *ret = (int) v;
        return 0;
}

/* name='text' with every ' written as '\'' (eval gives the bytes back). A shell variable cannot
 * hold a NUL byte, so NULs are left out. */
static void print_assignment(const char *name, const char *s, size_t len) {
        printf("%s='", name);
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\'')
                        fputs("'\\''", stdout);
                else if (s[i] != '\0')
                        putchar(s[i]);
        }
        fputs("'\n", stdout);
}

static int open_mailbox(const WorkerVerb *v, unsigned flags, struct fv **ret) {
        int r = fv_open(FV_NOBATCH | flags, ret);
        if (r < 0) {
                fprintf(stderr, "forkvisor: %s: cannot use the mailbox FORKVISOR_MAILBOX=%s: %s\n", v->name,
                        getenv("FORKVISOR_MAILBOX"), strerror(-r));
                return EXIT_USAGE;
        }
        return 0;
}

/* The exit status for a failed send on the mailbox. */
static int send_failed(const WorkerVerb *v, int r) {
        if (r == -EMSGSIZE)
                fprintf(stderr, "forkvisor: %s: message too long (at most %d bytes of data, %d of name)\n",
                        v->name, FV_PAYLOAD_MAX, FV_TARGET_MAX);
        else if (r == -EPIPE)
                fprintf(stderr, "forkvisor: %s: the mailbox is closed\n", v->name);
        else
                fprintf(stderr, "forkvisor: %s: %s\n", v->name, strerror(-r));
        return 1;
}

static int do_recv(const WorkerVerb *v, int timeout, bool shell) {
        struct fv *fv = NULL;
        struct fv_message m;
        int r = open_mailbox(v, 0, &fv);
        if (r != 0)
                return r;
        r = fv_recv(fv, timeout, &m);
        if (r < 0) {
                if (r == -ETIMEDOUT || r == -EAGAIN)
                        fprintf(stderr, "forkvisor: recv: no message within %d ms\n", timeout);
                else if (r == -EPIPE)
                        fprintf(stderr, "forkvisor: recv: the mailbox is closed\n");
                else if (r == -EBADMSG)
                        fprintf(stderr, "forkvisor: recv: malformed record from the node (dropped)\n");
                else
                        fprintf(stderr, "forkvisor: recv: %s\n", strerror(-r));
                fv_close(fv);
                return 1;
        }
        if (shell) {
                printf("FV_KIND=%s\nFV_REF=%" PRIu64 "\nFV_FROM=%d\n", fv_kind_to_string(m.kind), m.ref,
                       (int) m.sender);
                print_assignment("FV_TOPIC", m.target, m.target_len);
                print_assignment("FV_PAYLOAD", m.payload, m.payload_len);
        } else {
                fwrite(m.payload, 1, m.payload_len, stdout);
                putchar('\n');
        }
        /* Without our HELLO the node sends one frame per record; another process of this worker
         * that asked for batches (a library user without FV_NOBATCH) breaks that. Say so. */
        if (fv_pending(fv) > 0)
                fprintf(stderr, "forkvisor: recv: more messages came in the same record and are lost: "
                                "a process of this worker asked the node for batches (use FV_NOBATCH)\n");
        fv_close(fv);
        return fflush(stdout) == 0 ? 0 : 1;
}

static int do_call(const WorkerVerb *v, const char *target, const char *data, int timeout) {
        struct fv *fv = NULL;
        struct fv_message m = {};
        int r = open_mailbox(v, FV_PRIVATE_CALLS, &fv);
        if (r != 0)
                return r;
        r = fv_call(fv, target, data, strlen(data), timeout, &m);
        if (r >= 0) {
                fwrite(m.payload, 1, m.payload_len, stdout);
                putchar('\n');
                fv_close(fv);
                return fflush(stdout) == 0 ? 0 : 1;
        }
        if (r == -EMSGSIZE || r == -EPIPE)
                send_failed(v, r);
        else if (r == -ETIMEDOUT || r == -ESRCH || r == -EAGAIN || r == -ECONNRESET || r == -EREMOTEIO)
                fprintf(stderr, "forkvisor: call %s: %s\n", target,
                        r == -ETIMEDOUT && m.kind != FV_ERROR ? "timeout" : m.payload);
        else
                fprintf(stderr, "forkvisor: call %s: %s\n", target, strerror(-r));
        fv_close(fv);
        return 1;
}

static void print_holder(pid_t pid, uint32_t generation, void *ud) {
        printf("%d\n", (int) pid);
}

/* whereis NAME [--all], from the table on fd 4. Prints what the daemon's whereis prints (both
 * read the same table). Returns -1 when the table cannot be read here: the caller then asks
 * the daemon instead. */
static int do_whereis(const WorkerVerb *v, const char *name, bool all) {
        struct fv *fv = NULL;
        pid_t pid = 0;
        int r = fv_open(FV_NOBATCH, &fv);
        if (r < 0)
                return -1;
        r = all ? fv_whereis_all(fv, name, print_holder, NULL) : fv_whereis(fv, name, &pid);
        /* A global name held on another node: PID@NODE, as the daemon's whereis says it. */
        char node[256] = "";
        if (r == -EREMOTE || (all && r == 0))
                r = fv_whereis_node(fv, name, &pid, node, sizeof node) == 0 && node[0] ? 0 : r;
        if (node[0]) {
                printf("%d@%s\n", (int) pid, node);
                all = true; /* printed */
        }
        fv_close(fv);
        if (r == -EBUSY) {
                fprintf(stderr, "forkvisor: whereis %s: the registry kept changing while it was read; try again\n",
                        name);
                return 1;
        }
        /* (fv_whereis_all() counts the holders; -EINVAL: an empty name, which nobody holds.) */
        if ((all && r == 0) || r == -ENOENT || r == -EINVAL) {
                fprintf(stderr, "forkvisor: '%s' is not registered\n", name);
                return 1;
        }
        if (r < 0)
                return -1;
        if (!all)
                printf("%d\n", (int) pid);
        return fflush(stdout) == 0 ? 0 : 1;
}

/* "forkvisor VERB ARG: why", in the node's words when it said no. */
static void refused(const WorkerVerb *v, const char *arg, uint8_t kind, int r) {
        fprintf(stderr, "forkvisor: %s %s: %s\n", v->name, arg,
                proto_refusal(kind, r) ?: r == -ETIMEDOUT ? "no answer from the daemon" : strerror(-r));
}

/* register / unregister [--global] NAME: the answer comes on a private socket. */
static int do_register(const WorkerVerb *v, const char *name, bool global) {
        struct fv *fv = NULL;
        bool reg = strcmp(v->name, "register") == 0;
        int r = open_mailbox(v, FV_PRIVATE_CALLS, &fv);
        if (r != 0)
                return r;
        if (global)
                r = reg ? fv_register_global(fv, name) : fv_unregister_global(fv, name);
        else
                r = reg ? fv_register(fv, name) : fv_unregister(fv, name);
        fv_close(fv);
        if (r >= 0)
                return 0;
        if (r == -EMSGSIZE || r == -EPIPE)
                return send_failed(v, r);
        refused(v, name, reg ? PROTO_REGISTER : PROTO_UNREGISTER, r);
        return 1;
}

/* subscribe / unsubscribe TOPIC...: each answered on a private socket. */
static int do_subscribe(const WorkerVerb *v, char **topics) {
        struct fv *fv = NULL;
        bool sub = strcmp(v->name, "subscribe") == 0;
        int r = open_mailbox(v, FV_PRIVATE_CALLS, &fv);
        if (r != 0)
                return r;
        for (; *topics; topics++) {
                r = sub ? fv_subscribe(fv, *topics) : fv_unsubscribe(fv, *topics);
                if (r >= 0)
                        continue;
                fv_close(fv);
                if (r == -EPIPE)
                        return send_failed(v, r);
                refused(v, *topics, sub ? PROTO_SUBSCRIBE : PROTO_UNSUBSCRIBE, r);
                return r == -EINVAL ? EXIT_USAGE : 1;
        }
        fv_close(fv);
        return 0;
}

/* ready, watchdog, reply, monitor, send, publish: one frame, written when the mailbox is closed. */
static int do_send(const WorkerVerb *v, char **pos) {
        struct fv *fv = NULL;
        int r = open_mailbox(v, 0, &fv);
        if (r != 0)
                return r;
        if (strcmp(v->name, "ready") == 0)
                r = fv_ready(fv);
        else if (strcmp(v->name, "watchdog") == 0) {
                /* Sent for the worker, from a process of its own: WATCHDOG_PID is the worker's pid,
                 * not ours, and the node counts the keep-alive for the mailbox's owner anyway. */
                unsetenv("WATCHDOG_PID");
                r = fv_watchdog(fv);
        } else if (strcmp(v->name, "monitor") == 0)
                r = fv_monitor(fv, pos[0]);
        else if (strcmp(v->name, "send") == 0)
                r = fv_cast(fv, pos[0], pos[1], strlen(pos[1]));
        else if (strcmp(v->name, "publish") == 0)
                r = fv_publish(fv, pos[0], pos[1], strlen(pos[1]));
        else {
                char *end;
                errno = 0;
                unsigned long long ref = strtoull(pos[0], &end, 10);
                if (errno || *end || !*pos[0] || strspn(pos[0], "0123456789") != strlen(pos[0]) || ref == 0) {
                        fprintf(stderr, "forkvisor: reply: REF must be a call's reference (FV_REF), not '%s'\n",
                                pos[0]);
                        fv_close(fv);
                        return EXIT_USAGE;
                }
                r = fv_reply(fv, ref, pos[1], strlen(pos[1]));
        }
        int k = fv_close(fv);
        if (r == -EINVAL && strcmp(v->name, "publish") == 0) {
                fprintf(stderr, "forkvisor: publish: bad topic '%s': 1-255 printable characters, no whitespace, no '*'\n",
                        pos[0]);
                return EXIT_USAGE;
        }
        if (r >= 0)
                r = k;
        return r < 0 ? send_failed(v, r) : 0;
}

int verb_worker(int argc, char **argv) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "timeout", required_argument, NULL, 't' },
                { "shell", no_argument, NULL, 's' },
                { "all", no_argument, NULL, 'a' },
                { "global", no_argument, NULL, 'g' },
                {},
        };
        const WorkerVerb *v = find_verb(argv[0]);
        const char *mailbox = getenv("FORKVISOR_MAILBOX");
        bool inside = mailbox && *mailbox, shell = false, all = false, global = false;
        int timeout = -1, c;

        assert(v);
        if (v->outside && (!inside || wants_control(v, argc, argv)))
                return verb_control(argc, argv);
        /* Without FORKVISOR_REGISTRY there is no table here to read: the daemon answers. */
        if (strcmp(v->name, "whereis") == 0 && !getenv("FORKVISOR_REGISTRY"))
                return verb_control(argc, argv);

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        usage(stdout, v);
                        printf("\n%s\n", v->help);
                        if (!v->outside)
                                puts("Only inside a worker of a forkvisor tree (where FORKVISOR_MAILBOX is set).");
                        return 0;
                case 't':
                        if (!v->timeout)
                                goto bad;
                        if (parse_timeout(optarg, &timeout) < 0) {
                                fprintf(stderr, "forkvisor: --timeout takes milliseconds, not '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 's':
                        if (!v->shell)
                                goto bad;
                        shell = true;
                        break;
                case 'a':
                        if (!v->all)
                                goto bad;
                        all = true;
                        break;
                case 'g':
                        if (!v->global)
                                goto bad;
                        global = true;
                        break;
                default:
                        goto bad;
                }
        }
        if (v->npos >= 0 ? argc - optind != v->npos : argc - optind < 1)
                goto bad;
        if (!inside) {
                fprintf(stderr, "forkvisor: %s: not inside a forkvisor worker (FORKVISOR_MAILBOX is not set)\n",
                        v->name);
                return EXIT_USAGE;
        }

        if (strcmp(v->name, "whereis") == 0) {
                int r = do_whereis(v, argv[optind], all);
                if (r >= 0)
                        return r;
                /* The table cannot be read here (fd 4 closed, or a layout this forkvisor does not
                 * know): the daemon answers the same from its own mapping. */
                optind = 0;
                return verb_control(argc, argv);
        }
        if (strcmp(v->name, "register") == 0 || strcmp(v->name, "unregister") == 0)
                return do_register(v, argv[optind], global);
        if (strcmp(v->name, "subscribe") == 0 || strcmp(v->name, "unsubscribe") == 0)
                return do_subscribe(v, argv + optind);
        if (strcmp(v->name, "recv") == 0)
                return do_recv(v, timeout, shell);
        if (strcmp(v->name, "call") == 0)
                return do_call(v, argv[optind], argv[optind + 1],
                               timeout < 0 ? CALL_TIMEOUT_DEFAULT_MS : timeout);
        return do_send(v, argv + optind);

bad:
        usage(stderr, v);
        return EXIT_USAGE;
}
