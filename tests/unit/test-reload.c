/* SPDX-License-Identifier: MIT */
/* Reload's plan and its application with no process at all: fake TreeOps record spawns and
 * signals, the tests feed exits by hand and call reload_continue() after each, as the
 * manager does after tree events. */
#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "macro.h"
#include "reload.h"
#include "spec.h"
#include "tests.h"
#include "tree.h"

/* configs[0] the first; every reload adds one; all freed after the tree. */
#define FAKE_EXTRA_FIELDS \
        Config *configs[8]; \
        size_t n_configs;   \
        Reload *reload;
#include "fake-tree.h"

static int load(Fake *f, const char *ini) {
        assert(f->n_configs < ELEMENTSOF(f->configs));
        int r = fake_load_config(ini, &f->configs[f->n_configs]);
        if (r >= 0)
                f->n_configs++;
        return r;
}

/* Boots ini and clears the log. */
static int fake_setup(Fake *f, const char *ini) {
        fake_init(f);
        int r = load(f, ini);
        if (r < 0)
                return r;
        r = tree_new(f->configs[0], &fake_ops, f, &f->tree);
        if (r >= 0)
                fake_start(f);
        return r;
}

static void fake_done(Fake *f) {
        reload_free(f->reload);
        tree_free(f->tree);
        for (size_t i = 0; i < f->n_configs; i++)
                config_free(f->configs[i]);
}

/* Plans the reload to ini and takes its first steps: 1 when it is applied already, 0 when it
 * waits, < 0 when refused. */
static int reload_to(Fake *f, const char *ini) {
        const char *err = NULL;
        int r = load(f, ini);
        if (r < 0)
                return r;
        reload_free(f->reload);
        r = reload_new(f->tree, f->configs[f->n_configs - 1], &f->reload, &err);
        if (r < 0)
                return r;
        return reload_continue(f->reload);
}

/* The child exits, then the manager would continue the reload. */
static bool die(Fake *f, const char *path, int code, int status) {
        tree_handle_exit(f->tree, N(f, path), code, status);
        return f->reload ? reload_continue(f->reload) : true;
}

static const char *order(Fake *f, const char *path) {
        static char buf[256];
        Node *s = N(f, path);
        buf[0] = 0;
        for (size_t i = 0; i < s->n_children; i++)
                snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? " " : "", s->children[i]->name);
        return buf;
}

#define W(n) "[worker:" n "]\nexec = /bin/sleep 1000\n"

TEST(an_unchanged_tree_is_not_touched) {
        Fake f;
        const char *ini = "[supervisor:s]\nchildren = a b\n" W("a") W("b");
        ASSERT_OK(fake_setup(&f, ini));
        pid_t a = N(&f, "s/a")->pid, b = N(&f, "s/b")->pid;
        ASSERT_EQ(reload_to(&f, ini), 1);
        ASSERT_STREQ(f.log, "");
        ASSERT_EQ(N(&f, "s/a")->pid, a);
        ASSERT_EQ(N(&f, "s/b")->pid, b);
        /* every node runs from the new config: the old one could go now */
        ASSERT_TRUE(N(&f, "s/a")->spec == config_find(f.configs[1], SPEC_WORKER, "a"));
        ASSERT_TRUE(N(&f, "s")->spec == f.configs[1]->root);
        const ReloadCounts *c = reload_counts(f.reload);
        ASSERT_EQ(c->unchanged, 3);
        ASSERT_EQ(c->changed + c->added + c->removed, 0);
        ASSERT_TRUE(reload_error(f.reload) == NULL);
        fake_done(&f);
}

TEST(comments_and_blank_lines_are_no_change) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a\n" W("a")));
        ASSERT_EQ(reload_to(&f, "; a comment\n[supervisor:s]\nchildren = a\n\n[worker:a]\n; again\nexec = /bin/sleep 1000\n"), 1);
        ASSERT_STREQ(f.log, "");
        ASSERT_EQ(reload_counts(f.reload)->unchanged, 2);
        fake_done(&f);
}

