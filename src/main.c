/* SPDX-License-Identifier: MIT */
/* forkvisor: one executable, git-style subcommands. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "cli/cli.h"
#include "config.h"
#include "guard.h"
#include "macro.h"

const char *arg_control = NULL;

#ifdef __SANITIZE_ADDRESS__
/* LeakSanitizer's defaults for the sanitizer builds of make check. libnats 3.4 leaks the buffer
 * its parser makes for a message split across two reads when it is larger than the parser's
 * scratch space: natsParser_Destroy() frees only the buffers kept in the parser itself. A node
 * that exits while a flood of large messages is arriving hits it. forkvisor never makes a
 * natsBuf itself, so this hides nothing of ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
        return "leak:natsBuf_Create\n";
}
#endif

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
} Verb;

static const Verb verbs[] = {
        { "run", verb_run, "run CONFIG [--control PATH]      run the tree in the foreground" },
        { "check", verb_check, "check CONFIG                     validate a configuration" },
        { "status", verb_control, "status [PATH] [--json]           one row per process" },
        { "tree", verb_control, "tree [--json]                    the tree with states and pids" },
        { "top", verb_top, "top                              live view: states, restarts, mailboxes, message rates" },
        { "info", verb_control, "info PATH [--json]               details of one process" },
        { "start", verb_control, "start PATH                       start a stopped child" },
        { "stop", verb_control, "stop PATH                        stop a child and keep it stopped" },
        { "restart", verb_control, "restart PATH                     stop and start a child" },
        { "start-child", verb_control, "start-child SUP [ARG...]         add a child to a simple_one_for_one supervisor" },
        { "terminate-child", verb_control, "terminate-child PATH             stop a dynamic child and forget it" },
        { "scale", verb_control, "scale SUP N                      run N instances of a simple_one_for_one supervisor" },
        { "wait", verb_control, "wait [PATH] [--state S | --restarts N | --pid-not PID] [--timeout MS]\n"
                                "                                   wait for the daemon, then for a state" },
        { "signal", verb_control, "signal PATH SIG                  send a signal to a worker, or a supervisor's workers" },
        { "reload", verb_control, "reload                           read the configuration again, apply the difference" },
        { "shutdown", verb_control, "shutdown                         stop everything and let the daemon exit" },
        { "whereis", verb_worker, "whereis NAME [--all]             pid(s) registered under NAME" },
        { "registry", verb_control, "registry [--json]                every registered name" },
        { "send", verb_worker, "send NAME DATA                   cast DATA to the process registered as NAME" },
        { "call", verb_worker, "call NAME DATA [--timeout MS]    call NAME with DATA, print the reply" },
        { "publish", verb_worker, "publish TOPIC DATA               publish DATA on TOPIC" },
        { "subscribe", verb_worker, "subscribe TOPIC... [--count N] [--timeout MS] [--ready]  print what is published on TOPIC\n"
                                    "                                   (in a worker: subscribe the worker)" },
        { "events", verb_control, "events [--since SEQ] [--count N] [--timeout MS] [--ready] [--cluster]  lifecycle events as JSON lines" },
        { "cluster", verb_control, "cluster [--json]                 this node in its cluster: state, server, nodes heard" },
        { "metrics", verb_control, "metrics                          the node's figures in the Prometheus text format" },
        { "get-state", verb_control, "get-state NAME [--timeout MS]    print a worker's state (format_state)" },
        { "ready", verb_worker, "ready                            (in a worker) report readiness" },
        { "watchdog", verb_worker, "watchdog                         (in a worker) send a watchdog keep-alive" },
        { "recv", verb_worker, "recv [--timeout MS] [--shell]    (in a worker) wait for a message, print it" },
        { "reply", verb_worker, "reply REF DATA                   (in a worker) answer the call REF" },
        { "monitor", verb_worker, "monitor NAME                     (in a worker) get a down message when NAME ends" },
        { "register", verb_worker, "register NAME [--global]         (in a worker) add a registry name for this worker" },
        { "unregister", verb_worker, "unregister NAME [--global]       (in a worker) remove one of this worker's names" },
        { "unsubscribe", verb_worker, "unsubscribe TOPIC...             (in a worker) end subscriptions of this worker" },
};

static void help(FILE *f) {
        fprintf(f, "Usage: forkvisor COMMAND [ARGS...]\n       forkvisor --version\n\nCommands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(f, "  %s\n", verbs[i].summary);
        fprintf(f, "\nCommands that talk to a running daemon take --control PATH (or $FORKVISOR_CONTROL).\n"
                   "Every command has --help. See forkvisor(1) and forkvisor.ini(5).\n");
}

static void dump_keys(void) {
        const char *const *tables[] = { config_keys_forkvisor, config_keys_supervisor, config_keys_worker,
                                         config_keys_cluster };
        const char *names[] = { "forkvisor", "supervisor", "worker", "cluster" };
        for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                for (size_t i = 0; tables[t][i]; i++)
                        printf("%s %s\n", names[t], tables[t][i]);
}

/* No socket or pipe we create may land on 0, 1 or 2 (and then be mistaken for stdio). */
static void sanitize_stdio(void) {
        for (int fd = 0; fd < 3; fd++)
                if (fcntl(fd, F_GETFD) < 0) {
                        int n = open("/dev/null", O_RDWR);
                        if (n >= 0 && n != fd)
                                close(n);
                }
}

int main(int argc, char **argv) {
        if (argc > 0 && strcmp(argv[0], GUARD_ARGV0) == 0)
                return guard_exec_main(argc, argv);
        sanitize_stdio();
        /* "forkvisor --control PATH COMMAND ..." names the socket for any command. */
        while (argc >= 3 && (strcmp(argv[1], "--control") == 0 || strncmp(argv[1], "--control=", 10) == 0)) {
                bool joined = argv[1][9] == '=';
                arg_control = joined ? argv[1] + 10 : argv[2];
                argc -= joined ? 1 : 2;
                argv += joined ? 1 : 2;
        }
        if (argc < 2) {
                help(stderr);
                return EXIT_USAGE;
        }
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
                printf("forkvisor %s\n", FORKVISOR_VERSION);
                return 0;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
                help(stdout);
                return 0;
        }
        if (strcmp(argv[1], "--dump-keys") == 0) {
                dump_keys();
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, argv[1]) == 0)
                        return verbs[i].run(argc - 1, argv + 1);
        fprintf(stderr, "forkvisor: unknown command '%s'; see forkvisor --help\n", argv[1]);
        return EXIT_USAGE;
}
