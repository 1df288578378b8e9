/* SPDX-License-Identifier: MIT */
/* Unit tests of [cluster] (config/keys.c, config/validate.c): its defaults, every key's forms,
 * every error with its FILE:LINE, and config_pack()'s copy of it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "macro.h"
#include "strv.h"
#include "tests.h"

#include "config-load.h"

#define TREE HEAD "[worker:w]\nexec = x\n"

TEST(no_cluster_section) {
        _cleanup_config_ Config *c = NULL;

        LOAD_OK(TREE, c);
        ASSERT_TRUE(!c->cluster.enabled);
        ASSERT_TRUE(!c->cluster.nats && !c->cluster.node && !c->cluster.prefix);
}

TEST(cluster_defaults) {
        _cleanup_config_ Config *c = NULL;

        LOAD_OK(TREE "[cluster]\nnats = nats://127.0.0.1:4222\n", c);
        ASSERT_TRUE(c->cluster.enabled);
        ASSERT_STREQ(c->cluster.nats[0], "nats://127.0.0.1:4222");
        ASSERT_TRUE(c->cluster.nats[1] == NULL);
        ASSERT_TRUE(!c->cluster.node && !c->cluster.prefix); /* the host name, "forkvisor" */
        ASSERT_TRUE(!c->cluster.credentials && !c->cluster.tls_ca && !c->cluster.tls_cert && !c->cluster.tls_key);
        ASSERT_EQ(c->cluster.heartbeat_ms, 1000);
}

TEST(cluster_every_key) {
        _cleanup_config_ Config *c = NULL, *packed = NULL;

        LOAD_OK("[cluster]\nnats = nats://a:4222, tls://b:4223 ,nats://user@c\nnode = Node_1-a\nprefix = fleet-2\n"
                "credentials = /dev/null\ntls_ca = /dev/null\ntls_cert = /dev/null\ntls_key = /dev/null\n"
                "heartbeat = 250\n" TREE, c);
        ASSERT_EQ(strv_length(c->cluster.nats), 3);
        ASSERT_STREQ(c->cluster.nats[0], "nats://a:4222");
        ASSERT_STREQ(c->cluster.nats[1], "tls://b:4223");
        ASSERT_STREQ(c->cluster.nats[2], "nats://user@c");
        ASSERT_STREQ(c->cluster.node, "Node_1-a");
        ASSERT_STREQ(c->cluster.prefix, "fleet-2");
        ASSERT_STREQ(c->cluster.credentials, "/dev/null");
        ASSERT_STREQ(c->cluster.tls_cert, "/dev/null");
        ASSERT_EQ(c->cluster.heartbeat_ms, 250);

        /* The running node keeps a packed copy: every string of [cluster] is in it. */
        ASSERT_OK(config_pack(c, &packed));
        ASSERT_TRUE(packed->cluster.enabled);
        ASSERT_TRUE(packed->cluster.nats != c->cluster.nats);
        ASSERT_STREQ(packed->cluster.nats[2], "nats://user@c");
        ASSERT_TRUE(packed->cluster.nats[3] == NULL);
        ASSERT_STREQ(packed->cluster.node, "Node_1-a");
        ASSERT_STREQ(packed->cluster.prefix, "fleet-2");
        ASSERT_STREQ(packed->cluster.tls_key, "/dev/null");
        ASSERT_EQ(packed->cluster.heartbeat_ms, 250);
}

