/* SPDX-License-Identifier: MIT */
/* Unit tests of the key table (config/keys.c) and spec.c through config_load_string(): every
 * key's default and forms, every error with its FILE:LINE and what it expects. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"
#include "registry.h"
#include "strv.h"
#include "topic.h"
#include "tests.h"

#include "config-load.h"

TEST(defaults_worker) {
        _cleanup_config_ Config *c = NULL;
        Spec *w;

        LOAD_OK(HEAD "[worker:w]\nexec = /bin/true\n", c);
        w = config_find(c, SPEC_WORKER, "w");
        ASSERT_TRUE(w);
        ASSERT_STREQ(w->file, NAME);
        ASSERT_EQ(w->line, 3);
        ASSERT_EQ(w->restart, RESTART_PERMANENT);
        ASSERT_TRUE(w->shutdown_ms == 5000);
        ASSERT_TRUE(!w->significant);
        ASSERT_STREQ(w->argv[0], "/bin/true");
        ASSERT_TRUE(w->argv[1] == NULL);
        ASSERT_EQ(w->stop_signal, SIGTERM);
        ASSERT_EQ(w->n_normal_exit, 1);
        ASSERT_EQ(w->normal_exit[0], 0);
        ASSERT_EQ(w->ready, READY_NONE);
        ASSERT_TRUE(w->ready_timeout_ms == 10000);
        ASSERT_TRUE(w->restart_delay_ms == 0);
        ASSERT_TRUE(w->restart_delay_max_ms == 0);
        ASSERT_STREQ(w->register_name, "w");
        ASSERT_TRUE(w->register_is_default);
        ASSERT_TRUE(w->subscribe && !w->subscribe[0]);
        ASSERT_EQ(w->mailbox_limit, 1024);
        ASSERT_TRUE(!w->user && !w->group);
        ASSERT_TRUE(w->uid == (uid_t) -1 && w->gid == (gid_t) -1);
        ASSERT_EQ(w->n_groups, 0);
        ASSERT_STREQ(w->directory, "/srv/conf");
        ASSERT_TRUE(w->environment && !w->environment[0]);
        ASSERT_EQ(w->umask, -1);
        ASSERT_TRUE(!w->nice_set);
        for (int i = 0; i < _SPEC_LIMIT_MAX; i++)
                ASSERT_TRUE(!w->limit_set[i]);
        ASSERT_EQ(w->stdout_mode, OUTPUT_LOG);
        ASSERT_EQ(w->stderr_mode, OUTPUT_LOG);
        ASSERT_TRUE(!w->stdout_path && !w->stderr_path);
        ASSERT_TRUE(!w->stdin_inherit);
        ASSERT_TRUE(w->kill_group);
}

TEST(defaults_supervisor_and_daemon) {
        _cleanup_config_ Config *c = NULL;
        Spec *a;

        LOAD_OK(HEAD "[worker:w]\nexec = /bin/true\n", c);
        ASSERT_STREQ(c->path, NAME);
        ASSERT_TRUE(c->control == NULL);
        ASSERT_EQ(c->log, LOG_TARGET_AUTO);
        ASSERT_EQ(c->subreaper, -1);
        ASSERT_EQ(c->registry_size, 4096);
        ASSERT_EQ(c->n_sections, 2);
        a = c->root;
        ASSERT_TRUE(a && a == config_find(c, SPEC_SUPERVISOR, "app"));
        ASSERT_TRUE(config_find(c, SPEC_WORKER, "app") == NULL);
        ASSERT_EQ(a->strategy, STRATEGY_ONE_FOR_ONE);
        ASSERT_EQ(a->intensity, 1);
        ASSERT_TRUE(a->period_ms == 5000);
        ASSERT_EQ(a->n_children, 1);
        ASSERT_TRUE(a->children[0] == config_find(c, SPEC_WORKER, "w"));
        ASSERT_TRUE(a->template_ == NULL);
        ASSERT_EQ(a->instances, 0);
        ASSERT_EQ(a->max_children, 0);
        ASSERT_EQ(a->auto_shutdown, AUTO_SHUTDOWN_NEVER);
        ASSERT_EQ(a->restart, RESTART_PERMANENT);
        ASSERT_TRUE(a->shutdown_ms == SHUTDOWN_INFINITY);
        ASSERT_TRUE(!a->significant);
}

TEST(daemon_keys) {
        _cleanup_config_ Config *c = NULL;

        LOAD_OK("[forkvisor]\nroot = app\ncontrol = run/ctl.sock\nlog = journal\nsubreaper = yes\n"
                "registry_size = 16\n" HEAD "[worker:w]\nexec = x\n", c);
        ASSERT_STREQ(c->control, "/srv/conf/run/ctl.sock");
        ASSERT_EQ(c->log, LOG_TARGET_JOURNAL);
        ASSERT_EQ(c->subreaper, 1);
        ASSERT_EQ(c->registry_size, 16);
        ASSERT_STREQ(c->root->name, "app");

        EXPECT_ERROR("[forkvisor]\nregistry_size = 15\n" HEAD "[worker:w]\nexec=x\n",
                     NAME ":2: bad value '15' for registry_size: expected an integer from 16 to 1048576");
        EXPECT_ERROR("[forkvisor]\nlog = jurnal\n" HEAD "[worker:w]\nexec=x\n",
                     NAME ":2: bad value 'jurnal' for log: expected auto, journal or stderr; did you mean 'journal'?");
        EXPECT_ERROR("[forkvisor]\nsubreaper = maybe\n" HEAD "[worker:w]\nexec=x\n",
                     NAME ":2: bad value 'maybe' for subreaper: expected yes or no");
}

TEST(control_path_too_long) {
        char text[512];
        char longp[150];

        memset(longp, 'a', sizeof(longp) - 1);
        longp[0] = '/';
        longp[sizeof(longp) - 1] = '\0';
        snprintf(text, sizeof(text), "[forkvisor]\ncontrol = %s\n" HEAD "[worker:w]\nexec=x\n", longp);
        EXPECT_ERROR(text, "is too long (max 107 bytes)");
}

TEST(worker_value_forms) {
        _cleanup_config_ Config *c = NULL;
        _cleanup_free_ char *text = with_worker(
                "restart = transient\nshutdown = brutal_kill\nstop_signal = SIGINT\nnormal_exit = 0, 3 7\n"
                "ready = notify\nready_timeout = 250\nrestart_delay = 100\nrestart_delay_max = 3000\n"
                "significant = yes\nregister = +pool\nsubscribe = orders:*, news\nmailbox_limit = 1\n"
                "directory = data\nenvironment = A=1 \"B=two words\" A=3\numask = 027\nnice = -5\n"
                "limit_nofile = 1024:4096\nlimit_core = infinity\nlimit_as = 2G\nlimit_nproc = 50\n"
                "stdout = file:log/out.log\nstderr = null\nstdin = inherit\nkill_group = off\n");
        Spec *w;

        LOAD_OK(text, c);
        w = config_find(c, SPEC_WORKER, "w");
        ASSERT_EQ(w->restart, RESTART_TRANSIENT);
        ASSERT_TRUE(w->shutdown_ms == SHUTDOWN_BRUTAL_KILL);
        ASSERT_EQ(w->stop_signal, SIGINT);
        ASSERT_EQ(w->n_normal_exit, 3);
        ASSERT_EQ(w->normal_exit[0], 0);
        ASSERT_EQ(w->normal_exit[1], 3);
        ASSERT_EQ(w->normal_exit[2], 7);
        ASSERT_EQ(w->ready, READY_NOTIFY);
        ASSERT_TRUE(w->ready_timeout_ms == 250);
        ASSERT_TRUE(w->restart_delay_ms == 100);
        ASSERT_TRUE(w->restart_delay_max_ms == 3000);
        ASSERT_TRUE(w->significant);
        ASSERT_STREQ(w->register_name, "+pool");
        ASSERT_TRUE(!w->register_is_default);
        ASSERT_EQ(strv_length(w->subscribe), 2);
        ASSERT_STREQ(w->subscribe[0], "orders:*");
        ASSERT_STREQ(w->subscribe[1], "news");
        ASSERT_EQ(w->mailbox_limit, 1);
        ASSERT_STREQ(w->directory, "/srv/conf/data");
        ASSERT_EQ(strv_length(w->environment), 2);
        ASSERT_STREQ(w->environment[0], "B=two words");
        ASSERT_STREQ(w->environment[1], "A=3");
        ASSERT_EQ(w->umask, 027);
        ASSERT_TRUE(w->nice_set);
        ASSERT_EQ(w->nice, -5);
        ASSERT_TRUE(w->limit_set[SPEC_LIMIT_NOFILE]);
        ASSERT_EQ(w->limit[SPEC_LIMIT_NOFILE].rlim_cur, 1024);
        ASSERT_EQ(w->limit[SPEC_LIMIT_NOFILE].rlim_max, 4096);
        ASSERT_TRUE(w->limit[SPEC_LIMIT_CORE].rlim_cur == RLIM_INFINITY);
        ASSERT_TRUE(w->limit[SPEC_LIMIT_CORE].rlim_max == RLIM_INFINITY);
        ASSERT_TRUE(w->limit[SPEC_LIMIT_AS].rlim_cur == 2ull << 30);
        ASSERT_EQ(w->limit[SPEC_LIMIT_NPROC].rlim_max, 50);
        ASSERT_EQ(w->stdout_mode, OUTPUT_FILE);
        ASSERT_STREQ(w->stdout_path, "/srv/conf/log/out.log");
        ASSERT_EQ(w->stderr_mode, OUTPUT_NULL);
        ASSERT_TRUE(w->stdin_inherit);
        ASSERT_TRUE(!w->kill_group);
}

TEST(worker_more_forms) {
        _cleanup_config_ Config *c = NULL;
        _cleanup_free_ char *text = with_worker(
                "shutdown = infinity\nstop_signal = 9\nregister = none\ndirectory = /var/lib/x\n"
                "stdout = inherit\nstderr = file:/var/log/e.log\nnice = 19\numask = 0\nrestart_delay = 500\n");
        Spec *w;

        LOAD_OK(text, c);
        w = config_find(c, SPEC_WORKER, "w");
        ASSERT_TRUE(w->shutdown_ms == SHUTDOWN_INFINITY);
        ASSERT_EQ(w->stop_signal, SIGKILL);
        ASSERT_TRUE(w->register_name == NULL);
        ASSERT_TRUE(!w->register_is_default);
        ASSERT_STREQ(w->directory, "/var/lib/x");
        ASSERT_EQ(w->stdout_mode, OUTPUT_INHERIT);
        ASSERT_STREQ(w->stderr_path, "/var/log/e.log");
        ASSERT_EQ(w->nice, 19);
        ASSERT_EQ(w->umask, 0);
        /* restart_delay_max defaults to restart_delay */
        ASSERT_TRUE(w->restart_delay_max_ms == 500);
}

