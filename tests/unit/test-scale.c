/* SPDX-License-Identifier: MIT */
/* `scale` of a simple_one_for_one supervisor with no process at all (tree_scale and
 * tree_scale_check): which instances are stopped and which numbers are started, what a later
 * scale does to one under way, and when a scale has ended. */
#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "spec.h"
#include "tests.h"
#include "tree.h"

#define FAKE_EXTRA_FIELDS Config *config;
#include "fake-tree.h"

#define POOL(extra) "[supervisor:s]\nchildren = pool\n" \
                    "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = w\ninstances = 2\n" extra
#define W "[worker:w]\nexec = /bin/sleep 1000\n"

static int boot(Fake *f, const char *ini) {
        fake_init(f);
        int r = fake_load_config(ini, &f->config);
        if (r < 0)
                return r;
        r = tree_new(f->config, &fake_ops, f, &f->tree);
        if (r >= 0)
                fake_start(f);
        return r;
}

/* A pool of two instances that report readiness (ready = mailbox), both ready. */
static int boot_ready(Fake *f) {
        int r = boot(f, POOL("") "[worker:w]\nexec = /bin/true\nready = mailbox\n");
        if (r >= 0) {
                tree_handle_ready(f->tree, N(f, "s/pool/w.1"));
                tree_handle_ready(f->tree, N(f, "s/pool/w.2"));
        }
        return r;
}

static void done(Fake *f) {
        tree_free(f->tree);
        config_free(f->config);
}

static void die(Fake *f, const char *path) {
        tree_handle_exit(f->tree, N(f, path), CLD_KILLED, SIGTERM);
}

/* The pool's children by name, in order. */
static const char *names(Fake *f) {
        static char buf[256];
        Node *s = N(f, "s/pool");
        buf[0] = 0;
        for (size_t i = 0; i < s->n_children; i++)
                snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? " " : "", s->children[i]->name);
        return buf;
}

static int scale(Fake *f, unsigned n, unsigned *seq) {
        const char *err = NULL;
        return tree_scale(f->tree, N(f, "s/pool"), n, NODE_REASON_OPERATOR, seq, &err);
}

static int check(Fake *f, unsigned seq, unsigned n) {
        char why[512];
        return tree_scale_check(N(f, "s/pool"), seq, n, 0, why, sizeof why);
}

TEST(scale_up_starts_the_next_numbers_and_leaves_the_others) {
        Fake f;
        unsigned seq;
        ASSERT_OK(boot(&f, POOL("") W));
        pid_t w1 = N(&f, "s/pool/w.1")->pid, w2 = N(&f, "s/pool/w.2")->pid;
        ASSERT_OK(scale(&f, 5, &seq));
        ASSERT_STREQ(f.log, "+w.3 +w.4 +w.5 ");
        ASSERT_STREQ(names(&f), "w.1 w.2 w.3 w.4 w.5");
        ASSERT_EQ(N(&f, "s/pool/w.1")->pid, w1);
        ASSERT_EQ(N(&f, "s/pool/w.2")->pid, w2);
        ASSERT_EQ(check(&f, seq, 5), 1);
        done(&f);
}

TEST(scale_down_stops_the_highest_numbers_and_forgets_them) {
        Fake f;
        unsigned seq;
        ASSERT_OK(boot(&f, POOL("") W));
        ASSERT_OK(scale(&f, 5, &seq));
        f.log[0] = 0;
        ASSERT_OK(scale(&f, 2, &seq));
        ASSERT_STREQ(f.log, "-w.5:TERM -w.4:TERM -w.3:TERM ");
        ASSERT_EQ(check(&f, seq, 2), 0); /* until they are gone */
        die(&f, "s/pool/w.4");
        die(&f, "s/pool/w.5");
        ASSERT_EQ(check(&f, seq, 2), 0);
        die(&f, "s/pool/w.3");
        ASSERT_STREQ(names(&f), "w.1 w.2");
        ASSERT_EQ(check(&f, seq, 2), 1);
        done(&f);
}

TEST(holes_are_filled_lowest_first_and_start_child_stays_above) {
        Fake f;
        unsigned seq;
        const char *err;
        Node *c;
        ASSERT_OK(boot(&f, POOL("") W));
        ASSERT_OK(scale(&f, 4, &seq));
        ASSERT_OK(tree_terminate_child(f.tree, N(&f, "s/pool/w.1"), &err));
        die(&f, "s/pool/w.1");
        ASSERT_OK(tree_terminate_child(f.tree, N(&f, "s/pool/w.3"), &err));
        die(&f, "s/pool/w.3");
        f.log[0] = 0;
        ASSERT_OK(scale(&f, 3, &seq));
        ASSERT_STREQ(f.log, "+w.1 ");
        ASSERT_STREQ(names(&f), "w.1 w.2 w.4");
        /* start-child never takes a number in use, nor one used before */
        ASSERT_OK(tree_start_child(f.tree, N(&f, "s/pool"), NULL, &c, &err));
        ASSERT_STREQ(c->name, "w.5");
        ASSERT_OK(scale(&f, 5, &seq));
        ASSERT_STREQ(names(&f), "w.1 w.2 w.3 w.4 w.5");
        done(&f);
}

