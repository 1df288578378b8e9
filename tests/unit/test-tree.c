/* SPDX-License-Identifier: MIT */
/* The supervision policy with no process at all: fake TreeOps record spawns, signals and
 * timers, and the tests feed exits, readiness and timer expiries by hand. */
#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "spec.h"
#include "tests.h"
#include "tree.h"

#define FAKE_EXTRA_FIELDS Config *config;
#include "fake-tree.h"

static int fake_setup(Fake *f, const char *ini) {
        fake_init(f);
        int r = fake_load_config(ini, &f->config);
        if (r < 0)
                return r;
        return tree_new(f->config, &fake_ops, f, &f->tree);
}

/* fake_setup(), then starts the tree and clears the log: for tests of a running tree. */
static int fake_boot(Fake *f, const char *ini) {
        int r = fake_setup(f, ini);
        if (r >= 0)
                fake_start(f);
        return r;
}

static void fake_done(Fake *f) {
        tree_free(f->tree);
        config_free(f->config);
}

/* The child exits: as the reaper would report it. */
static void die(Fake *f, const char *path, int code, int status) {
        tree_handle_exit(f->tree, N(f, path), code, status);
}

#define WA "[worker:a]\nexec = /bin/true\n"
#define WB "[worker:b]\nexec = /bin/true\n"
#define WC "[worker:c]\nexec = /bin/true\n"
#define THREE WA WB WC

