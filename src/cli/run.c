/* SPDX-License-Identifier: MIT */
/* `forkvisor run` (the daemon in the foreground) and `forkvisor check` (validation only). */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "control-path.h"
#include "log.h"
#include "log-sink.h"
#include "macro.h"
#include "manager.h"

/* Prints every problem, one "FILE:LINE: message" per line; returns 2 for the exit status. */
static int print_diagnostics(Diagnostics *d, int r, const char *path) {
        if (d->n == 0)
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
        for (size_t i = 0; i < d->n; i++)
                fprintf(stderr, "%s\n", d->lines[i]);
        diagnostics_done(d);
        return EXIT_USAGE;
}

static int load(const char *path, Config **ret) {
        Diagnostics d = {};
        int r = config_load(path, ret, &d);
        if (r < 0)
                return print_diagnostics(&d, r, path);
        diagnostics_done(&d);
        return 0;
}

int verb_check(int argc, char **argv) {
        static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, {} };
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                if (c == 'h') {
                        printf("Usage: forkvisor check CONFIG\n\nValidate CONFIG and every file it includes; print each "
                               "problem as FILE:LINE: message.\nExit status: 0 valid, 2 invalid.\n");
                        return 0;
                }
                return EXIT_USAGE;
        }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: forkvisor check CONFIG\n");
                return EXIT_USAGE;
        }
        Config *config = NULL;
        int r = load(argv[optind], &config);
        if (r != 0)
                return r;
        printf("%s: ok (%zu sections, root '%s')\n", argv[optind], config->n_sections, config->root->name);
        config_free(config);
        return 0;
}

int verb_run(int argc, char **argv) {
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "control", required_argument, NULL, 'c' },
                {},
        };
        const char *control = arg_control;
        int c;

        while ((c = getopt_long(argc, argv, "hc:", opts, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        printf("Usage: forkvisor run CONFIG [--control PATH]\n\nRun the supervision tree of CONFIG in "
                               "the foreground until SIGTERM, SIGINT or\n`forkvisor shutdown`.\n");
                        return 0;
                case 'c':
                        control = optarg;
                        break;
                default:
                        return EXIT_USAGE;
                }
        }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: forkvisor run CONFIG [--control PATH]\n");
                return EXIT_USAGE;
        }

        /* Configuration errors go to stderr with plain blocking writes: nothing is supervised
         * yet, so a reader that does not read holds up no one but this failing start. */
        Config *config = NULL;
        int r = load(argv[optind], &config);
        if (r != 0)
                return r;

        log_open_daemon(config->log);
        log_set_timestamps(config->log_timestamps);

        /* As every client: --control, then $FORKVISOR_CONTROL, so that a script that exports it
         * and starts a daemon talks to that daemon. Not inside a supervised worker: there it
         * names the node the worker runs under, and a daemon started from it needs its own. */
        const char *env_control = getenv("FORKVISOR_CONTROL");
        if (!control && !getenv("FORKVISOR_MAILBOX") && env_control && *env_control)
                control = env_control;

        _cleanup_free_ char *path = NULL;
        if (control)
                path = strdup(control);
        else if (config->control)
                path = strdup(config->control);
        else if ((r = control_path_default(&path, true)) < 0) {
                config_free(config);
                return log_error_errno(r, "Failed to prepare the control socket directory: %m"), 1;
        }
        if (!path) {
                config_free(config);
                return log_error("Out of memory"), 1;
        }

        Commands *commands = NULL;
        Manager *m = NULL;
        if (commands_new(&commands) < 0 || manager_new(config, path, commands_handle, commands, &m) < 0) {
                commands_free(commands);
                config_free(config);
                return log_error("Out of memory"), 1;
        }
        commands_attach(commands, m);
        r = manager_run(m);
        commands_free(commands);
        manager_free(m);
        log_sink_close(); /* the final lines: a bounded wait for the reader, then they are dropped */
        return r;
}