TEST(stop_signal_forms) {
        static const struct {
                const char *v;
                int sig;
        } ok[] = { { "TERM", SIGTERM }, { "SIGHUP", SIGHUP }, { "usr1", SIGUSR1 }, { "15", 15 } };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_config_ Config *c = NULL;
                _cleanup_free_ char *extra = NULL, *text = NULL;

                ASSERT_TRUE(asprintf(&extra, "stop_signal = %s\n", ok[i].v) > 0);
                text = with_worker(extra);
                LOAD_OK(text, c);
                ASSERT_EQ(config_find(c, SPEC_WORKER, "w")->stop_signal, ok[i].sig);
        }
        {
                _cleanup_config_ Config *c = NULL;
                _cleanup_free_ char *text = with_worker("stop_signal = RTMIN+2\n");
                LOAD_OK(text, c);
                ASSERT_EQ(config_find(c, SPEC_WORKER, "w")->stop_signal, SIGRTMIN + 2);
        }
        {
                _cleanup_free_ char *text = with_worker("stop_signal = TREM\n");
                EXPECT_ERROR(text, NAME ":5: bad value 'TREM' for stop_signal: expected a signal name (TERM, SIGTERM, ...) or a number from 1 to");
                EXPECT_ERROR(text, "did you mean 'TERM'?");
        }
        {
                _cleanup_free_ char *text = with_worker("stop_signal = 0\n");
                EXPECT_ERROR(text, "bad value '0' for stop_signal");
        }
}