TEST(start_in_order_and_stop_in_reverse) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a b c\n" THREE));
        tree_start(f.tree);
        ASSERT_STREQ(f.log, "+a +b +c ");
        ASSERT_EQ(f.tree->root->state, NODE_RUNNING);
        f.log[0] = 0;
        tree_shutdown(f.tree);
        ASSERT_STREQ(f.log, "-c:TERM ");
        die(&f, "s/c", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(f.log, "-c:TERM -b:TERM ");
        die(&f, "s/b", CLD_KILLED, SIGTERM);
        die(&f, "s/a", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(f.log, "-c:TERM -b:TERM -a:TERM ");
        ASSERT_EQ(f.finished, 0);
        fake_done(&f);
}

TEST(one_for_one_restarts_only_the_dead_child) {
        Fake f;
        ASSERT_OK(fake_boot(&f, "[supervisor:s]\nintensity = 5\nchildren = a b c\n" THREE));
        die(&f, "s/b", CLD_KILLED, SIGKILL);
        ASSERT_STREQ(f.log, "+b ");
        ASSERT_EQ(N(&f, "s/b")->restarts, 1);
        fake_done(&f);
}

TEST(one_for_all_stops_the_others_in_reverse_then_starts_all) {
        Fake f;
        ASSERT_OK(fake_boot(&f, "[supervisor:s]\nstrategy = one_for_all\nintensity = 5\nchildren = a b c\n" THREE));
        die(&f, "s/a", CLD_EXITED, 1);
        ASSERT_STREQ(f.log, "-c:TERM ");
        die(&f, "s/c", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(f.log, "-c:TERM -b:TERM ");
        die(&f, "s/b", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(f.log, "-c:TERM -b:TERM +a +b +c ");
        fake_done(&f);
}

TEST(rest_for_one_restarts_the_child_and_those_after_it) {
        Fake f;
        ASSERT_OK(fake_boot(&f, "[supervisor:s]\nstrategy = rest_for_one\nintensity = 5\nchildren = a b c\n" THREE));
        die(&f, "s/b", CLD_EXITED, 1);
        ASSERT_STREQ(f.log, "-c:TERM ");
        die(&f, "s/c", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(f.log, "-c:TERM +b +c ");
        fake_done(&f);
}

TEST(intensity_exceeded_gives_up_and_root_exits_1) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nintensity = 2\nperiod = 10\nchildren = a b\n" WA WB));
        tree_start(f.tree);
        die(&f, "s/a", CLD_EXITED, 1);
        f.now += USEC_PER_SEC;
        die(&f, "s/a", CLD_EXITED, 1);
        ASSERT_EQ(f.finished, -1);
        f.log[0] = 0;
        f.now += USEC_PER_SEC;
        die(&f, "s/a", CLD_EXITED, 1); /* the third within 10 s: more than 2 */
        ASSERT_STREQ(f.log, "gaveup:s -b:TERM ");
        die(&f, "s/b", CLD_KILLED, SIGTERM);
        ASSERT_EQ(f.finished, 1);
        fake_done(&f);
}

TEST(restarts_outside_the_period_do_not_count) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nintensity = 1\nperiod = 5\nchildren = a\n" WA));
        tree_start(f.tree);
        for (int i = 0; i < 10; i++) {
                f.now += 6 * USEC_PER_SEC;
                die(&f, "s/a", CLD_EXITED, 1);
        }
        ASSERT_EQ(f.finished, -1);
        ASSERT_EQ(N(&f, "s/a")->restarts, 10);
        fake_done(&f);
}

TEST(intensity_zero_gives_up_at_the_first_restart) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nintensity = 0\nchildren = a\n" WA));
        tree_start(f.tree);
        die(&f, "s/a", CLD_EXITED, 1);
        ASSERT_EQ(f.finished, 1);
        fake_done(&f);
}

TEST(escalation_restarts_the_inner_supervisor) {
        Fake f;
        ASSERT_OK(fake_setup(&f,
                             "[supervisor:top]\nintensity = 5\nchildren = inner c\n"
                             "[supervisor:inner]\nintensity = 0\nchildren = a b\n" THREE));
        tree_start(f.tree);
        ASSERT_STREQ(f.log, "+a +b +c ");
        f.log[0] = 0;
        die(&f, "top/inner/a", CLD_EXITED, 1);
        ASSERT_STREQ(f.log, "gaveup:inner -b:TERM ");
        die(&f, "top/inner/b", CLD_KILLED, SIGTERM);
        /* inner terminated abnormally; top (one_for_one) restarts it: a and b start again. */
        ASSERT_STREQ(f.log, "gaveup:inner -b:TERM +a +b ");
        ASSERT_EQ(N(&f, "top/inner")->restarts, 1);
        ASSERT_EQ(N(&f, "top/inner")->state, NODE_RUNNING);
        ASSERT_EQ(f.finished, -1);
        fake_done(&f);
}

TEST(restart_types) {
        Fake f;
        ASSERT_OK(fake_boot(&f,
                            "[supervisor:s]\nintensity = 10\nchildren = p t x\n"
                            "[worker:p]\nexec = /bin/true\n"
                            "[worker:t]\nexec = /bin/true\nrestart = transient\nnormal_exit = 0 3\n"
                            "[worker:x]\nexec = /bin/true\nrestart = temporary\n"));
        die(&f, "s/p", CLD_EXITED, 0);
        ASSERT_STREQ(f.log, "+p ");
        die(&f, "s/t", CLD_EXITED, 3);
        ASSERT_STREQ(f.log, "+p ");
        ASSERT_EQ(N(&f, "s/t")->state, NODE_STOPPED);
        ASSERT_OK(tree_start_node(f.tree, N(&f, "s/t"), &(const char *) { NULL }));
        die(&f, "s/t", CLD_KILLED, SIGSEGV);
        ASSERT_STREQ(f.log, "+p +t +t ");
        die(&f, "s/x", CLD_KILLED, SIGKILL);
        ASSERT_STREQ(f.log, "+p +t +t ");
        ASSERT_EQ(N(&f, "s/x")->state, NODE_STOPPED);
        fake_done(&f);
}

TEST(failed_start_rolls_back_in_reverse_and_fails_the_root) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a b c\n" THREE));
        f.fail_spawn = "c";
        tree_start(f.tree);
        ASSERT_STREQ(f.log, "+a +b !c -b:TERM ");
        die(&f, "s/b", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(f.log, "+a +b !c -b:TERM -a:TERM ");
        die(&f, "s/a", CLD_KILLED, SIGTERM);
        ASSERT_EQ(f.finished, 1);
        ASSERT_CONTAINS(f.tree->root->reason, "s/c");
        fake_done(&f);
}

TEST(start_waits_for_readiness) {
        Fake f;
        ASSERT_OK(fake_setup(&f,
                             "[supervisor:s]\nchildren = a b\n"
                             "[worker:a]\nexec = /bin/true\nready = notify\n[worker:b]\nexec = /bin/true\n"));
        tree_start(f.tree);
        ASSERT_STREQ(f.log, "+a ");
        ASSERT_EQ(f.tree->root->state, NODE_STARTING);
        tree_handle_ready(f.tree, N(&f, "s/a"));
        ASSERT_STREQ(f.log, "+a +b ");
        ASSERT_EQ(f.tree->root->state, NODE_RUNNING);
        fake_done(&f);
}

TEST(ready_timeout_is_a_failed_start) {
        Fake f;
        ASSERT_OK(fake_setup(&f,
                             "[supervisor:s]\nchildren = a\n"
                             "[worker:a]\nexec = /bin/true\nready = notify\nready_timeout = 100\n"));
        tree_start(f.tree);
        tree_handle_timer(f.tree, N(&f, "s/a"));
        ASSERT_STREQ(f.log, "+a -a:KILL ");
        die(&f, "s/a", CLD_KILLED, SIGKILL);
        ASSERT_EQ(f.finished, 1);
        ASSERT_CONTAINS(N(&f, "s/a")->reason, "not ready");
        fake_done(&f);
}

TEST(shutdown_timeout_sends_kill) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a\n[worker:a]\nexec = /bin/true\nshutdown = 100\n"));
        tree_start(f.tree);
        tree_shutdown(f.tree);
        tree_handle_timer(f.tree, N(&f, "s/a"));
        ASSERT_STREQ(f.log, "+a -a:TERM -a:KILL ");
        die(&f, "s/a", CLD_KILLED, SIGKILL);
        ASSERT_EQ(f.finished, 0);
        fake_done(&f);
}

