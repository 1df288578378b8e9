/* SPDX-License-Identifier: MIT */
/* Topics as NATS subjects (cluster-subject.h): reversible, and NATS' own matching of a pattern's
 * subject against a topic's agrees with topic_matches(); the federated publication's header. */
#include "tests.h"

#include <stdlib.h>

#include "cluster-subject.h"
#include "macro.h"

#define S(s) s, strlen(s)

/* NATS' matching of a subscription subject (tokens, '*' one token, '>' the rest) against a
 * published subject. */
static bool nats_match(const char *sub, const char *subj) {
        for (;;) {
                const char *se = strchrnul(sub, '.'), *pe = strchrnul(subj, '.');
                if (se - sub == 1 && *sub == '>')
                        return *subj != '\0';
                if (*subj == '\0')
                        return false;
                if (!(se - sub == 1 && *sub == '*') && (se - sub != pe - subj || memcmp(sub, subj, (size_t) (se - sub)) != 0))
                        return false;
                if (*se == '\0' || *pe == '\0')
                        return *se == '\0' && *pe == '\0';
                sub = se + 1;
                subj = pe + 1;
        }
}

static int topic_subject(const char *topic, char *buf) {
        return cluster_subject_of_topic("fv", topic, strlen(topic), buf, CLUSTER_SUBJECT_SIZE(2));
}

static int pattern_subject(const char *pattern, char *buf) {
        return cluster_subject_of_pattern("fv", pattern, strlen(pattern), buf, CLUSTER_SUBJECT_SIZE(2));
}

TEST(subject_examples) {
        char buf[CLUSTER_SUBJECT_SIZE(2)];
        ASSERT_TRUE(topic_subject("orders:eu", buf) > 0);
        ASSERT_STREQ(buf, "fv.pub.o.r.d.e.r.s.:.e.u.%");
        ASSERT_TRUE(pattern_subject("orders:*", buf) > 0);
        ASSERT_STREQ(buf, "fv.pub.o.r.d.e.r.s.:.>");
        ASSERT_TRUE(pattern_subject("*", buf) > 0);
        ASSERT_STREQ(buf, "fv.pub.>");
        ASSERT_TRUE(pattern_subject("a.b", buf) > 0);
        ASSERT_STREQ(buf, "fv.pub.a.%2E.b.%");
        ASSERT_TRUE(topic_subject(">%$", buf) > 0);
        ASSERT_STREQ(buf, "fv.pub.%3E.%25.%24.%");
        ASSERT_ERR(topic_subject("a b", buf), -EINVAL);
        ASSERT_ERR(topic_subject("a*", buf), -EINVAL);
        ASSERT_ERR(pattern_subject("a**", buf), -EINVAL);
        ASSERT_ERR(cluster_subject_of_topic("fv", S("abc"), buf, 10), -ENOBUFS);
}

TEST(subject_round_trip) {
        char buf[CLUSTER_SUBJECT_SIZE(2)], topic[TOPIC_MAX + 1], back[TOPIC_MAX + 1];
        /* Every printable byte, then the longest topic. */
        for (int c = 0x21; c <= 0x7e; c++) {
                if (c == '*')
                        continue;
                snprintf(topic, sizeof topic, "x%cy", c);
                ASSERT_TRUE(topic_subject(topic, buf) > 0);
                ASSERT_EQ(cluster_subject_to_topic("fv", buf, back, sizeof back), 3);
                ASSERT_STREQ(back, topic);
        }
        memset(topic, '.', TOPIC_MAX);
        topic[TOPIC_MAX] = '\0';
        ASSERT_TRUE(topic_subject(topic, buf) > 0);
        ASSERT_EQ(cluster_subject_to_topic("fv", buf, back, sizeof back), TOPIC_MAX);
        ASSERT_STREQ(back, topic);
}

TEST(subject_not_a_topic) {
        char back[TOPIC_MAX + 1];
        ASSERT_ERR(cluster_subject_to_topic("fv", "fv.pub.a.b", back, sizeof back), -EINVAL);   /* no end */
        ASSERT_ERR(cluster_subject_to_topic("fv", "fv.pub.%", back, sizeof back), -EINVAL);     /* empty */
        ASSERT_ERR(cluster_subject_to_topic("fv", "fv.pub.ab.%", back, sizeof back), -EINVAL);  /* two bytes */
        ASSERT_ERR(cluster_subject_to_topic("fv", "fv.pub.%61.%", back, sizeof back), -EINVAL); /* 'a' escaped */
        ASSERT_ERR(cluster_subject_to_topic("fv", "fv.pub.%20.%", back, sizeof back), -EINVAL); /* a space */
        ASSERT_ERR(cluster_subject_to_topic("fv", "fv.pub.a.%.b", back, sizeof back), -EINVAL); /* after the end */
        ASSERT_ERR(cluster_subject_to_topic("fv", "xx.pub.a.%", back, sizeof back), -EINVAL);
        ASSERT_ERR(cluster_subject_to_topic("fv", "fv.node.a.%", back, sizeof back), -EINVAL);
        ASSERT_ERR(cluster_subject_to_topic("fv", "fv.pub.a.%", back, 1), -EINVAL);
        ASSERT_EQ(cluster_subject_to_topic("fv", "fv.pub.a.%", back, sizeof back), 1);
}

