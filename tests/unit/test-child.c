/* SPDX-License-Identifier: MIT */
/* A child's spawn preparation (child.c): argv expanded and its program found once, the
 * environment in its order of precedence, made again only when a reload gives another spec. */
#include "fake-child.h"
#include "spawn.h"
#include "tests.h"

static const char *const INI =
        "[supervisor:app]\nchildren = web, pool\n"
        "[worker:web]\nexec = sleep %n-100\nenvironment = A=spec B=2\nregister = www\n"
        "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = job\ninstances = 2\n"
        "[worker:job]\nexec = /bin/echo job %i\nstdout = inherit\nstderr = inherit\n";


static const char *env(const Child *rt, const char *key) {
        size_t kl = strlen(key);
        for (char **e = rt->envp; e && *e; e++)
                if (strncmp(*e, key, kl) == 0 && (*e)[kl] == '=')
                        return *e + kl + 1;
        return NULL;
}

TEST(argv_expanded_and_found_in_path_once) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        Node *web = worker(&w, "app/web");
        Child *rt = web->userdata;
        ASSERT_OK(child_prepare(&w.m, web, rt));
        char *sleep_path = spawn_find_program("sleep");
        ASSERT_STREQ(rt->argv[0], sleep_path);
        ASSERT_STREQ(rt->argv[1], "web-100");
        ASSERT_TRUE(rt->argv[2] == NULL);
        char want[512];
        snprintf(want, sizeof want, "%s web-100", sleep_path);
        ASSERT_STREQ(rt->cmdline, want);
        free(sleep_path);
        world_free(&w);
}

TEST(environment_in_order_of_precedence) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        Node *web = worker(&w, "app/web");
        Child *rt = web->userdata;
        ASSERT_OK(child_prepare(&w.m, web, rt));
        ASSERT_STREQ(env(rt, "A"), "spec");  /* the section's over ours */
        ASSERT_STREQ(env(rt, "B"), "2");
        ASSERT_STREQ(env(rt, "HOME"), "/root");
        ASSERT_STREQ(env(rt, "FORKVISOR_PATH"), "app/web");
        ASSERT_STREQ(env(rt, "FORKVISOR_NAME"), "www");
        ASSERT_STREQ(env(rt, "FORKVISOR_CONTROL"), "/tmp/fv-test-child/control.sock");
        ASSERT_STREQ(env(rt, "FORKVISOR_MAILBOX"), "3");
        ASSERT_STREQ(env(rt, "FORKVISOR_REGISTRY"), "4");
        ASSERT_TRUE(env(rt, "FORKVISOR_INSTANCE") == NULL);
        ASSERT_TRUE(env(rt, "NOTIFY_SOCKET") == NULL); /* ready = none */
        /* Each key once. */
        ASSERT_EQ(strv_length(rt->envp), 3 + 1 + 5);
        world_free(&w);
}

TEST(a_dynamic_child_gets_its_instance) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        tree_start(w.tree);
        Node *job = worker(&w, "app/pool/job.2");
        ASSERT_TRUE(job != NULL);
        Child *rt = job->userdata;
        ASSERT_OK(child_prepare(&w.m, job, rt));
        char inst[16];
        snprintf(inst, sizeof inst, "%d", job->instance);
        ASSERT_STREQ(rt->argv[0], "/bin/echo");
        ASSERT_STREQ(rt->argv[2], inst);
        ASSERT_STREQ(env(rt, "FORKVISOR_INSTANCE"), inst);
        world_free(&w);
}

TEST(prepared_once_and_again_after_a_new_spec) {
        World w;
        ASSERT_OK(world_new(&w, INI));
        Node *web = worker(&w, "app/web");
        Child *rt = web->userdata;
        ASSERT_OK(child_prepare(&w.m, web, rt));
        char **argv = rt->argv, **envp = rt->envp;
        ASSERT_OK(child_prepare(&w.m, web, rt));
        ASSERT_TRUE(rt->argv == argv && rt->envp == envp);
        /* A reload's spec for it: everything is made from that one. */
        Config *c2 = NULL;
        ASSERT_OK(config_load_string("[supervisor:app]\nchildren = web\n[worker:web]\nexec = /bin/true x\n"
                                     "environment = A=new\n",
                                     "/tmp/fv-test-child.ini", &c2, NULL));
        ASSERT_OK(tree_set_spec(web, config_find(c2, SPEC_WORKER, "web")));
        ASSERT_OK(child_prepare(&w.m, web, rt));
        ASSERT_STREQ(rt->argv[0], "/bin/true");
        ASSERT_STREQ(rt->argv[1], "x");
        ASSERT_STREQ(env(rt, "A"), "new");
        ASSERT_STREQ(env(rt, "FORKVISOR_NAME"), "web");
        world_free(&w);
        config_free(c2);
}