TEST(brutal_kill_and_stop_signal) {
        Fake f;
        ASSERT_OK(fake_setup(&f,
                             "[supervisor:s]\nchildren = a b\n"
                             "[worker:a]\nexec = /bin/true\nshutdown = brutal_kill\n"
                             "[worker:b]\nexec = /bin/true\nstop_signal = INT\n"));
        tree_start(f.tree);
        tree_shutdown(f.tree);
        die(&f, "s/b", CLD_KILLED, SIGINT);
        ASSERT_STREQ(f.log, "+a +b -b:INT -a:KILL ");
        fake_done(&f);
}

TEST(simple_one_for_one_instances_and_dynamic_children) {
        Fake f;
        ASSERT_OK(fake_setup(&f,
                             "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = w\ninstances = 2\n"
                             "max_children = 3\nintensity = 5\n[worker:w]\nexec = /bin/true\nrestart = transient\n"));
        tree_start(f.tree);
        ASSERT_STREQ(f.log, "+w.1 +w.2 ");
        Node *c = NULL;
        const char *err = NULL;
        ASSERT_OK(tree_start_child(f.tree, f.tree->root, NULL, &c, &err));
        ASSERT_STREQ(c->path, "pool/w.3");
        ASSERT_ERR(tree_start_child(f.tree, f.tree->root, NULL, &c, &err), -EUSERS);
        /* A transient dynamic child that finished normally is forgotten (OTP). */
        die(&f, "pool/w.2", CLD_EXITED, 0);
        ASSERT_TRUE(tree_find(f.tree, "pool/w.2") == NULL);
        ASSERT_OK(tree_terminate_child(f.tree, N(&f, "pool/w.1"), &err));
        die(&f, "pool/w.1", CLD_KILLED, SIGTERM);
        ASSERT_TRUE(tree_find(f.tree, "pool/w.1") == NULL);
        ASSERT_EQ(f.tree->root->n_children, 1);
        fake_done(&f);
}

/* A fleet boots all at once: every instance is started before any is ready, the supervisor is
 * running once all are; one that fails rolls back all the others (started at once). */
TEST(simple_one_for_one_starts_its_instances_at_once) {
        Fake f;
        const char *ini = "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = w\ninstances = 3\n"
                          "[worker:w]\nexec = /bin/true\nready = notify\n";
        ASSERT_OK(fake_setup(&f, ini));
        tree_start(f.tree);
        ASSERT_STREQ(f.log, "+w.1 +w.2 +w.3 ");
        tree_handle_ready(f.tree, N(&f, "pool/w.3"));
        tree_handle_ready(f.tree, N(&f, "pool/w.1"));
        ASSERT_EQ(f.tree->root->state, NODE_STARTING);
        tree_handle_ready(f.tree, N(&f, "pool/w.2"));
        ASSERT_EQ(f.tree->root->state, NODE_RUNNING);
        fake_done(&f);

        ASSERT_OK(fake_setup(&f, ini));
        tree_start(f.tree);
        tree_handle_ready(f.tree, N(&f, "pool/w.1"));
        die(&f, "pool/w.2", CLD_EXITED, 1); /* before it was ready: a failed start */
        ASSERT_STREQ(f.log, "+w.1 +w.2 +w.3 -w.1:TERM -w.3:TERM ");
        die(&f, "pool/w.1", CLD_KILLED, SIGTERM);
        die(&f, "pool/w.3", CLD_KILLED, SIGTERM);
        ASSERT_EQ(f.finished, 1);
        ASSERT_CONTAINS(f.tree->root->reason, "pool/w.2");
        fake_done(&f);
}

/* An instance up and gone again while the others are still starting does not hold the start
 * job: the fleet comes up, and its exit is handled then (a restart). */
TEST(simple_one_for_one_instance_that_exits_while_the_others_start) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = w\ninstances = 2\n"
                                 "[worker:w]\nexec = /bin/true\nready = notify\n"));
        tree_start(f.tree);
        tree_handle_ready(f.tree, N(&f, "pool/w.2"));
        die(&f, "pool/w.2", CLD_EXITED, 1);
        ASSERT_EQ(f.tree->root->state, NODE_STARTING);
        tree_handle_ready(f.tree, N(&f, "pool/w.1"));
        ASSERT_EQ(f.tree->root->state, NODE_RUNNING);
        ASSERT_STREQ(f.log, "+w.1 +w.2 +w.2 ");
        ASSERT_EQ(N(&f, "pool/w.2")->restarts, 1u);
        fake_done(&f);
}