TEST(watchdog_keys) {
        {
                _cleanup_config_ Config *c = NULL;
                _cleanup_free_ char *text = with_worker("ready = notify\n");
                LOAD_OK(text, c);
                const Spec *w = config_find(c, SPEC_WORKER, "w");
                ASSERT_EQ(w->watchdog_ms, 0u);
                ASSERT_EQ(w->watchdog_signal, SIGABRT);
        }
        {
                _cleanup_config_ Config *c = NULL;
                _cleanup_free_ char *text = with_worker("ready = mailbox\nwatchdog = 2500\nwatchdog_signal = usr1\n");
                LOAD_OK(text, c);
                const Spec *w = config_find(c, SPEC_WORKER, "w");
                ASSERT_EQ(w->watchdog_ms, 2500u);
                ASSERT_EQ(w->watchdog_signal, SIGUSR1);
        }
        {
                _cleanup_free_ char *text = with_worker("watchdog = 1000\n");
                EXPECT_ERROR(text, NAME ":5: watchdog needs ready = notify or ready = mailbox");
        }
        {
                _cleanup_free_ char *text = with_worker("ready = notify\nwatchdog = 1000\nwatchdog_signal = ABORT\n");
                EXPECT_ERROR(text, NAME ":7: bad value 'ABORT' for watchdog_signal");
                EXPECT_ERROR(text, "did you mean 'ABRT'?");
        }
        {
                _cleanup_free_ char *text = with_worker("ready = notify\nwatchdog_signal = KILL\n");
                EXPECT_ERROR(text, NAME ":6: watchdog_signal without watchdog");
        }
        {
                _cleanup_free_ char *text = with_worker("ready = notify\nwatchdog = soon\n");
                EXPECT_ERROR(text, NAME ":6: bad value 'soon' for watchdog: expected milliseconds");
        }
}

TEST(period_decimals) {
        static const struct {
                const char *v;
                uint64_t ms;
        } ok[] = { { "2.5", 2500 }, { "0.001", 1 }, { "10", 10000 }, { "1.25", 1250 } };
        static const char *const bad[] = { "0", "0.0001", "-1", "1.", ".5", "1e3", "abc", "0.000" };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_config_ Config *c = NULL;
                _cleanup_free_ char *text = NULL;

                ASSERT_TRUE(asprintf(&text, HEAD "period = %s\n[worker:w]\nexec = x\n", ok[i].v) > 0);
                LOAD_OK(text, c);
                ASSERT_TRUE(c->root->period_ms == ok[i].ms);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;

                ASSERT_TRUE(asprintf(&text, HEAD "period = %s\n[worker:w]\nexec = x\n", bad[i]) > 0);
                EXPECT_ERROR(text, ":3: bad value");
                EXPECT_ERROR(text, "for period: expected seconds above 0");
        }
}

TEST(supervisor_keys) {
        _cleanup_config_ Config *c = NULL;

        LOAD_OK("[supervisor:app]\nstrategy = rest_for_one\nintensity = 0\nperiod = 60\nchildren = sub, w\n"
                "auto_shutdown = any_significant\n"
                "[supervisor:sub]\nstrategy = one_for_all\nrestart = transient\nshutdown = 2000\nsignificant = yes\n"
                "intensity = 1000000\n"
                "[worker:w]\nexec = x\n", c);
        ASSERT_EQ(c->root->strategy, STRATEGY_REST_FOR_ONE);
        ASSERT_EQ(c->root->intensity, 0);
        ASSERT_TRUE(c->root->period_ms == 60000);
        ASSERT_EQ(c->root->auto_shutdown, AUTO_SHUTDOWN_ANY_SIGNIFICANT);
        ASSERT_EQ(c->root->n_children, 2);
        ASSERT_STREQ(c->root->children[0]->name, "sub");
        ASSERT_STREQ(c->root->children[1]->name, "w");
        ASSERT_EQ(c->root->children[0]->strategy, STRATEGY_ONE_FOR_ALL);
        ASSERT_EQ(c->root->children[0]->restart, RESTART_TRANSIENT);
        ASSERT_TRUE(c->root->children[0]->shutdown_ms == 2000);
        ASSERT_TRUE(c->root->children[0]->significant);
        ASSERT_EQ(c->root->children[0]->intensity, 1000000);

        EXPECT_ERROR("[supervisor:app]\nintensity = 1000001\n",
                     NAME ":2: bad value '1000001' for intensity: expected an integer from 0 to 1000000");
        EXPECT_ERROR("[supervisor:app]\nauto_shutdown = any\n",
                     NAME ":2: bad value 'any' for auto_shutdown: expected never, any_significant or all_significant");
}

