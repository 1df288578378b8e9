/* SPDX-License-Identifier: MIT */
/* Control request framing: round trip, and every malformed packet refused. */
#include "ctlproto.h"
#include "tests.h"

TEST(round_trip) {
        char buf[256], *argv[8];
        int n = ctl_encode_request((char *[]) { "status", "app/web", "1", NULL }, buf, sizeof buf);
        ASSERT_TRUE(n > 0);
        ASSERT_EQ(ctl_decode_request(buf, (size_t) n, argv, 8), 3);
        ASSERT_STREQ(argv[0], "status");
        ASSERT_STREQ(argv[1], "app/web");
        ASSERT_STREQ(argv[2], "1");
}

TEST(empty_arguments_survive) {
        char buf[64], *argv[8];
        int n = ctl_encode_request((char *[]) { "wait", "", "running", "", NULL }, buf, sizeof buf);
        ASSERT_EQ(ctl_decode_request(buf, (size_t) n, argv, 8), 4);
        ASSERT_STREQ(argv[1], "");
        ASSERT_STREQ(argv[3], "");
}

TEST(too_long_to_encode) {
        char buf[8];
        ASSERT_ERR(ctl_encode_request((char *[]) { "status", NULL }, buf, sizeof buf), -E2BIG);
}

TEST(malformed_packets_are_refused) {
        char *argv[4];
        char bad_tag[] = "XY1\0status";
        ASSERT_ERR(ctl_decode_request(bad_tag, sizeof bad_tag, argv, 4), -EBADMSG);
        char unterminated[] = { 'F', 'V', '1', 0, 's', 't' };
        ASSERT_ERR(ctl_decode_request(unterminated, sizeof unterminated, argv, 4), -EBADMSG);
        char short_pkt[] = { 'F', 'V' };
        ASSERT_ERR(ctl_decode_request(short_pkt, sizeof short_pkt, argv, 4), -EBADMSG);
        char many[] = "FV1\0a\0b\0c\0d\0e";
        ASSERT_ERR(ctl_decode_request(many, sizeof many, argv, 4), -EBADMSG);
        char tag_only[] = "FV1";
        ASSERT_EQ(ctl_decode_request(tag_only, sizeof tag_only, argv, 4), 0);
}