TEST(auto_shutdown_any_significant_ends_the_root_normally) {
        Fake f;
        ASSERT_OK(fake_setup(&f,
                             "[supervisor:s]\nauto_shutdown = any_significant\nchildren = job other\n"
                             "[worker:job]\nexec = /bin/true\nrestart = transient\nsignificant = yes\n"
                             "[worker:other]\nexec = /bin/true\n"));
        tree_start(f.tree);
        die(&f, "s/job", CLD_EXITED, 0);
        ASSERT_STREQ(f.log, "+job +other -other:TERM ");
        die(&f, "s/other", CLD_KILLED, SIGTERM);
        ASSERT_EQ(f.finished, 0);
        fake_done(&f);
}

TEST(restart_delay_doubles_up_to_the_cap) {
        Fake f;
        ASSERT_OK(fake_setup(&f,
                             "[supervisor:s]\nintensity = 100\nperiod = 100\nchildren = a\n"
                             "[worker:a]\nexec = /bin/true\nrestart_delay = 100\nrestart_delay_max = 300\n"));
        tree_start(f.tree);
        Node *a = N(&f, "s/a");
        die(&f, "s/a", CLD_EXITED, 1);
        ASSERT_EQ(a->state, NODE_RESTARTING);
        ASSERT_STREQ(f.log, "+a ");
        tree_handle_timer(f.tree, a);
        ASSERT_STREQ(f.log, "+a +a ");
        ASSERT_EQ(a->state, NODE_RUNNING);
        fake_done(&f);
}

TEST(a_spawn_that_keeps_failing_ends_at_intensity) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nintensity = 3\nperiod = 100\nchildren = a\n" WA));
        tree_start(f.tree);
        f.fail_spawn = "a";
        die(&f, "s/a", CLD_EXITED, 1);
        for (int i = 0; i < 10 && f.finished < 0; i++)
                tree_handle_timer(f.tree, N(&f, "s/a"));
        ASSERT_EQ(f.finished, 1);
        fake_done(&f);
}

