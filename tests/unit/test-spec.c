/* SPDX-License-Identifier: MIT */
/* config_pack(): a configuration copied into one block keeps every field and every link. */
#include <stdint.h>

#include "config.h"
#include "strv.h"
#include "tests.h"

static const char *const INI =
        "[forkvisor]\ncontrol = /tmp/fv-test-spec.sock\n"
        "[supervisor:app]\nchildren = pool, web\n"
        "[supervisor:pool]\nstrategy = simple_one_for_one\ntemplate = job\ninstances = 2\n"
        "[worker:job]\nexec = /bin/sleep %i\nsubscribe = news.*, jobs\n"
        "[worker:web]\nexec = /bin/echo 'a b' c\nenvironment = A=1 B=2\nnormal_exit = 0 3\n"
        "stdout = file:/tmp/fv-test-spec.out\nregister = www\n";

static const Spec *find(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_sections; i++)
                if (strcmp(c->sections[i]->name, name) == 0)
                        return c->sections[i];
        return NULL;
}

static bool inside(const Config *c, const void *p) {
        /* Every pointer of a packed config points after its start (the Config is first). */
        return (uintptr_t) p > (uintptr_t) c;
}

static void check(const Config *c, int *failed_) {
        ASSERT_TRUE(c->packed_size >= sizeof *c);
        ASSERT_STREQ(c->control, "/tmp/fv-test-spec.sock");
        ASSERT_STREQ(c->root->name, "app");
        ASSERT_TRUE(c->root == find(c, "app"));
        ASSERT_EQ(c->root->n_children, 2);
        ASSERT_TRUE(c->root->children[0] == find(c, "pool"));
        ASSERT_TRUE(c->root->children[1] == find(c, "web"));
        const Spec *pool = find(c, "pool"), *job = find(c, "job"), *web = find(c, "web");
        ASSERT_TRUE(pool->template_ == job);
        ASSERT_EQ(pool->instances, 2);
        ASSERT_STREQ(job->argv[0], "/bin/sleep");
        ASSERT_STREQ(job->argv[1], "%i");
        ASSERT_TRUE(job->argv[2] == NULL);
        ASSERT_EQ(strv_length(job->subscribe), 2);
        ASSERT_STREQ(job->subscribe[1], "jobs");
        ASSERT_STREQ(web->argv[1], "a b");
        ASSERT_STREQ(web->environment[1], "B=2");
        ASSERT_EQ(web->n_normal_exit, 2);
        ASSERT_EQ(web->normal_exit[1], 3);
        ASSERT_STREQ(web->stdout_path, "/tmp/fv-test-spec.out");
        ASSERT_STREQ(web->register_name, "www");
        for (size_t i = 0; i < c->n_sections; i++) {
                const Spec *s = c->sections[i];
                ASSERT_TRUE(inside(c, s) && inside(c, s->name) && inside(c, s->file));
                ASSERT_TRUE(!s->argv || inside(c, s->argv[0]));
                ASSERT_TRUE(!s->directory || inside(c, s->directory));
        }
}

TEST(loaded_configs_are_packed_with_every_link) {
        Config *c = NULL;
        ASSERT_OK(config_load_string(INI, "/tmp/test-spec.ini", &c, NULL));
        check(c, failed_);
        config_free(c);
}

TEST(a_packed_copy_equals_its_original) {
        Config *c = NULL, *d = NULL;
        ASSERT_OK(config_load_string(INI, "/tmp/test-spec.ini", &c, NULL));
        ASSERT_OK(config_pack(c, &d));
        check(d, failed_);
        ASSERT_EQ(d->n_sections, c->n_sections);
        for (size_t i = 0; i < c->n_sections; i++) {
                ASSERT_TRUE(d->sections[i] != c->sections[i]);
                ASSERT_EQ(d->sections[i]->hash, c->sections[i]->hash);
                ASSERT_STREQ(d->sections[i]->name, c->sections[i]->name);
                if (c->sections[i]->directory)
                        ASSERT_STREQ(d->sections[i]->directory, c->sections[i]->directory);
        }
        config_free(c);
        config_free(d);
}
