/* SPDX-License-Identifier: MIT */
/* Global names in JetStream KV (cluster-key.h) and their mirror in the registry: a name becomes
 * a key that KV accepts and comes back unchanged; a key of another spelling is refused; the
 * bucket is PREFIX-names; a value is decoded as encoded, and a damaged one is refused;
 * register_global = NAME is read, refused when it is no name, and without [cluster]. In the
 * registry, another node's name "NAME@NODE" is found as NAME, takes NAME's place, and no lookup
 * by pid of this node takes it for one of ours. */
#include "tests.h"

#include "cluster-key.h"
#include "config-load.h"
#include "registry.h"

static bool key_chars_ok(const char *k) {
        for (; *k; k++)
                if (!strchr("-/_=.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", *k))
                        return false;
        return true;
}

TEST(key_plain_name_is_itself) {
        char k[CLUSTER_KEY_MAX + 1], n[REGISTRY_KEY_MAX + 1];
        ASSERT_OK(cluster_key_encode("db_main-2", k, sizeof k));
        ASSERT_TRUE(strcmp(k, "db_main-2") == 0);
        ASSERT_OK(cluster_key_decode(k, n, sizeof n));
        ASSERT_TRUE(strcmp(n, "db_main-2") == 0);
}

TEST(key_escapes_other_bytes) {
        char k[CLUSTER_KEY_MAX + 1], n[REGISTRY_KEY_MAX + 1];
        ASSERT_OK(cluster_key_encode("db.main", k, sizeof k));
        ASSERT_TRUE(strcmp(k, "db=2Emain") == 0);
        ASSERT_OK(cluster_key_encode("a=b/c*", k, sizeof k));
        ASSERT_TRUE(strcmp(k, "a=3Db=2Fc=2A") == 0);
        ASSERT_OK(cluster_key_decode(k, n, sizeof n));
        ASSERT_TRUE(strcmp(n, "a=b/c*") == 0);
}

TEST(key_every_printable_byte_round_trips) {
        char name[2] = "x", k[CLUSTER_KEY_MAX + 1], n[REGISTRY_KEY_MAX + 1], two[3] = "xy";
        for (int ch = 0x21; ch <= 0x7e; ch++) {
                if (ch == '@')
                        continue;
                two[1] = (char) ch;
                ASSERT_OK(cluster_key_encode(two, k, sizeof k));
                ASSERT_TRUE(key_chars_ok(k));
                ASSERT_TRUE(k[0] != '.' && !strstr(k, ".."));
                ASSERT_OK(cluster_key_decode(k, n, sizeof n));
                ASSERT_TRUE(strcmp(n, two) == 0);
        }
        (void) name;
}

TEST(key_longest_name_fits) {
        char name[REGISTRY_KEY_MAX + 1], k[CLUSTER_KEY_MAX + 1], n[REGISTRY_KEY_MAX + 1];
        memset(name, '.', REGISTRY_KEY_MAX);
        name[REGISTRY_KEY_MAX] = '\0';
        ASSERT_OK(cluster_key_encode(name, k, sizeof k));
        ASSERT_EQ(strlen(k), CLUSTER_KEY_MAX);
        ASSERT_OK(cluster_key_decode(k, n, sizeof n));
        ASSERT_TRUE(strcmp(n, name) == 0);
        ASSERT_ERR(cluster_key_encode(name, k, CLUSTER_KEY_MAX), -ENOBUFS);
}

TEST(key_refuses_what_is_no_name) {
        char k[CLUSTER_KEY_MAX + 1], n[REGISTRY_KEY_MAX + 1];
        ASSERT_ERR(cluster_key_encode("a@b", k, sizeof k), -EINVAL);
        ASSERT_ERR(cluster_key_encode("+group", k, sizeof k), -EINVAL);
        ASSERT_ERR(cluster_key_encode("123", k, sizeof k), -EINVAL);
        ASSERT_ERR(cluster_key_encode("", k, sizeof k), -EINVAL);
        ASSERT_ERR(cluster_key_decode("=41", n, sizeof n), -EINVAL);    /* 'A' needs no escape */
        ASSERT_ERR(cluster_key_decode("a=2e", n, sizeof n), -EINVAL);   /* lower-case hex */
        ASSERT_ERR(cluster_key_decode("a=2", n, sizeof n), -EINVAL);
        ASSERT_ERR(cluster_key_decode("a.b", n, sizeof n), -EINVAL);    /* '.' is never plain */
        ASSERT_ERR(cluster_key_decode("a=40b", n, sizeof n), -EINVAL);  /* '@' */
        ASSERT_ERR(cluster_key_decode("a=20b", n, sizeof n), -EINVAL);  /* a space */
        ASSERT_ERR(cluster_key_decode("42", n, sizeof n), -EINVAL);     /* a pid */
        ASSERT_ERR(cluster_key_decode("", n, sizeof n), -EINVAL);
}

TEST(bucket_name) {
        char b[CLUSTER_BUCKET_MAX + 1];
        ASSERT_OK(cluster_bucket_name("forkvisor", b, sizeof b));
        ASSERT_TRUE(strcmp(b, "forkvisor-names") == 0);
        char longest[CLUSTER_NAME_MAX + 1];
        memset(longest, 'p', CLUSTER_NAME_MAX);
        longest[CLUSTER_NAME_MAX] = '\0';
        ASSERT_OK(cluster_bucket_name(longest, b, sizeof b));
        ASSERT_ERR(cluster_bucket_name("a.b", b, sizeof b), -EINVAL);
}