TEST(simple_one_for_one) {
        _cleanup_config_ Config *c = NULL;

        LOAD_OK("[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = job\ninstances = 3\nmax_children = 10\n"
                "[worker:job]\nexec = /bin/sleep %i\n", c);
        ASSERT_EQ(c->root->strategy, STRATEGY_SIMPLE_ONE_FOR_ONE);
        ASSERT_TRUE(c->root->template_ == config_find(c, SPEC_WORKER, "job"));
        ASSERT_EQ(c->root->instances, 3);
        ASSERT_EQ(c->root->max_children, 10);
        ASSERT_EQ(c->root->n_children, 0);

        EXPECT_ERROR("[supervisor:pool]\nstrategy = simple_one_for_one\n[worker:job]\nexec = x\n",
                     NAME ":1: simple_one_for_one supervisor 'pool' needs a template");
        EXPECT_ERROR("[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = job\ninstances = 11\nmax_children = 10\n"
                     "[worker:job]\nexec = x\n",
                     NAME ":4: instances (11) is above max_children (10)");
        EXPECT_ERROR("[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = job\nchildren = job\n[worker:job]\nexec = x\n",
                     NAME ":4: children is not allowed with simple_one_for_one");
        EXPECT_ERROR("[supervisor:pool]\nchildren = job\ntemplate = job\n[worker:job]\nexec = x\n",
                     NAME ":3: template is only allowed with strategy = simple_one_for_one");
        EXPECT_ERROR(HEAD "instances = 2\n[worker:w]\nexec = x\n",
                     NAME ":3: instances is only allowed with strategy = simple_one_for_one");
        EXPECT_ERROR("[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = jbo\n[worker:job]\nexec = x\n",
                     NAME ":3: template: undefined section 'jbo', did you mean 'job'?");
        EXPECT_ERROR("[supervisor:app]\nchildren = pool\n[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = app\n",
                     NAME ":5: template 'app' is a supervisor");
        EXPECT_ERROR("[supervisor:pool]\nstrategy = simple_one_for_one\nmax_children = 0\ntemplate = job\n[worker:job]\nexec=x\n",
                     NAME ":3: bad value '0' for max_children: expected an integer from 1 to 1000000 or unlimited");
}

TEST(template_cannot_be_child) {
        EXPECT_ERROR("[supervisor:app]\nchildren = pool, job\n"
                     "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = job\n[worker:job]\nexec = x\n",
                     NAME ":2: 'job' is the template of supervisor 'pool' and cannot also be a child");
}

TEST(exec_splitting) {
        static const struct {
                const char *exec;
                const char *const argv[6];
        } cases[] = {
                { "/bin/echo a  b", { "/bin/echo", "a", "b" } },
                { "sh -c 'echo \"x\" $HOME'", { "sh", "-c", "echo \"x\" $HOME" } },
                { "echo \"a \\\"b\\\" \\\\ \\$x \\n\"", { "echo", "a \"b\" \\ $x \\n" } },
                { "echo a\\ b\\'c", { "echo", "a b'c" } },
                { "echo '' x\"y\"'z'", { "echo", "", "xyz" } },
                { "echo a#b %i %n %%", { "echo", "a#b", "%i", "%n", "%%" } },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_config_ Config *c = NULL;
                _cleanup_free_ char *text = NULL;
                Spec *w;
                size_t n = 0;

                ASSERT_TRUE(asprintf(&text, HEAD "[worker:w]\nexec = %s\n", cases[i].exec) > 0);
                LOAD_OK(text, c);
                w = config_find(c, SPEC_WORKER, "w");
                for (; cases[i].argv[n]; n++)
                        ASSERT_STREQ(w->argv[n], cases[i].argv[n]);
                ASSERT_EQ(strv_length(w->argv), n);
        }
}

TEST(exec_errors) {
        EXPECT_ERROR(HEAD "[worker:w]\nexec = sh -c 'oops\n", NAME ":4: bad value for exec: unterminated single quote");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = sh -c \"oops\n", NAME ":4: bad value for exec: unterminated double quote");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = echo \\\n", NAME ":4: bad value for exec: trailing backslash");
        EXPECT_ERROR(HEAD "[worker:w]\nexec =\n", NAME ":4: missing value for exec");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = \"\" x\n", NAME ":4: bad value for exec: the program name is empty");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = echo %x\n", NAME ":4: bad value for exec: unknown expansion '%x'");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = echo 100%\n", NAME ":4: bad value for exec: a lone '%' ends '100%'");
        EXPECT_ERROR(HEAD "[worker:w]\nrestart = temporary\n", NAME ":3: missing required key 'exec' in [worker:w]");
}

TEST(expand_argv) {
        _cleanup_config_ Config *c = NULL;
        _cleanup_strv_free_ char **a = NULL, **b = NULL;
        Spec *w;

        LOAD_OK(HEAD "[worker:w]\nexec = run --id=%i --name %n 100%% %%i\n", c);
        w = config_find(c, SPEC_WORKER, "w");
        ASSERT_OK(spec_expand_argv(w, "w.7", 7, &a));
        ASSERT_STREQ(a[0], "run");
        ASSERT_STREQ(a[1], "--id=7");
        ASSERT_STREQ(a[2], "--name");
        ASSERT_STREQ(a[3], "w.7");
        ASSERT_STREQ(a[4], "100%");
        ASSERT_STREQ(a[5], "%i");
        ASSERT_TRUE(a[6] == NULL);
        /* the spec keeps the unexpanded form */
        ASSERT_STREQ(w->argv[1], "--id=%i");

        ASSERT_OK(spec_expand_argv(w, NULL, -1, &b));
        ASSERT_STREQ(b[1], "--id=");
        ASSERT_STREQ(b[3], "w");
}