TEST(a_changed_worker_is_restarted_from_its_new_section_without_counting_a_restart) {
        Fake f;
        /* intensity = 0: a single restart counted against it would make s give up */
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nintensity = 0\nchildren = a b c\n" W("a") W("b") W("c")));
        pid_t old = N(&f, "s/b")->pid;
        ASSERT_EQ(reload_to(&f, "[supervisor:s]\nintensity = 0\nchildren = a b c\n" W("a")
                                "[worker:b]\nexec = /bin/sleep 1000\nenvironment = X=2\nstop_signal = INT\n" W("c")),
                  0);
        /* stopped as its old section says (TERM), started from the new one */
        ASSERT_STREQ(f.log, "-b:TERM ");
        ASSERT_EQ(die(&f, "s/b", CLD_KILLED, SIGTERM), 1);
        ASSERT_STREQ(f.log, "-b:TERM +b ");
        Node *b = N(&f, "s/b");
        ASSERT_TRUE(b->pid != old);
        ASSERT_EQ(b->state, NODE_RUNNING);
        ASSERT_EQ(b->restarts, 0);
        ASSERT_STREQ(b->spec->environment[0], "X=2");
        ASSERT_EQ(b->spec->stop_signal, SIGINT);
        ASSERT_EQ(reload_counts(f.reload)->changed, 1);
        ASSERT_EQ(reload_counts(f.reload)->unchanged, 3);
        ASSERT_EQ(N(&f, "s")->state, NODE_RUNNING);
        fake_done(&f);
}

TEST(added_children_start_in_their_place_in_order) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a c\n" W("a") W("c")));
        ASSERT_EQ(reload_to(&f, "[supervisor:s]\nchildren = a b c d\n" W("a") W("b") W("c") W("d")), 1);
        ASSERT_STREQ(f.log, "+b +d ");
        ASSERT_STREQ(order(&f, "s"), "a b c d");
        ASSERT_EQ(reload_counts(f.reload)->added, 2);
        /* and shutdown stops them in the new reverse order */
        f.log[0] = 0;
        tree_shutdown(f.tree);
        die(&f, "s/d", CLD_KILLED, SIGTERM);
        die(&f, "s/c", CLD_KILLED, SIGTERM);
        die(&f, "s/b", CLD_KILLED, SIGTERM);
        die(&f, "s/a", CLD_KILLED, SIGTERM);
        ASSERT_STREQ(f.log, "-d:TERM -c:TERM -b:TERM -a:TERM ");
        ASSERT_EQ(f.finished, 0);
        fake_done(&f);
}

TEST(an_added_child_waits_for_readiness_before_the_next) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a\n" W("a")));
        ASSERT_EQ(reload_to(&f, "[supervisor:s]\nchildren = a b c\n" W("a")
                                "[worker:b]\nexec = /bin/true\nready = mailbox\n" W("c")),
                  0);
        ASSERT_STREQ(f.log, "+b ");
        tree_handle_ready(f.tree, N(&f, "s/b"));
        ASSERT_EQ(reload_continue(f.reload), 1);
        ASSERT_STREQ(f.log, "+b +c ");
        fake_done(&f);
}

TEST(removed_children_are_stopped_in_reverse_order_and_forgotten) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a b c d\n" W("a") W("b") W("c") W("d")));
        pid_t a = N(&f, "s/a")->pid;
        ASSERT_EQ(reload_to(&f, "[supervisor:s]\nchildren = a c\n" W("a") W("c")), 0);
        ASSERT_STREQ(f.log, "-d:TERM ");
        ASSERT_EQ(die(&f, "s/d", CLD_KILLED, SIGTERM), 0);
        ASSERT_STREQ(f.log, "-d:TERM -b:TERM ");
        ASSERT_EQ(die(&f, "s/b", CLD_KILLED, SIGTERM), 1);
        ASSERT_STREQ(order(&f, "s"), "a c");
        ASSERT_EQ(N(&f, "s/a")->pid, a);
        ASSERT_EQ(reload_counts(f.reload)->removed, 2);
        fake_done(&f);
}