TEST(a_later_scale_supersedes_one_under_way_and_keeps_numbers_on_their_way_out) {
        Fake f;
        unsigned first, second;
        ASSERT_OK(boot(&f, POOL("") W));
        ASSERT_OK(scale(&f, 4, &first));
        f.log[0] = 0;
        ASSERT_OK(scale(&f, 2, &first));
        ASSERT_STREQ(f.log, "-w.4:TERM -w.3:TERM ");
        /* w.3 is still on its way out: it is started again once down, not replaced by w.5 */
        ASSERT_OK(scale(&f, 3, &second));
        ASSERT_EQ(check(&f, first, 2), -ESTALE);
        ASSERT_EQ(check(&f, second, 3), 0);
        die(&f, "s/pool/w.4");
        die(&f, "s/pool/w.3");
        ASSERT_STREQ(f.log, "-w.4:TERM -w.3:TERM +w.3 ");
        ASSERT_STREQ(names(&f), "w.1 w.2 w.3");
        ASSERT_EQ(check(&f, second, 3), 1);
        done(&f);
}

TEST(refused_scales_change_nothing) {
        Fake f;
        unsigned seq;
        const char *err;
        ASSERT_OK(boot(&f, POOL("max_children = 4\n") W));
        ASSERT_ERR(tree_scale(f.tree, N(&f, "s"), 1, NODE_REASON_OPERATOR, &seq, &err), -EINVAL);
        ASSERT_ERR(scale(&f, 5, &seq), -ERANGE);
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/pool"), &err));
        ASSERT_ERR(scale(&f, 3, &seq), -EBUSY);
        ASSERT_STREQ(f.log, "-w.1:TERM -w.2:TERM ");
        done(&f);
}

TEST(an_instance_that_cannot_be_spawned_is_forgotten) {
        Fake f;
        unsigned seq;
        const char *err = NULL;
        ASSERT_OK(boot(&f, POOL("") W));
        f.fail_spawn = "w.4";
        ASSERT_ERR(tree_scale(f.tree, N(&f, "s/pool"), 5, NODE_REASON_OPERATOR, &seq, &err), -ENOENT);
        ASSERT_CONTAINS(err, "'s/pool/w.4' failed to start: no such file");
        ASSERT_STREQ(names(&f), "w.1 w.2 w.3");
        done(&f);
}

TEST(an_instance_that_is_not_ready_fails_the_scale) {
        Fake f;
        unsigned seq;
        char why[512];
        ASSERT_OK(boot_ready(&f));
        ASSERT_EQ(N(&f, "s/pool")->state, NODE_RUNNING);
        ASSERT_OK(scale(&f, 3, &seq));
        ASSERT_EQ(check(&f, seq, 3), 0);
        tree_handle_exit(f.tree, N(&f, "s/pool/w.3"), CLD_EXITED, 1);
        ASSERT_EQ(tree_scale_check(N(&f, "s/pool"), seq, 3, 0, why, sizeof why), -EIO);
        ASSERT_CONTAINS(why, "'s/pool/w.3' failed to start");
        done(&f);
}

TEST(an_operator_stopped_instance_counts_and_stays_stopped) {
        Fake f;
        unsigned seq;
        const char *err;
        ASSERT_OK(boot(&f, POOL("") W));
        ASSERT_OK(tree_stop_node(f.tree, N(&f, "s/pool/w.1"), &err));
        die(&f, "s/pool/w.1");
        f.log[0] = 0;
        ASSERT_OK(scale(&f, 2, &seq));
        ASSERT_STREQ(f.log, "");
        ASSERT_EQ(check(&f, seq, 2), 1);
        done(&f);
}

TEST(a_count_changed_otherwise_ends_the_scale) {
        Fake f;
        unsigned seq;
        const char *err;
        Node *c;
        ASSERT_OK(boot_ready(&f));
        ASSERT_OK(scale(&f, 3, &seq));
        ASSERT_OK(tree_start_child(f.tree, N(&f, "s/pool"), NULL, &c, &err));
        ASSERT_EQ(check(&f, seq, 3), -ECHILD);
        done(&f);
}

TEST(the_count_outlives_a_restart_of_the_supervisor) {
        Fake f;
        unsigned seq;
        const char *err;
        ASSERT_OK(boot(&f, POOL("") W));
        ASSERT_OK(scale(&f, 3, &seq));
        ASSERT_OK(tree_restart_node(f.tree, N(&f, "s/pool"), &err));
        ASSERT_EQ(check(&f, seq, 3), -ENOTCONN);
        die(&f, "s/pool/w.3");
        die(&f, "s/pool/w.2");
        die(&f, "s/pool/w.1");
        ASSERT_EQ(N(&f, "s/pool")->state, NODE_RUNNING);
        ASSERT_STREQ(names(&f), "w.1 w.2 w.3");
        done(&f);
}