/* The server's matching of the subjects agrees with the broker's: nothing unwanted is sent. */
TEST(subject_matching_agrees) {
        static const char *const topics[] = { "a", "ab", "abc", "a.b", "a.bc", "b", "orders:eu", "orders:", "orders",
                                              "x>y", "%", "%2E", ".", ">", "a%" };
        static const char *const patterns[] = { "*", "a*", "ab*", "abc*", "a", "ab", "a.*", "a.b", "orders:*", "orders*",
                                                "x>*", "%*", ".*", ">*", "a%*", "%2*" };
        char ts[CLUSTER_SUBJECT_SIZE(2)], ps[CLUSTER_SUBJECT_SIZE(2)];

        for (size_t i = 0; i < ELEMENTSOF(topics); i++)
                for (size_t j = 0; j < ELEMENTSOF(patterns); j++) {
                        ASSERT_TRUE(topic_subject(topics[i], ts) > 0);
                        ASSERT_TRUE(pattern_subject(patterns[j], ps) > 0);
                        if (nats_match(ps, ts) != topic_matches(S(patterns[j]), S(topics[i])))
                                FAIL_("pattern '%s' (%s), topic '%s' (%s)", patterns[j], ps, topics[i], ts);
                }
}

TEST(header) {
        char buf[CLUSTER_HEADER_MAX + 8];
        ClusterHeader h;
        int n = cluster_header_format(buf, sizeof buf, "node-1", 0xdeadbeef12345678ULL, 42);

        ASSERT_EQ(n, (int) strlen("node-1 deadbeef12345678 42\n"));
        ASSERT_STREQ(buf, "node-1 deadbeef12345678 42\n");
        memcpy(buf + n, "data", 4);
        ASSERT_OK(cluster_header_parse(buf, (size_t) n + 4, &h));
        ASSERT_EQ(h.node_len, 6u);
        ASSERT_TRUE(memcmp(h.node, "node-1", 6) == 0);
        ASSERT_EQ(h.boot, 0xdeadbeef12345678ULL);
        ASSERT_EQ(h.seq, 42u);
        ASSERT_EQ(h.data_offset, (size_t) n);
        /* Empty data. */
        ASSERT_OK(cluster_header_parse(buf, (size_t) n, &h));
        ASSERT_EQ(h.data_offset, (size_t) n);

        ASSERT_ERR(cluster_header_parse(S("node 1 2"), &h), -EINVAL);      /* no newline */
        ASSERT_ERR(cluster_header_parse(S(" 1 2\n"), &h), -EINVAL);        /* no node */
        ASSERT_ERR(cluster_header_parse(S("n x 2\n"), &h), -EINVAL);       /* bad boot */
        ASSERT_ERR(cluster_header_parse(S("n 1 -2\n"), &h), -EINVAL);      /* bad seq */
        ASSERT_ERR(cluster_header_parse(S("n 1 \n"), &h), -EINVAL);        /* no seq */
        ASSERT_ERR(cluster_header_parse(S("n 11111111111111111 2\n"), &h), -EINVAL); /* 17 hex digits */
        ASSERT_ERR(cluster_header_parse(S("n\nx 1 2\n"), &h), -EINVAL);
        ASSERT_ERR(cluster_header_format(buf, sizeof buf, "a b", 1, 1), -EINVAL);
}

TEST(records) {
        char buf[64];
        size_t len = 0, off = 0, n;
        const char *p;

        cluster_record_put(buf, &len, "one", 3);
        cluster_record_put(buf, &len, "", 0);
        cluster_record_put(buf, &len, "three", 5);
        ASSERT_EQ(len, (size_t) (3 * CLUSTER_RECORD_HEADER + 8));
        ASSERT_TRUE(memcmp(buf, "\x03\0\0\0one", 7) == 0);
        ASSERT_EQ(cluster_record_next(buf, len, &off, &p, &n), 1);
        ASSERT_EQ(n, 3u);
        ASSERT_TRUE(memcmp(p, "one", 3) == 0);
        ASSERT_EQ(cluster_record_next(buf, len, &off, &p, &n), 1);
        ASSERT_EQ(n, 0u);
        ASSERT_EQ(cluster_record_next(buf, len, &off, &p, &n), 1);
        ASSERT_EQ(n, 5u);
        ASSERT_TRUE(memcmp(p, "three", 5) == 0);
        ASSERT_EQ(cluster_record_next(buf, len, &off, &p, &n), 0);
        /* A length cut short, and one that overruns the message. */
        off = 0;
        ASSERT_ERR(cluster_record_next(buf, 2, &off, &p, &n), -EINVAL);
        off = 0;
        ASSERT_ERR(cluster_record_next(buf, 6, &off, &p, &n), -EINVAL);
        memcpy(buf, "\xff\xff\xff\xff", 4);
        off = 0;
        ASSERT_ERR(cluster_record_next(buf, len, &off, &p, &n), -EINVAL);
}