TEST(expand_argv_refuses_unknown) {
        char *argv[] = { (char *) "x%q", NULL };
        Spec s = { .kind = SPEC_WORKER, .name = (char *) "w", .argv = argv };
        char **out = NULL;

        ASSERT_ERR(spec_expand_argv(&s, NULL, 0, &out), -EINVAL);
        ASSERT_TRUE(out == NULL);
}

TEST(bad_values_with_accepted_values) {
        EXPECT_ERROR("[supervisor:app]\nstrategy = one_for_al\n",
                     NAME ":2: bad value 'one_for_al' for strategy: expected one_for_one, one_for_all, rest_for_one or "
                     "simple_one_for_one; did you mean 'one_for_all'?");
        static const WorkerError cases[] = {
                { "restart = always\n",
                  NAME ":5: bad value 'always' for restart: expected permanent, transient or temporary\n" },
                { "ready = mailbx\n",
                  NAME ":5: bad value 'mailbx' for ready: expected none, mailbox, notify, exit or health; did you mean 'mailbox'?" },
                { "stdout = fil:/x\n",
                  NAME ":5: bad value 'fil:/x' for stdout: expected log, inherit, null or file:PATH" },
                { "stdout = file:\n", NAME ":5: bad value 'file:' for stdout: file: needs a path" },
                { "stdin = log\n", NAME ":5: bad value 'log' for stdin: expected null or inherit" },
                { "kill_group = yse\n",
                  NAME ":5: bad value 'yse' for kill_group: expected yes or no; did you mean 'yes'?" },
                { "shutdown = brutal\n",
                  NAME ":5: bad value 'brutal' for shutdown: expected milliseconds (0 to 4294967295), brutal_kill or infinity" },
                { "shutdown = -1\n", NAME ":5: bad value '-1' for shutdown" },
                { "ready_timeout = 0\n",
                  NAME ":5: bad value '0' for ready_timeout: expected milliseconds from 1 to 4294967295" },
                { "mailbox_limit = 1000001\n",
                  NAME ":5: bad value '1000001' for mailbox_limit: expected an integer from 1 to 1000000" },
                { "mailbox_limit = 0\n", NAME ":5: bad value '0' for mailbox_limit" },
                { "restart_delay = 99999999999\n",
                  NAME ":5: bad value '99999999999' for restart_delay: expected milliseconds from 0 to 4294967295" },
                { "umask = 0778\n", NAME ":5: bad value '0778' for umask: expected an octal mode from 0 to 0777" },
                { "umask = 1000\n", NAME ":5: bad value '1000' for umask" },
                { "nice = 20\n", NAME ":5: bad value '20' for nice: expected an integer from -20 to 19" },
                { "nice = -21\n", NAME ":5: bad value '-21' for nice" },
                { "limit_nofile = 10:5\n",
                  NAME ":5: bad value '10:5' for limit_nofile: the soft limit is above the hard limit" },
                { "limit_nofile = lots\n",
                  NAME ":5: bad value 'lots' for limit_nofile: expected N, infinity or SOFT:HARD" },
                { "limit_nofile = 1K\n", NAME ":5: bad value '1K' for limit_nofile" },
                { "normal_exit = 0 256\n",
                  NAME ":5: bad value '256' for normal_exit: expected exit codes from 0 to 255" },
                { "normal_exit =\n", NAME ":5: normal_exit needs at least one exit code" },
                { "restart =\n", NAME ":5: missing value for restart" },
        };
        expect_worker_errors(failed_, cases, ELEMENTSOF(cases));
}

TEST(register_subscribe_environment) {
        char longname[80];

        memset(longname, 'n', REGISTRY_KEY_MAX + 1);
        longname[REGISTRY_KEY_MAX + 1] = '\0';
        {
                _cleanup_free_ char *extra = NULL, *text = NULL;
                ASSERT_TRUE(asprintf(&extra, "register = %s\n", longname) > 0);
                text = with_worker(extra);
                EXPECT_ERROR(text, NAME ":5: bad value '");
                EXPECT_ERROR(text, "for register: expected none, a name or +group (1-40 printable characters, no whitespace or '@')");
        }
        longname[REGISTRY_KEY_MAX] = '\0';
        {
                _cleanup_config_ Config *c = NULL;
                _cleanup_free_ char *extra = NULL, *text = NULL;
                ASSERT_TRUE(asprintf(&extra, "register = %s\n", longname) > 0);
                text = with_worker(extra);
                LOAD_OK(text, c);
                ASSERT_STREQ(config_find(c, SPEC_WORKER, "w")->register_name, longname);
        }
        static const WorkerError cases[] = {
                { "register = +\n", NAME ":5: bad value '+' for register" },
                { "register = ++x\n", NAME ":5: bad value '++x' for register" },
                { "subscribe = a*b\n", NAME ":5: bad topic 'a*b' for subscribe" },
                { "environment = 1A=x\n", NAME ":5: bad value '1A=x' for environment: expected KEY=VALUE" },
                { "environment = NOVALUE\n", NAME ":5: bad value 'NOVALUE' for environment" },
                { "environment = \"A=unterminated\n", NAME ":5: bad value for environment: unterminated double quote" },
        };
        expect_worker_errors(failed_, cases, ELEMENTSOF(cases));
}

