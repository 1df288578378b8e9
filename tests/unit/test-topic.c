/* SPDX-License-Identifier: MIT */
/* Topics and patterns: what is valid, what matches. */
#include "tests.h"

#include "topic.h"

#define S(s) s, strlen(s)

TEST(topic_valid) {
        char big[TOPIC_MAX + 2];
        ASSERT_TRUE(topic_is_valid(S("orders:eu")));
        ASSERT_TRUE(topic_is_valid(S("a")));
        ASSERT_TRUE(topic_is_valid(S("forkvisor:started")));
        ASSERT_TRUE(!topic_is_valid(S("")));
        ASSERT_TRUE(!topic_is_valid(S("orders eu")));
        ASSERT_TRUE(!topic_is_valid(S("orders\teu")));
        ASSERT_TRUE(!topic_is_valid(S("orders:*")));
        ASSERT_TRUE(!topic_is_valid(S("or*ders")));
        ASSERT_TRUE(!topic_is_valid("ab\0c", 4));
        ASSERT_TRUE(!topic_is_valid(S("caf\xc3\xa9")));
        memset(big, 'x', sizeof big);
        ASSERT_TRUE(topic_is_valid(big, TOPIC_MAX));
        ASSERT_TRUE(!topic_is_valid(big, TOPIC_MAX + 1));
}

TEST(pattern_valid) {
        char big[TOPIC_MAX + 2];
        ASSERT_TRUE(topic_pattern_is_valid(S("orders:eu")));
        ASSERT_TRUE(topic_pattern_is_valid(S("orders:*")));
        ASSERT_TRUE(topic_pattern_is_valid(S("*")));
        ASSERT_TRUE(!topic_pattern_is_valid(S("")));
        ASSERT_TRUE(!topic_pattern_is_valid(S("**")));
        ASSERT_TRUE(!topic_pattern_is_valid(S("or*ders")));
        ASSERT_TRUE(!topic_pattern_is_valid(S("*orders")));
        ASSERT_TRUE(!topic_pattern_is_valid(S("orders *")));
        memset(big, 'x', sizeof big);
        big[TOPIC_MAX - 1] = '*';
        ASSERT_TRUE(topic_pattern_is_valid(big, TOPIC_MAX));
        big[TOPIC_MAX] = '*';
        ASSERT_TRUE(!topic_pattern_is_valid(big, TOPIC_MAX + 1));
}

TEST(matching) {
        ASSERT_TRUE(topic_matches(S("orders:eu"), S("orders:eu")));
        ASSERT_TRUE(!topic_matches(S("orders:eu"), S("orders:eu2")));
        ASSERT_TRUE(!topic_matches(S("orders:eu"), S("orders:e")));
        ASSERT_TRUE(!topic_matches(S("orders:eu"), S("Orders:eu")));
        ASSERT_TRUE(topic_matches(S("orders:*"), S("orders:eu")));
        ASSERT_TRUE(topic_matches(S("orders:*"), S("orders:")));
        ASSERT_TRUE(topic_matches(S("orders:*"), S("orders:us:west")));
        ASSERT_TRUE(!topic_matches(S("orders:*"), S("orders")));
        ASSERT_TRUE(!topic_matches(S("orders:*"), S("order:eu")));
        ASSERT_TRUE(topic_matches(S("orders*"), S("orders")));
        ASSERT_TRUE(topic_matches(S("orders*"), S("ordersX")));
        ASSERT_TRUE(topic_matches(S("*"), S("anything")));
        ASSERT_TRUE(topic_matches(S("forkvisor:*"), S("forkvisor:gave_up")));
}