TEST(operator_stop_holds_and_start_resumes) {
        Fake f;
        const char *err = NULL;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a b\n" WA WB));
        tree_start(f.tree);
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/a"), &err));
        die(&f, "s/a", CLD_KILLED, SIGTERM);
        ASSERT_EQ(N(&f, "s/a")->state, NODE_STOPPED);
        ASSERT_OK(tree_start_node(f.tree, N(&f, "s/a"), &err));
        ASSERT_STREQ(f.log, "+a +b -a:TERM +a ");
        ASSERT_OK(tree_restart_node(f.tree, N(&f, "s/b"), &err));
        die(&f, "s/b", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(f.log, "+a +b -a:TERM +a -b:TERM +b ");
        ASSERT_EQ(N(&f, "s/b")->restarts, 0); /* operator restarts do not count */
        fake_done(&f);
}

TEST(exit_during_a_group_restart_is_handled_afterwards) {
        Fake f;
        ASSERT_OK(fake_boot(&f,
                            "[supervisor:s]\nstrategy = rest_for_one\nintensity = 10\nchildren = a b c\n" THREE));
        die(&f, "s/b", CLD_EXITED, 1); /* stops c first */
        die(&f, "s/a", CLD_EXITED, 1); /* a dies meanwhile: queued */
        ASSERT_STREQ(f.log, "-c:TERM ");
        die(&f, "s/c", CLD_KILLED, SIGTERM);
        /* b and c restarted, then the queued exit of a: rest_for_one from a stops c and b. */
        ASSERT_STREQ(f.log, "-c:TERM +b +c -c:TERM ");
        die(&f, "s/c", CLD_KILLED, SIGTERM);
        die(&f, "s/b", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(f.log, "-c:TERM +b +c -c:TERM -b:TERM +a +b +c ");
        fake_done(&f);
}

TEST(a_pool_stops_all_at_once_and_ends_when_the_last_is_down) {
        Fake f;
        ASSERT_OK(fake_boot(&f,
                            "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = w\ninstances = 3\n"
                            "[worker:w]\nexec = /bin/true\n"));
        tree_shutdown(f.tree);
        ASSERT_STREQ(f.log, "-w.1:TERM -w.2:TERM -w.3:TERM ");
        die(&f, "pool/w.3", CLD_KILLED, SIGTERM);
        die(&f, "pool/w.1", CLD_KILLED, SIGTERM);
        ASSERT_EQ(f.finished, -1);
        die(&f, "pool/w.2", CLD_KILLED, SIGTERM);
        ASSERT_EQ(f.finished, 0);
        ASSERT_STREQ(f.log, "-w.1:TERM -w.2:TERM -w.3:TERM ");
        fake_done(&f);
}

TEST(a_restarted_pool_has_only_its_configured_instances) {
        Fake f;
        const char *err = NULL;
        Node *c = NULL;
        ASSERT_OK(fake_setup(&f,
                             "[supervisor:top]\nintensity = 5\nchildren = pool\n"
                             "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = w\ninstances = 1\n"
                             "intensity = 0\n[worker:w]\nexec = /bin/true\n"));
        tree_start(f.tree);
        ASSERT_OK(tree_start_child(f.tree, N(&f, "top/pool"), NULL, &c, &err));
        ASSERT_EQ(N(&f, "top/pool")->n_children, 2);
        f.log[0] = 0;
        die(&f, "top/pool/w.1", CLD_EXITED, 1); /* intensity 0: the pool gives up */
        die(&f, "top/pool/w.2", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(f.log, "gaveup:pool -w.2:TERM +w.1 ");
        ASSERT_EQ(N(&f, "top/pool")->n_children, 1);
        ASSERT_TRUE(tree_find(f.tree, "top/pool/w.2") == NULL);
        fake_done(&f);
}

TEST(a_failed_start_replaces_the_last_exit) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nintensity = 100\nperiod = 100\nchildren = a\n" WA));
        tree_start(f.tree);
        Node *a = N(&f, "s/a");
        f.fail_spawn = "a";
        die(&f, "s/a", CLD_KILLED, SIGKILL);
        /* The restart failed: the signal is no longer how the worker is doing. */
        ASSERT_EQ(a->exit_code, NODE_EXIT_START_FAILED);
        ASSERT_EQ(a->exit_status, ENOENT);
        f.fail_spawn = NULL;
        tree_handle_timer(f.tree, a);
        ASSERT_EQ(a->state, NODE_RUNNING);
        /* Until the new process ends, the failed start stays the last exit. */
        ASSERT_EQ(a->exit_code, NODE_EXIT_START_FAILED);
        die(&f, "s/a", CLD_EXITED, 3);
        ASSERT_EQ(a->exit_code, CLD_EXITED);
        ASSERT_EQ(a->exit_status, 3);
        fake_done(&f);
}

TEST(auto_shutdown_names_the_significant_child) {
        Fake f;
        ASSERT_OK(fake_setup(&f,
                             "[supervisor:s]\nauto_shutdown = any_significant\nchildren = pool other\n"
                             "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = job\n"
                             "auto_shutdown = any_significant\nsignificant = yes\nrestart = transient\n"
                             "[worker:job]\nexec = /bin/true\nrestart = temporary\nsignificant = yes\n"
                             "[worker:other]\nexec = /bin/true\n"));
        tree_start(f.tree);
        Node *job = NULL;
        const char *err = NULL;
        ASSERT_OK(tree_start_child(f.tree, N(&f, "s/pool"), NULL, &job, &err));
        char path[64];
        snprintf(path, sizeof path, "%s", job->path);
        /* A dynamic child is forgotten as it ends: the reason keeps its path all the same. */
        die(&f, path, CLD_EXITED, 0);
        char want[128];
        snprintf(want, sizeof want, "significant child '%s' terminated", path);
        ASSERT_STREQ(N(&f, "s/pool")->reason, want);
        ASSERT_STREQ(f.tree->root->reason, "significant child 's/pool' terminated");
        die(&f, "s/other", CLD_KILLED, SIGTERM);
        ASSERT_EQ(f.finished, 0);
        fake_done(&f);
}

TEST(a_supervisor_whose_first_child_fails_to_start_ends_failed) {
        Fake f;
        /* Its rollback has nothing to stop: it must end FAILED, not be left STOPPING after. */
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = sub\n[supervisor:sub]\nchildren = a, b\n"
                                 "[worker:a]\nexec = /bin/true\n[worker:b]\nexec = /bin/true\n"));
        f.fail_spawn = "a";
        tree_start(f.tree);
        ASSERT_EQ(f.finished, 1);
        ASSERT_EQ(N(&f, "s/sub")->state, NODE_FAILED);
        ASSERT_EQ(N(&f, "s/sub/a")->state, NODE_FAILED);
        ASSERT_EQ(N(&f, "s/sub/b")->state, NODE_STOPPED);
        fake_done(&f);
}

/* ---- min_uptime (supervisord's startsecs) ---------------------------------------------- */

#define SLOW_A "[worker:a]\nexec = /bin/true\nmin_uptime = 500\n"

TEST(min_uptime_then_running) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a b\n" SLOW_A WB));
        tree_start(f.tree);
        Node *a = N(&f, "s/a");
        /* Spawned and ready (ready = none), but not up before min_uptime: b waits. */
        ASSERT_STREQ(f.log, "+a ");
        ASSERT_EQ(a->state, NODE_STARTING);
        ASSERT_EQ(a->timer, NODE_TIMER_MIN_UPTIME);
        tree_handle_timer(f.tree, a);
        ASSERT_EQ(a->state, NODE_RUNNING);
        ASSERT_STREQ(f.log, "+a +b ");
        ASSERT_EQ(f.tree->root->state, NODE_RUNNING);
        fake_done(&f);
}