TEST(user_and_group) {
        _cleanup_config_ Config *c = NULL;
        Spec *w;
        bool has0 = false;

        LOAD_OK(HEAD "[worker:w]\nexec = x\nuser = root\n", c);
        w = config_find(c, SPEC_WORKER, "w");
        ASSERT_STREQ(w->user, "root");
        ASSERT_EQ(w->uid, 0);
        ASSERT_EQ(w->gid, 0);
        ASSERT_TRUE(w->n_groups >= 1);
        for (size_t i = 0; i < w->n_groups; i++)
                has0 = has0 || w->groups[i] == 0;
        ASSERT_TRUE(has0);
        config_free(TAKE_PTR(c));

        /* group before user in the file: still the group given, not the user's */
        LOAD_OK(HEAD "[worker:w]\nexec = x\ngroup = 0\nuser = 0\n", c);
        w = config_find(c, SPEC_WORKER, "w");
        ASSERT_EQ(w->uid, 0);
        ASSERT_EQ(w->gid, 0);
        config_free(TAKE_PTR(c));

        LOAD_OK(HEAD "[worker:w]\nexec = x\ngroup = root\n", c);
        w = config_find(c, SPEC_WORKER, "w");
        ASSERT_TRUE(w->uid == (uid_t) -1);
        ASSERT_EQ(w->gid, 0);
        ASSERT_EQ(w->n_groups, 0);

        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\n\nuser = no-such-user-here\n", NAME ":6: unknown user 'no-such-user-here'");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\ngroup = no-such-group-here\n", NAME ":5: unknown group 'no-such-group-here'");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nuser = a:b\n", NAME ":5: bad value 'a:b' for user");
}

TEST(restart_delay_max_below_delay) {
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nrestart_delay_max = 100\nrestart_delay = 200\n",
                     NAME ":5: restart_delay_max (100) is below restart_delay (200)");
}

TEST(significant_needs_non_permanent) {
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nsignificant = yes\n",
                     NAME ":5: significant = yes needs restart = transient or temporary");
}

TEST(log_keys) {
        _cleanup_config_ Config *c = NULL, *d = NULL, *e = NULL;
        _cleanup_free_ char *text = with_worker("stdout = file:w.log\nlog_max_bytes = 10M\nlog_backups = 0\n");
        _cleanup_free_ char *plain = with_worker("stderr = file:/var/log/w.log\nlog_max_bytes = 4096\n");

        LOAD_OK(text, c);
        ASSERT_EQ(c->sections[1]->log_max_bytes, 10ull << 20);
        ASSERT_EQ(c->sections[1]->log_backups, 0);
        ASSERT_EQ(c->log_timestamps, -1);
        LOAD_OK(plain, d);
        ASSERT_EQ(d->sections[1]->log_max_bytes, 4096);
        ASSERT_EQ(d->sections[1]->log_backups, 10);
        LOAD_OK("[forkvisor]\nlog_timestamps = no\n" HEAD "[worker:w]\nexec = x\n", e);
        ASSERT_EQ(e->log_timestamps, 0);
        ASSERT_EQ(e->sections[1]->log_max_bytes, 0);

        EXPECT_ERROR("[forkvisor]\nlog_timestamps = sometimes\n" HEAD "[worker:w]\nexec=x\n",
                     NAME ":2: bad value 'sometimes' for log_timestamps: expected yes or no");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nlog_max_bytes = 1M\n",
                     NAME ":5: log_max_bytes needs a file: output to rotate (stdout or stderr = file:PATH)");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nstdout = file:a\nlog_backups = 3\n",
                     NAME ":6: log_backups without log_max_bytes: nothing is rotated");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nstdout = file:a\nlog_max_bytes = 1Q\n",
                     NAME ":6: bad value '1Q' for log_max_bytes: expected bytes (N, or with a K, M, G or T suffix)");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nstdout = file:a\nlog_max_bytes = infinity\n",
                     NAME ":6: bad value 'infinity' for log_max_bytes");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nstdout = file:a\nlog_max_bytes = 1K\nlog_backups = 1001\n",
                     NAME ":7: bad value '1001' for log_backups: expected an integer from 0 to 1000");
}

TEST(unknown_key_did_you_mean) {
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nrestrat = permanent\n",
                     NAME ":5: unknown key 'restrat', did you mean 'restart'?");
        EXPECT_ERROR("[supervisor:x]\nexec = /bin/true\n",
                     NAME ":2: unknown key 'exec' in [supervisor:x] (only [worker:NAME] sections take it)");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nstrategy = one_for_one\n",
                     NAME ":5: unknown key 'strategy' in [worker:w] (only [supervisor:NAME] sections take it)");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nlog = stderr\n", NAME ":5: unknown key 'log' in [worker:w] (it belongs in [forkvisor])");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nfrobnicate = 1\n", NAME ":5: unknown key 'frobnicate' in [worker:w]\n");
        EXPECT_ERROR("[forkvisor]\nroots = app\n" HEAD "[worker:w]\nexec = x\n",
                     NAME ":2: unknown key 'roots', did you mean 'root'?");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nExec = y\n", NAME ":5: unknown key 'Exec', did you mean 'exec'?");
        EXPECT_ERROR("[supervisor:app]\nstratgey = one_for_all\n", NAME ":2: unknown key 'stratgey', did you mean 'strategy'?");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nrestart_dely = 5\n", NAME ":5: unknown key 'restart_dely', did you mean 'restart_delay'?");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nmailbox_limt = 5\n", NAME ":5: unknown key 'mailbox_limt', did you mean 'mailbox_limit'?");
        EXPECT_ERROR("x = 1\n" HEAD "[worker:w]\nexec = x\n", NAME ":1: key 'x' outside of any section");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\n= 1\n", NAME ":5: missing key name before '='");
}