TEST(a_replaced_section_is_stopped_before_the_new_one_starts) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a old\n" W("a") W("old")));
        ASSERT_EQ(reload_to(&f, "[supervisor:s]\nchildren = a new\n" W("a") W("new")), 0);
        ASSERT_EQ(die(&f, "s/old", CLD_KILLED, SIGTERM), 1);
        ASSERT_STREQ(f.log, "-old:TERM +new ");
        fake_done(&f);
}

TEST(a_supervisor_whose_children_changed_is_not_restarted) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:top]\nchildren = sub z\n[supervisor:sub]\nchildren = a\n" W("a") W("z")));
        ASSERT_EQ(reload_to(&f, "[supervisor:top]\nchildren = sub z\n[supervisor:sub]\nchildren = a b\n" W("a") W("b")
                                W("z")),
                  1);
        ASSERT_STREQ(f.log, "+b ");
        ASSERT_EQ(N(&f, "top/sub")->state, NODE_RUNNING);
        ASSERT_EQ(reload_counts(f.reload)->unchanged, 4);
        ASSERT_EQ(reload_counts(f.reload)->added, 1);
        fake_done(&f);
}

TEST(a_supervisors_own_keys_are_applied_in_place) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:top]\nchildren = sub\n[supervisor:sub]\nchildren = a b\n" W("a") W("b")));
        ASSERT_EQ(reload_to(&f, "[supervisor:top]\nchildren = sub\n[supervisor:sub]\nstrategy = one_for_all\n"
                                "intensity = 0\nchildren = a b\n" W("a") W("b")),
                  1);
        ASSERT_STREQ(f.log, "");
        ASSERT_EQ(N(&f, "top/sub")->spec->strategy, STRATEGY_ONE_FOR_ALL);
        ASSERT_EQ(reload_counts(f.reload)->changed, 1);
        /* the new strategy and intensity are the ones in force: a crash gives up at once */
        die(&f, "top/sub/a", CLD_KILLED, SIGKILL);
        ASSERT_STREQ(f.log, "gaveup:sub -b:TERM ");
        fake_done(&f);
}

TEST(a_supervisor_of_another_shape_is_replaced) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = x\n" W("x")));
        ASSERT_EQ(reload_to(&f, "[supervisor:s]\nchildren = x\n[supervisor:x]\nchildren = y\n" W("y")), 0);
        ASSERT_EQ(die(&f, "s/x", CLD_KILLED, SIGTERM), 1);
        ASSERT_STREQ(f.log, "-x:TERM +y ");
        ASSERT_TRUE(node_is_supervisor(N(&f, "s/x")));
        ASSERT_EQ(N(&f, "s/x/y")->state, NODE_RUNNING);
        ASSERT_EQ(reload_counts(f.reload)->removed, 1);
        ASSERT_EQ(reload_counts(f.reload)->added, 2);
        fake_done(&f);
}