TEST(an_exit_within_min_uptime_fails_the_start) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = b a\n" SLOW_A WB));
        tree_start(f.tree);
        die(&f, "s/a", CLD_EXITED, 3);
        /* A failed start at boot: b is rolled back, the root fails. */
        ASSERT_STREQ(f.log, "+b +a -b:TERM ");
        die(&f, "s/b", CLD_KILLED, SIGTERM);
        ASSERT_EQ(f.finished, 1);
        ASSERT_EQ(N(&f, "s/a")->state, NODE_FAILED);
        ASSERT_STREQ(N(&f, "s/a")->reason, "exited within min_uptime 500 ms (exit status 3)");
        fake_done(&f);
}

TEST(min_uptime_and_ready_both_needed) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a b\n"
                                 "[worker:a]\nexec = /bin/true\nready = notify\nmin_uptime = 100\nready_timeout = 1000\n"
                                 "[worker:b]\nexec = /bin/true\nready = notify\nmin_uptime = 100\nready_timeout = 1000\n"));
        tree_start(f.tree);
        Node *a = N(&f, "s/a");
        /* Ready first: still starting until min_uptime is over. */
        tree_handle_ready(f.tree, a);
        ASSERT_EQ(a->state, NODE_STARTING);
        ASSERT_STREQ(f.log, "+a ");
        tree_handle_timer(f.tree, a);
        ASSERT_EQ(a->state, NODE_RUNNING);
        ASSERT_STREQ(f.log, "+a +b ");
        /* min_uptime first: then the ready_timeout's turn; ready ends it. */
        Node *b = N(&f, "s/b");
        tree_handle_timer(f.tree, b);
        ASSERT_EQ(b->state, NODE_STARTING);
        ASSERT_EQ(b->timer, NODE_TIMER_READY);
        tree_handle_ready(f.tree, b);
        ASSERT_EQ(b->state, NODE_RUNNING);
        ASSERT_EQ(b->timer, NODE_TIMER_NONE);
        ASSERT_EQ(f.tree->root->state, NODE_RUNNING);
        fake_done(&f);
}

TEST(min_uptime_over_then_not_ready_in_time) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a\n"
                                 "[worker:a]\nexec = /bin/true\nready = notify\nmin_uptime = 100\nready_timeout = 1000\n"));
        tree_start(f.tree);
        Node *a = N(&f, "s/a");
        tree_handle_timer(f.tree, a);
        tree_handle_timer(f.tree, a);
        ASSERT_STREQ(f.log, "+a -a:KILL ");
        die(&f, "s/a", CLD_KILLED, SIGKILL);
        ASSERT_EQ(f.finished, 1);
        ASSERT_CONTAINS(a->reason, "not ready within 1000 ms");
        fake_done(&f);
}

TEST(a_restart_that_exits_within_min_uptime_counts_as_a_crash) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nintensity = 2\nperiod = 100\nchildren = a\n" SLOW_A));
        tree_start(f.tree);
        Node *a = N(&f, "s/a");
        tree_handle_timer(f.tree, a);
        ASSERT_EQ(f.tree->root->state, NODE_RUNNING);
        die(&f, "s/a", CLD_EXITED, 1);               /* a crash: restart 1 */
        ASSERT_EQ(a->state, NODE_STARTING);
        die(&f, "s/a", CLD_EXITED, 1);               /* a failed restart... */
        ASSERT_EQ(a->state, NODE_FAILED);
        ASSERT_CONTAINS(a->reason, "within min_uptime");
        tree_handle_timer(f.tree, a);                /* ...counted: restart 2 */
        ASSERT_EQ(a->state, NODE_STARTING);
        ASSERT_EQ(a->failures, 2);
        die(&f, "s/a", CLD_EXITED, 1);
        tree_handle_timer(f.tree, a);                /* the third: more than intensity */
        ASSERT_STREQ(f.log, "+a +a +a gaveup:s ");
        ASSERT_EQ(f.finished, 1);
        fake_done(&f);
}