TEST(cluster_errors) {
        EXPECT_ERROR(TREE "[cluster]\nnode = a\n", NAME ":5: missing required key 'nats' in [cluster]");
        EXPECT_ERROR(TREE "[cluster]\nnats = http://a:4222\n",
                     NAME ":6: bad value 'http://a:4222' for nats: expected nats://HOST:PORT or tls://HOST:PORT");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://\n", NAME ":6: bad value 'nats://' for nats");
        EXPECT_ERROR(TREE "[cluster]\nnats = , ,\n", NAME ":6: missing value for nats");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\nnode = a.b\n",
                     NAME ":7: bad value 'a.b' for node: expected 1-64 characters of A-Z, a-z, 0-9, '_' and '-'");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\nnode = "
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
                     NAME ":7: bad value 'aaaa");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\nprefix = a>\n", NAME ":7: bad value 'a>' for prefix");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\nprefix = a*\n", NAME ":7: bad value 'a*' for prefix");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\nheartbeat = 9\n",
                     NAME ":7: bad value '9' for heartbeat: expected milliseconds from 10 to 600000");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\nheartbeat = 1s\n", NAME ":7: bad value '1s' for heartbeat");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\ntls_cert = /dev/null\n",
                     NAME ":7: tls_cert needs tls_key (its private key)");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\ntls_key = /dev/null\n",
                     NAME ":7: tls_key needs tls_cert (its certificate)");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\ncredentials = /nonexistent/x.creds\n",
                     NAME ":7: cannot read credentials '/nonexistent/x.creds'");
        /* A relative file is the configuration's directory's. */
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\ntls_ca = ca.pem\n", NAME ":7: cannot read tls_ca '/srv/conf/ca.pem'");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\n[cluster]\n", NAME ":7: duplicate section [cluster] (first defined at "
                                                                     NAME ":5)");
        EXPECT_ERROR(TREE "[cluster:x]\nnats = nats://a\n", NAME ":5: [cluster] takes no name: write [cluster]");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\nnats = nats://b\n",
                     NAME ":7: key 'nats' given twice in [cluster] (first at " NAME ":6)");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\nexec = x\n", NAME ":7: unknown key 'exec' in [cluster]");
        EXPECT_ERROR(TREE "[cluster]\nnats = nats://a\nhearbeat = 5\n", NAME ":7: unknown key 'hearbeat', did you mean 'heartbeat'?");
        EXPECT_ERROR("[forkvisor]\nnats = nats://a\n" TREE, NAME ":2: unknown key 'nats' in [forkvisor] (it belongs in [cluster])");
        EXPECT_ERROR(TREE "[clutser]\n", NAME ":5: unknown section kind 'clutser', did you mean 'cluster'?");
}

TEST(cluster_name_is_valid) {
        ASSERT_TRUE(cluster_name_is_valid("a"));
        ASSERT_TRUE(cluster_name_is_valid("Host-01_x"));
        ASSERT_TRUE(!cluster_name_is_valid(""));
        ASSERT_TRUE(!cluster_name_is_valid(NULL));
        ASSERT_TRUE(!cluster_name_is_valid("a.b"));
        ASSERT_TRUE(!cluster_name_is_valid("a b"));
        ASSERT_TRUE(!cluster_name_is_valid("*"));
        ASSERT_TRUE(!cluster_name_is_valid(">"));
        char n[CLUSTER_NAME_MAX + 2];
        memset(n, 'x', sizeof n);
        n[CLUSTER_NAME_MAX] = '\0';
        ASSERT_TRUE(cluster_name_is_valid(n));
        n[CLUSTER_NAME_MAX] = 'x';
        n[CLUSTER_NAME_MAX + 1] = '\0';
        ASSERT_TRUE(!cluster_name_is_valid(n));
}

TEST(cluster_config_equal) {
        _cleanup_config_ Config *a = NULL, *b = NULL, *c = NULL, *d = NULL, *none = NULL;

        LOAD_OK(TREE "[cluster]\nnats = nats://a, nats://b\nnode = x\n", a);
        LOAD_OK(TREE "[cluster]\nnode = x\nnats = nats://a,nats://b\n", b);
        LOAD_OK(TREE "[cluster]\nnats = nats://b, nats://a\nnode = x\n", c);
        LOAD_OK(TREE "[cluster]\nnats = nats://a, nats://b\nnode = x\nheartbeat = 1001\n", d);
        LOAD_OK(TREE, none);
        ASSERT_TRUE(cluster_config_equal(&a->cluster, &b->cluster));
        ASSERT_TRUE(!cluster_config_equal(&a->cluster, &c->cluster)); /* the order is the preference */
        ASSERT_TRUE(!cluster_config_equal(&a->cluster, &d->cluster));
        ASSERT_TRUE(!cluster_config_equal(&a->cluster, &none->cluster));
        ASSERT_TRUE(cluster_config_equal(&none->cluster, &none->cluster));
}