TEST(dynamic_children_follow_their_template) {
        Fake f;
        const char *pool = "[supervisor:top]\nchildren = pool\n"
                           "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = w\ninstances = 2\n";
        char ini[512];
        ASSERT_OK(fake_setup(&f, strcat(strcpy(ini, pool), W("w"))));
        pid_t w1 = N(&f, "top/pool/w.1")->pid;
        /* unchanged template: nothing happens */
        ASSERT_EQ(reload_to(&f, ini), 1);
        ASSERT_STREQ(f.log, "");
        ASSERT_EQ(N(&f, "top/pool/w.1")->pid, w1);
        /* changed template: each running child is restarted from it, one after the other */
        ASSERT_EQ(reload_to(&f, strcat(strcpy(ini, pool), "[worker:w]\nexec = /bin/sleep 2000\n")), 0);
        ASSERT_STREQ(f.log, "-w.1:TERM ");
        ASSERT_EQ(die(&f, "top/pool/w.1", CLD_KILLED, SIGTERM), 0);
        ASSERT_EQ(die(&f, "top/pool/w.2", CLD_KILLED, SIGTERM), 1);
        ASSERT_STREQ(f.log, "-w.1:TERM +w.1 -w.2:TERM +w.2 ");
        ASSERT_STREQ(N(&f, "top/pool/w.2")->spec->argv[1], "2000");
        ASSERT_EQ(reload_counts(f.reload)->changed, 2);
        fake_done(&f);
}

TEST(a_reload_waits_while_a_supervisor_restarts_its_children) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nstrategy = one_for_all\nintensity = 5\nchildren = a b\n" W("a") W("b")));
        die(&f, "s/a", CLD_KILLED, SIGKILL); /* one_for_all: b is being stopped */
        ASSERT_STREQ(f.log, "-b:TERM ");
        ASSERT_EQ(reload_to(&f, "[supervisor:s]\nstrategy = one_for_all\nintensity = 5\nchildren = a b\n"
                                "[worker:a]\nexec = /bin/sleep 5\n" W("b")),
                  0);
        ASSERT_STREQ(f.log, "-b:TERM ");
        ASSERT_EQ(die(&f, "s/b", CLD_KILLED, SIGTERM), 0); /* the group restart comes first */
        ASSERT_STREQ(f.log, "-b:TERM +a +b -a:TERM ");
        ASSERT_EQ(die(&f, "s/a", CLD_KILLED, SIGTERM), 1);
        ASSERT_STREQ(f.log, "-b:TERM +a +b -a:TERM +a ");
        ASSERT_STREQ(N(&f, "s/a")->spec->argv[1], "5");
        fake_done(&f);
}

TEST(a_stopped_child_takes_its_new_section_and_stays_stopped) {
        Fake f;
        const char *err;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a\n" W("a")));
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/a"), &err));
        tree_handle_exit(f.tree, N(&f, "s/a"), CLD_KILLED, SIGTERM);
        f.log[0] = 0;
        ASSERT_EQ(reload_to(&f, "[supervisor:s]\nchildren = a\n[worker:a]\nexec = /bin/sleep 5\n"), 1);
        ASSERT_STREQ(f.log, "");
        ASSERT_EQ(N(&f, "s/a")->state, NODE_STOPPED);
        ASSERT_STREQ(N(&f, "s/a")->spec->argv[1], "5");
        fake_done(&f);
}

TEST(another_root_is_refused_and_nothing_changes) {
        Fake f;
        const char *err = NULL;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a\n" W("a")));
        ASSERT_OK(load(&f, "[supervisor:t]\nchildren = a\n" W("a")));
        ASSERT_ERR(reload_new(f.tree, f.configs[1], &f.reload, &err), -EINVAL);
        ASSERT_CONTAINS(err, "root supervisor");
        ASSERT_TRUE(N(&f, "s")->spec == f.configs[0]->root);
        ASSERT_TRUE(N(&f, "s/a")->spec == config_find(f.configs[0], SPEC_WORKER, "a"));
        fake_done(&f);
}

TEST(a_failed_start_is_reported) {
        Fake f;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nintensity = 5\nchildren = a\n" W("a")));
        ASSERT_EQ(reload_to(&f, "[supervisor:s]\nintensity = 5\nchildren = a b\n" W("a")
                                "[worker:b]\nexec = /bin/true\nready = mailbox\n"),
                  0);
        ASSERT_EQ(die(&f, "s/b", CLD_EXITED, 1), 1);
        ASSERT_CONTAINS(reload_error(f.reload), "'s/b' failed to start");
        fake_done(&f);
}