TEST(a_start_child_that_exits_within_min_uptime_is_removed_uncounted) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = w\ninstances = 2\n"
                                 "intensity = 0\n[worker:w]\nexec = /bin/true\nmin_uptime = 500\n"));
        tree_start(f.tree);
        tree_handle_timer(f.tree, N(&f, "pool/w.1"));
        tree_handle_timer(f.tree, N(&f, "pool/w.2"));
        ASSERT_EQ(f.tree->root->state, NODE_RUNNING);
        for (int i = 0; i < 3; i++) {
                Node *c = NULL;
                const char *err = NULL;
                ASSERT_OK(tree_start_child(f.tree, f.tree->root, NULL, &c, &err));
                ASSERT_TRUE(c->new_instance);
                char path[64];
                snprintf(path, sizeof path, "%s", c->path);
                die(&f, path, CLD_EXITED, 3);
                ASSERT_TRUE(tree_find(f.tree, path) == NULL);
        }
        /* intensity = 0: one counted restart would have given up. */
        ASSERT_EQ(f.tree->root->state, NODE_RUNNING);
        ASSERT_EQ(f.tree->root->n_children, 2);
        ASSERT_EQ(f.finished, -1);
        /* One that lives past min_uptime is an ordinary child from then on. */
        Node *c = NULL;
        const char *err = NULL;
        ASSERT_OK(tree_start_child(f.tree, f.tree->root, NULL, &c, &err));
        tree_handle_timer(f.tree, c);
        ASSERT_EQ(c->state, NODE_RUNNING);
        ASSERT_TRUE(!c->new_instance);
        fake_done(&f);
}

/* ---- exit_status = significant --------------------------------------------------------- */

#define JOB_ROOT "[supervisor:s]\nauto_shutdown = any_significant\nchildren = other job\n" \
                 "[worker:other]\nexec = /bin/true\n" \
                 "[worker:job]\nexec = /bin/true\nrestart = temporary\nsignificant = yes\n"

TEST(significant_exit_is_the_jobs_status) {
        static const struct { int code, status, want; } cases[] = {
                { CLD_EXITED, 5, 5 }, { CLD_EXITED, 0, 0 }, { CLD_KILLED, SIGKILL, 137 },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                Fake f;
                ASSERT_OK(fake_boot(&f, JOB_ROOT));
                die(&f, "s/job", cases[i].code, cases[i].status);
                ASSERT_EQ(tree_significant_exit(f.tree), -1); /* not ended yet */
                die(&f, "s/other", CLD_KILLED, SIGTERM);
                ASSERT_EQ(f.finished, 0);
                ASSERT_EQ(tree_significant_exit(f.tree), cases[i].want);
                fake_done(&f);
        }
}

TEST(significant_exit_passes_through_a_nested_supervisor) {
        Fake f;
        ASSERT_OK(fake_boot(&f, "[supervisor:s]\nauto_shutdown = any_significant\nchildren = other inner\n"
                                "[worker:other]\nexec = /bin/true\n"
                                "[supervisor:inner]\nauto_shutdown = any_significant\nchildren = job\n"
                                "restart = transient\nsignificant = yes\n"
                                "[worker:job]\nexec = /bin/true\nrestart = temporary\nsignificant = yes\n"));
        die(&f, "s/inner/job", CLD_EXITED, 7);
        die(&f, "s/other", CLD_KILLED, SIGTERM);
        ASSERT_EQ(f.finished, 0);
        ASSERT_EQ(tree_significant_exit(f.tree), 7);
        fake_done(&f);
}

TEST(no_significant_exit_after_a_shutdown_or_a_give_up) {
        Fake f;
        ASSERT_OK(fake_boot(&f, JOB_ROOT));
        tree_shutdown(f.tree);
        die(&f, "s/job", CLD_KILLED, SIGTERM);
        die(&f, "s/other", CLD_KILLED, SIGTERM);
        ASSERT_EQ(f.finished, 0);
        ASSERT_EQ(tree_significant_exit(f.tree), -1);
        fake_done(&f);

        /* A shutdown asked while the auto_shutdown is under way: an orderly shutdown. */
        ASSERT_OK(fake_boot(&f, JOB_ROOT));
        die(&f, "s/job", CLD_EXITED, 5);
        tree_shutdown(f.tree);
        die(&f, "s/other", CLD_KILLED, SIGTERM);
        ASSERT_EQ(f.finished, 0);
        ASSERT_EQ(tree_significant_exit(f.tree), -1);
        fake_done(&f);

        ASSERT_OK(fake_boot(&f, "[supervisor:s]\nintensity = 0\nchildren = a\n" WA));
        die(&f, "s/a", CLD_EXITED, 5);
        ASSERT_EQ(f.finished, 1);
        ASSERT_EQ(tree_significant_exit(f.tree), -1);
        fake_done(&f);
}

#define ONESHOT_AB "[supervisor:s]\nstrategy = one_for_all\nintensity = 5\nchildren = a b\n" \
                   "[worker:a]\nexec = /bin/true\nready = exit\n" WB