TEST(key_tables_match_the_parser) {
        const char *const *tables[] = { config_keys_forkvisor, config_keys_supervisor, config_keys_worker,
                                         config_keys_cluster };
        const char *headers[] = { "[forkvisor]", "[supervisor:s]", "[worker:s]", "[cluster]" };

        /* Every listed key is accepted by its kind (any error but "unknown key"), and refused
         * by the kinds that do not list it. */
        for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                for (size_t i = 0; tables[t][i]; i++)
                        for (size_t u = 0; u < ELEMENTSOF(tables); u++) {
                                _cleanup_free_ char *text = NULL, *diag = NULL;
                                Config *c = NULL;
                                bool listed = false;

                                for (size_t j = 0; tables[u][j]; j++)
                                        listed = listed || strcmp(tables[u][j], tables[t][i]) == 0;
                                ASSERT_TRUE(asprintf(&text, "%s\n%s = \x7e\n", headers[u], tables[t][i]) > 0);
                                (void) load(text, &c, &diag);
                                config_free(c);
                                if (listed && strstr(diag, "unknown key"))
                                        FAIL_("%s refused in %s: %s", tables[t][i], headers[u], diag);
                                if (!listed && !strstr(diag, "unknown key"))
                                        FAIL_("%s accepted in %s: %s", tables[t][i], headers[u], diag);
                        }
}

TEST(enum_strings) {
        for (int i = 0; i < _STRATEGY_MAX; i++)
                ASSERT_EQ(strategy_from_string(strategy_to_string(i)), i);
        for (int i = 0; i < _RESTART_TYPE_MAX; i++)
                ASSERT_EQ(restart_type_from_string(restart_type_to_string(i)), i);
        for (int i = 0; i < _READY_MODE_MAX; i++)
                ASSERT_EQ(ready_mode_from_string(ready_mode_to_string(i)), i);
        for (int i = 0; i < _AUTO_SHUTDOWN_MAX; i++)
                ASSERT_EQ(auto_shutdown_from_string(auto_shutdown_to_string(i)), i);
        for (int i = 0; i < _OUTPUT_MODE_MAX; i++)
                ASSERT_EQ(output_mode_from_string(output_mode_to_string(i)), i);
        for (int i = 0; i < _LOG_TARGET_MAX; i++)
                ASSERT_EQ(log_target_from_string(log_target_to_string(i)), i);
        ASSERT_EQ(strategy_from_string("nope"), _STRATEGY_INVALID);
        ASSERT_EQ(strategy_from_string(NULL), _STRATEGY_INVALID);
        ASSERT_TRUE(strategy_to_string(_STRATEGY_MAX) == NULL);
        ASSERT_STREQ(restart_type_to_string(RESTART_TEMPORARY), "temporary");
        ASSERT_STREQ(spec_kind_to_string(SPEC_SUPERVISOR), "supervisor");
        ASSERT_TRUE(spec_name_is_valid("a-b_9"));
        ASSERT_TRUE(!spec_name_is_valid("a.b"));
        ASSERT_TRUE(!spec_name_is_valid(""));
        ASSERT_TRUE(registry_name_is_valid("Web.1:x"));
        ASSERT_TRUE(!registry_name_is_valid("a b"));
}

TEST(strv_helpers) {
        _cleanup_strv_free_ char **l = NULL, **copy = NULL;

        ASSERT_EQ(strv_length(NULL), 0);
        ASSERT_OK(strv_push(&l, "a"));
        ASSERT_OK(strv_push(&l, "b"));
        ASSERT_OK(strv_consume(&l, strdup("c")));
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_TRUE(strv_contains(l, "b"));
        ASSERT_EQ(strv_index(l, "c"), 2);
        ASSERT_EQ(strv_index(l, "z"), -1);
        strv_remove_at(l, 1);
        ASSERT_EQ(strv_length(l), 2);
        ASSERT_STREQ(l[1], "c");
        copy = strv_copy(l);
        ASSERT_EQ(strv_length(copy), 2);
        ASSERT_TRUE(copy[0] != l[0]);
        ASSERT_OK(strv_extend_strv(&copy, l));
        ASSERT_EQ(strv_length(copy), 4);
}

TEST(registry_names_unique_across_workers_and_never_all_digits) {
        EXPECT_ERROR("[supervisor:a]\nchildren = x y\n[worker:x]\nexec = e\nregister = dup\n"
                     "[worker:y]\nexec = e\nregister = dup\n",
                     NAME ":6: registry name 'dup' is already the name of [worker:x] (" NAME ":3)");
        EXPECT_ERROR("[supervisor:a]\nchildren = x\n[worker:x]\nexec = e\nregister = 123\n",
                     NAME ":5: bad value '123' for register");
        EXPECT_ERROR("[supervisor:a]\nchildren = x\n[worker:x]\nexec = e\nregister = +42\n",
                     NAME ":5: bad value '+42' for register");
        /* A duplicate key may be configured on many workers. */
        _cleanup_config_ Config *c = NULL;
        LOAD_OK("[supervisor:a]\nchildren = x y\n[worker:x]\nexec = e\nregister = +g\n"
                "[worker:y]\nexec = e\nregister = +g\n",
                c);
}

/* Past TOPIC_SUBSCRIPTIONS_MAX, one error a line: the words after it on that line are not read,
 * and a topic already listed is no new one. */
TEST(too_many_topics_once_a_line) {
        _cleanup_free_ char *text = NULL, *diag = NULL, *want = NULL;
        size_t size = 0, wsize = 0, n = 0;
        FILE *f = open_memstream(&text, &size), *w = open_memstream(&want, &wsize);
        const char *bad = "bad topic 'b*d' for subscribe: expected 1-255 printable characters, no whitespace, '*' only at the end";
        const char *many = "too many topics for subscribe: at most 1024";
        unsigned line = 6;
        Config *c = NULL;

        ASSERT_TRUE(f && w);
        ASSERT_EQ(TOPIC_SUBSCRIPTIONS_MAX, 1024);
        fputs(HEAD "[worker:w]\nexec = x\nsubscribe =\n", f);
        for (; n < TOPIC_SUBSCRIPTIONS_MAX + 10; line++) {
                fputs(" ", f);
                for (int i = 0; i < 25; i++)
                        fprintf(f, " t%zu", n++);
                fputs(" b*d\n", f);
                fprintf(w, NAME ":%u: %s\n", line, n > TOPIC_SUBSCRIPTIONS_MAX ? many : bad);
        }
        fputs("  t0 b*d\n  t1 t99999 b*d\n", f);
        fprintf(w, NAME ":%u: %s\n" NAME ":%u: %s\n", line, bad, line + 1, many);
        ASSERT_TRUE(fclose(f) == 0 && fclose(w) == 0);

        ASSERT_ERR(load(text, &c, &diag), -EINVAL);
        ASSERT_TRUE(c == NULL);
        ASSERT_STREQ(diag, want);
}