TEST(a_child_being_stopped_by_the_operator_stays_stopped) {
        Fake f;
        const char *err;
        ASSERT_OK(fake_setup(&f, "[supervisor:s]\nchildren = a\n" W("a")));
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/a"), &err));
        ASSERT_EQ(reload_to(&f, "[supervisor:s]\nchildren = a\n[worker:a]\nexec = /bin/sleep 5\n"), 0);
        ASSERT_EQ(die(&f, "s/a", CLD_KILLED, SIGTERM), 1);
        ASSERT_STREQ(f.log, "-a:TERM ");
        ASSERT_EQ(N(&f, "s/a")->state, NODE_STOPPED);
        ASSERT_STREQ(N(&f, "s/a")->spec->argv[1], "5");
        fake_done(&f);
}

TEST(a_changed_instances_count_scales_the_running_supervisor) {
        Fake f;
        const char *pool = "[supervisor:top]\nchildren = pool\n"
                           "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = w\ninstances = ";
        char ini[512];
        ASSERT_OK(fake_setup(&f, strcat(strcat(strcpy(ini, pool), "2\n"), W("w"))));
        pid_t w1 = N(&f, "top/pool/w.1")->pid, w2 = N(&f, "top/pool/w.2")->pid;
        ASSERT_EQ(reload_to(&f, strcat(strcat(strcpy(ini, pool), "4\n"), W("w"))), 1);
        ASSERT_STREQ(f.log, "+w.3 +w.4 ");
        ASSERT_EQ(N(&f, "top/pool/w.1")->pid, w1);
        ASSERT_EQ(N(&f, "top/pool/w.2")->pid, w2);
        ASSERT_EQ(reload_counts(f.reload)->added, 2);
        ASSERT_EQ(reload_counts(f.reload)->scaled, 1);
        /* down, with a changed template: the highest go, the one kept is restarted from it */
        f.log[0] = 0;
        ASSERT_EQ(reload_to(&f, strcat(strcat(strcpy(ini, pool), "1\n"), "[worker:w]\nexec = /bin/sleep 2000\n")), 0);
        ASSERT_STREQ(f.log, "-w.4:TERM -w.3:TERM -w.2:TERM ");
        ASSERT_EQ(die(&f, "top/pool/w.4", CLD_KILLED, SIGTERM), 0);
        ASSERT_EQ(die(&f, "top/pool/w.3", CLD_KILLED, SIGTERM), 0);
        ASSERT_EQ(die(&f, "top/pool/w.2", CLD_KILLED, SIGTERM), 0);
        ASSERT_STREQ(f.log, "-w.4:TERM -w.3:TERM -w.2:TERM -w.1:TERM ");
        ASSERT_EQ(die(&f, "top/pool/w.1", CLD_KILLED, SIGTERM), 1);
        ASSERT_STREQ(order(&f, "top/pool"), "w.1");
        ASSERT_STREQ(N(&f, "top/pool/w.1")->spec->argv[1], "2000");
        ASSERT_EQ(reload_counts(f.reload)->removed, 3);
        ASSERT_EQ(reload_counts(f.reload)->changed, 2); /* pool and w.1 */
        ASSERT_TRUE(reload_error(f.reload) == NULL);
        /* a stopped supervisor starts with the new count */
        const char *err;
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "top/pool"), &err));
        die(&f, "top/pool/w.1", CLD_KILLED, SIGTERM);
        ASSERT_EQ(reload_to(&f, strcat(strcat(strcpy(ini, pool), "3\n"), "[worker:w]\nexec = /bin/sleep 2000\n")), 1);
        ASSERT_OK(tree_start_node(f.tree, N(&f, "top/pool"), &err));
        ASSERT_STREQ(order(&f, "top/pool"), "w.1 w.2 w.3");
        fake_done(&f);
}