TEST(a_one_shot_is_up_once_it_has_exited_normally) {
        Fake f;
        ASSERT_OK(fake_setup(&f, ONESHOT_AB));
        tree_start(f.tree);
        ASSERT_STREQ(f.log, "+a ");
        ASSERT_EQ(f.tree->root->state, NODE_STARTING);
        die(&f, "s/a", CLD_EXITED, 0);
        ASSERT_STREQ(f.log, "+a +b ");
        ASSERT_EQ(N(&f, "s/a")->state, NODE_EXITED);
        ASSERT_EQ(N(&f, "s/a")->exit_reason, NODE_REASON_NORMAL);
        ASSERT_EQ(f.tree->root->state, NODE_RUNNING);
        /* Done: permanent or not, it is not restarted; a group restart runs it again first. */
        f.log[0] = 0;
        die(&f, "s/b", CLD_EXITED, 1);
        ASSERT_STREQ(f.log, "+a ");
        die(&f, "s/a", CLD_EXITED, 0);
        ASSERT_STREQ(f.log, "+a +b ");
        ASSERT_EQ(N(&f, "s/a")->restarts, 0);
        /* The operator's start and restart run it again; its stop leaves it done. */
        const char *error = NULL;
        f.log[0] = 0;
        ASSERT_OK(tree_restart_node(f.tree, N(&f, "s/a"), &error));
        ASSERT_STREQ(f.log, "+a ");
        die(&f, "s/a", CLD_EXITED, 0);
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/a"), &error));
        ASSERT_EQ(N(&f, "s/a")->state, NODE_EXITED);
        ASSERT_OK(tree_start_node(f.tree, N(&f, "s/a"), &error));
        ASSERT_STREQ(f.log, "+a +a ");
        fake_done(&f);
}

TEST(a_one_shot_that_fails_fails_the_start) {
        Fake f;
        ASSERT_OK(fake_setup(&f, ONESHOT_AB));
        Node *a = N(&f, "s/a");
        tree_start(f.tree);
        die(&f, "s/a", CLD_EXITED, 2);
        /* b never started; a is the reason the root failed. */
        ASSERT_STREQ(f.log, "+a ");
        ASSERT_EQ(a->exit_reason, NODE_REASON_START_FAILED);
        ASSERT_STREQ(a->reason, "the one-shot failed (exit status 2)");
        ASSERT_CONTAINS(f.tree->root->reason, "child 's/a' failed to start");
        fake_done(&f);
}

TEST(pre_start_before_each_start_post_stop_after_each_end) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nintensity = 5\nchildren = a b\n"
                                 "[worker:a]\nexec = /bin/true\npre_start = /bin/true\npost_stop = /bin/true\n" WB));
        tree_start(f.tree);
        ASSERT_STREQ(f.log, "pre:a ");
        ASSERT_EQ(N(&f, "s/a")->state, NODE_STARTING);
        die(&f, "s/a", CLD_EXITED, 0); /* pre_start done: the worker's own process, then b */
        ASSERT_STREQ(f.log, "pre:a +a +b ");
        ASSERT_EQ(f.tree->root->state, NODE_RUNNING);
        f.log[0] = 0;
        die(&f, "s/a", CLD_KILLED, SIGKILL); /* a crash: post_stop, then the restart */
        ASSERT_STREQ(f.log, "post:a ");
        ASSERT_EQ(N(&f, "s/a")->state, NODE_STOPPING);
        ASSERT_EQ(N(&f, "s/a")->restarts, 0);
        die(&f, "s/a", CLD_EXITED, 1); /* its failure changes nothing */
        ASSERT_STREQ(f.log, "post:a pre:a ");
        ASSERT_EQ(N(&f, "s/a")->restarts, 1);
        ASSERT_EQ(N(&f, "s/a")->exit_code, CLD_KILLED);
        /* A failed pre_start is a failed start (and post_stop runs after it too). */
        f.log[0] = 0;
        die(&f, "s/a", CLD_EXITED, 3);
        ASSERT_STREQ(f.log, "post:a ");
        ASSERT_CONTAINS(N(&f, "s/a")->reason, "pre_start '/bin/true' failed (exit status 3)");
        die(&f, "s/a", CLD_EXITED, 0);
        ASSERT_EQ(N(&f, "s/a")->state, NODE_FAILED);
        ASSERT_EQ(N(&f, "s/a")->exit_reason, NODE_REASON_START_FAILED);
        /* The retry: one more failure of a, which it may restart. */
        tree_handle_timer(f.tree, N(&f, "s/a"));
        ASSERT_STREQ(f.log, "post:a pre:a ");
        /* A shutdown while pre_start runs stops it; post_stop, then down. */
        f.log[0] = 0;
        tree_shutdown(f.tree);
        die(&f, "s/b", CLD_KILLED, SIGTERM);
        die(&f, "s/a", CLD_KILLED, SIGTERM); /* its pre_start, told after b was down */
        ASSERT_STREQ(f.log, "-b:TERM -a:TERM post:a ");
        ASSERT_EQ(f.finished, -1);
        die(&f, "s/a", CLD_EXITED, 0);
        ASSERT_EQ(f.finished, 0);
        fake_done(&f);
}