TEST(exit_status_key) {
        _cleanup_config_ Config *c = NULL, *d = NULL;

        LOAD_OK(HEAD "[worker:w]\nexec = x\n", c);
        ASSERT_EQ(c->exit_status, EXIT_STATUS_NORMAL);
        LOAD_OK("[forkvisor]\nexit_status = significant\n" HEAD "[worker:w]\nexec = x\n", d);
        ASSERT_EQ(d->exit_status, EXIT_STATUS_SIGNIFICANT);
        EXPECT_ERROR("[forkvisor]\nexit_status = signficant\n" HEAD "[worker:w]\nexec = x\n",
                     NAME ":2: bad value 'signficant' for exit_status: expected normal or significant; did you mean 'significant'?");
        EXPECT_ERROR(HEAD "exit_status = normal\n[worker:w]\nexec = x\n",
                     NAME ":3: unknown key 'exit_status' in [supervisor:app] (it belongs in [forkvisor])");
}

TEST(min_uptime_key) {
        _cleanup_config_ Config *c = NULL, *d = NULL;

        LOAD_OK(HEAD "[worker:w]\nexec = x\n", c);
        ASSERT_TRUE(config_find(c, SPEC_WORKER, "w")->min_uptime_ms == 0);
        /* Below ready_timeout (its default here), or with ready = none, which has none. */
        LOAD_OK(HEAD "[worker:w]\nexec = x\nready = mailbox\nmin_uptime = 9999\n", d);
        ASSERT_TRUE(config_find(d, SPEC_WORKER, "w")->min_uptime_ms == 9999);
        config_free(TAKE_PTR(d));
        LOAD_OK(HEAD "[worker:w]\nexec = x\nmin_uptime = 60000\n", d);
        ASSERT_TRUE(config_find(d, SPEC_WORKER, "w")->min_uptime_ms == 60000);
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nmin_uptime = soon\n",
                     NAME ":5: bad value 'soon' for min_uptime: expected milliseconds from 0 to");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nready = notify\nready_timeout = 500\nmin_uptime = 500\n",
                     NAME ":7: min_uptime (500 ms) must be below ready_timeout (500 ms) with ready = notify");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nmin_uptime = 10000\nready = mailbox\n",
                     NAME ":5: min_uptime (10000 ms) must be below ready_timeout (10000 ms, its default) with ready = mailbox");
        EXPECT_ERROR(HEAD "[supervisor:p]\nmin_uptime = 10\n[worker:w]\nexec = x\n",
                     "unknown key 'min_uptime' in [supervisor:p] (only [worker:NAME] sections take it)");
}

TEST(health_keys) {
        _cleanup_config_ Config *c = NULL;
        Spec *w;

        LOAD_OK(HEAD "[worker:w]\nexec = /bin/true\n", c);
        w = config_find(c, SPEC_WORKER, "w");
        ASSERT_TRUE(!w->health);
        ASSERT_TRUE(w->health_interval_ms == 30000 && w->health_timeout_ms == 30000);
        ASSERT_EQ(w->health_retries, 3);
        ASSERT_TRUE(w->health_start_period_ms == 0);
        config_free(TAKE_PTR(c));

        LOAD_OK(HEAD "[worker:w]\nexec = /bin/true\nhealth = sh -c 'test -e \"%n ok\"'\nready = health\n"
                     "health_interval = 250\nhealth_timeout = 1\nhealth_retries = 1\nhealth_start_period = 0\n", c);
        w = config_find(c, SPEC_WORKER, "w");
        ASSERT_STREQ(w->health[0], "sh");
        ASSERT_STREQ(w->health[2], "test -e \"%n ok\"");
        ASSERT_TRUE(w->health[3] == NULL);
        ASSERT_EQ(w->ready, READY_HEALTH);
        ASSERT_TRUE(w->health_interval_ms == 250 && w->health_timeout_ms == 1);
        ASSERT_EQ(w->health_retries, 1);

        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nhealth =\n", NAME ":5: missing value for health");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nhealth = echo %x\n", NAME ":5: bad value for health: unknown expansion '%x'");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nhealth = x\nhealth_interval = 0\n",
                     NAME ":6: bad value '0' for health_interval: expected milliseconds from 1");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nhealth = x\nhealth_timeout = 1s\n",
                     NAME ":6: bad value '1s' for health_timeout: expected milliseconds from 1");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nhealth = x\nhealth_retries = 0\n", NAME ":6: bad value '0' for health_retries");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nhealth = x\nhealth_start_period = -1\n",
                     NAME ":6: bad value '-1' for health_start_period");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nready = health\n", NAME ":5: ready = health needs a health check");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nhealth_timeout = 5\n", NAME ":5: health_timeout without health");
}

TEST(ready_health_needs_a_first_check_before_ready_timeout) {
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nhealth = x\nready = health\n",
                     NAME ":3: health_interval (30000 ms, its default) must be below ready_timeout (10000 ms, its default)");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nhealth = x\nready = health\nhealth_interval = 500\nready_timeout = 500\n",
                     NAME ":7: health_interval (500 ms) must be below ready_timeout (500 ms)");
}