TEST(value_round_trip) {
        char buf[CLUSTER_VALUE_MAX + 1];
        NameValue v = { .node = "web-1", .pid = 4242, .incarnation = 7, .ttl_ms = 600 }, out;
        int n = cluster_value_encode(&v, buf, sizeof buf);
        ASSERT_TRUE(n > 0);
        ASSERT_TRUE(strcmp(buf, "1 web-1 4242 7 600") == 0);
        ASSERT_OK(cluster_value_decode(buf, (size_t) n, &out));
        ASSERT_TRUE(strcmp(out.node, "web-1") == 0);
        ASSERT_EQ(out.pid, 4242);
        ASSERT_EQ(out.incarnation, 7);
        ASSERT_EQ(out.ttl_ms, 600);
        memset(v.node, 'n', CLUSTER_NAME_MAX);
        v.node[CLUSTER_NAME_MAX] = '\0';
        v.pid = INT32_MAX;
        v.incarnation = v.ttl_ms = UINT32_MAX;
        n = cluster_value_encode(&v, buf, sizeof buf);
        ASSERT_TRUE(n > 0);
        ASSERT_OK(cluster_value_decode(buf, (size_t) n, &out));
        ASSERT_EQ(out.incarnation, UINT32_MAX);
}

TEST(value_refuses_damage) {
        NameValue out;
        static const char *const bad[] = {
                "", "1", "1 ", "2 a 1 1 1", "1 a 1 1", "1 a 1 1 1 ", "1 a 0 1 1", "1 a -1 1 1", "1 a.b 1 1 1",
                "1  1 1 1", "1 a 2147483648 1 1", "1 a 1 4294967296 1", "1 a 1x 1 1", "1 a 1 1 1 1",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ASSERT_ERR(cluster_value_decode(bad[i], strlen(bad[i]), &out), -EBADMSG);
}

TEST(registry_remote_found_by_name) {
        Registry *r;
        RegistryEntry e;
        ASSERT_OK(registry_new(64, &r));
        ASSERT_OK(registry_add(r, "db@node-b", 4242, 3, REGISTRY_REMOTE));
        ASSERT_EQ(registry_lookup(registry_view(r), "db", &e), 1);
        ASSERT_TRUE(strcmp(e.name, "db@node-b") == 0);
        ASSERT_EQ(e.pid, 4242);
        ASSERT_EQ(e.generation, 3);
        ASSERT_TRUE(e.flags & REGISTRY_REMOTE);
        /* Looked up whole, NAME@NODE is no registered name (the router reads it as a target). */
        ASSERT_EQ(registry_lookup(registry_view(r), "db@node-b", &e), 0);
        /* One holder of NAME in the node's table: local or remote. */
        ASSERT_ERR(registry_add(r, "db", 100, 1, REGISTRY_GLOBAL), -EEXIST);
        ASSERT_ERR(registry_add(r, "db", 100, 1, 0), -EEXIST);
        ASSERT_ERR(registry_add(r, "db@node-c", 4243, 1, REGISTRY_REMOTE), -EEXIST);
        /* This node's pid 4242 holds nothing of it. */
        ASSERT_EQ(registry_remove_pid(r, 4242), 0);
        ASSERT_OK(registry_remove(r, "db", 4242));
        ASSERT_EQ(registry_lookup(registry_view(r), "db", &e), 0);
        ASSERT_OK(registry_add(r, "db", 100, 1, REGISTRY_GLOBAL));
        ASSERT_ERR(registry_add(r, "db@node-b", 4242, 3, REGISTRY_REMOTE), -EEXIST);
        registry_free(r);
}

TEST(registry_remote_survives_rebuild) {
        Registry *r;
        RegistryEntry e;
        char name[32];
        ASSERT_OK(registry_new(64, &r));
        ASSERT_OK(registry_add(r, "far@b", 77, 1, REGISTRY_REMOTE));
        /* Enough adds and removes to force rebuilds (tombstones past 3/4). */
        for (int i = 0; i < 500; i++) {
                snprintf(name, sizeof name, "n%d", i);
                ASSERT_OK(registry_add(r, name, 1000 + i, 1, 0));
                ASSERT_OK(registry_remove(r, name, 1000 + i));
        }
        ASSERT_EQ(registry_lookup(registry_view(r), "far", &e), 1);
        ASSERT_TRUE(strcmp(e.name, "far@b") == 0);
        registry_free(r);
}

#define CLUSTER "[cluster]\nnats = nats://127.0.0.1:4222\nnode = a\n"

TEST(config_register_global) {
        Config *c = NULL;
        _cleanup_free_ char *t = NULL;
        ASSERT_OK(load(HEAD "[worker:w]\nexec = /bin/true\nregister_global = db.main\n" CLUSTER, &c, &t));
        const Spec *w = NULL;
        for (size_t i = 0; i < c->n_sections; i++)
                if (strcmp(c->sections[i]->name, "w") == 0)
                        w = c->sections[i];
        ASSERT_TRUE(w && w->register_global && strcmp(w->register_global, "db.main") == 0);
        /* The registry name is untouched: a worker may have both. */
        ASSERT_TRUE(w->register_name && strcmp(w->register_name, "w") == 0);
        config_free(c);

        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nregister_global = +pool\n" CLUSTER, "bad value '+pool' for register_global");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nregister_global = a@b\n" CLUSTER, "bad value 'a@b' for register_global");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nregister_global = 42\n" CLUSTER, "bad value '42'");
        EXPECT_ERROR(HEAD "[worker:w]\nexec = x\nregister_global = db\n", "register_global = db needs a [cluster] section");
}
