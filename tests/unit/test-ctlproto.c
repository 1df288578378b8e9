/* SPDX-License-Identifier: MIT */
/* Control request framing: round trip (FV1 and FV2 with its deadline), and every malformed packet
 * refused. */
#include "ctlproto.h"
#include "macro.h"
#include "tests.h"

TEST(round_trip) {
        char buf[256], *argv[8];
        CtlHeader h = { .deadline_usec = 7 };
        int n = ctl_encode_request((char *[]) { "status", "app/web", "1", NULL }, NULL, buf, sizeof buf);
        ASSERT_TRUE(n > 0);
        ASSERT_EQ(ctl_decode_request(buf, (size_t) n, argv, 8, &h), 3);
        ASSERT_STREQ(argv[0], "status");
        ASSERT_STREQ(argv[1], "app/web");
        ASSERT_STREQ(argv[2], "1");
        /* An old client's request: version 1, no deadline. */
        ASSERT_EQ(h.version, 1u);
        ASSERT_EQ(h.deadline_usec, 0u);
}

TEST(deadline_round_trip) {
        char buf[256], *argv[8];
        CtlHeader out = { .version = 2, .deadline_usec = UINT64_MAX }, in = {};
        int n = ctl_encode_request((char *[]) { "shutdown", NULL }, &out, buf, sizeof buf);
        ASSERT_TRUE(n > 0);
        ASSERT_EQ(memcmp(buf, "FV2", 4), 0);
        ASSERT_EQ(ctl_decode_request(buf, (size_t) n, argv, 8, &in), 1);
        ASSERT_STREQ(argv[0], "shutdown");
        ASSERT_EQ(in.version, 2u);
        ASSERT_EQ(in.deadline_usec, UINT64_MAX);

        /* FV2 without a deadline: an empty header. */
        out.deadline_usec = 0;
        n = ctl_encode_request((char *[]) { "wait", "", "running", "", NULL }, &out, buf, sizeof buf);
        ASSERT_EQ(n, 4 + 1 + 5 + 1 + 8 + 1);
        ASSERT_EQ(ctl_decode_request(buf, (size_t) n, argv, 8, &in), 4);
        ASSERT_EQ(in.version, 2u);
        ASSERT_EQ(in.deadline_usec, 0u);
        ASSERT_STREQ(argv[0], "wait");
        ASSERT_STREQ(argv[1], "");
        ASSERT_STREQ(argv[3], "");
}

TEST(unknown_header_fields_are_ignored) {
        char pkt[] = "FV2\0colour=blue\0deadline=42\0later=\0\0tree";
        char *argv[4];
        CtlHeader h;
        ASSERT_EQ(ctl_decode_request(pkt, sizeof pkt, argv, 4, &h), 1);
        ASSERT_STREQ(argv[0], "tree");
        ASSERT_EQ(h.deadline_usec, 42u);
}

TEST(empty_arguments_survive) {
        char buf[64], *argv[8];
        int n = ctl_encode_request((char *[]) { "wait", "", "running", "", NULL }, NULL, buf, sizeof buf);
        ASSERT_EQ(ctl_decode_request(buf, (size_t) n, argv, 8, NULL), 4);
        ASSERT_STREQ(argv[1], "");
        ASSERT_STREQ(argv[3], "");
}

TEST(too_long_to_encode) {
        char buf[8], big[40];
        CtlHeader h = { .version = 2, .deadline_usec = 123456789 };
        ASSERT_ERR(ctl_encode_request((char *[]) { "status", NULL }, NULL, buf, sizeof buf), -E2BIG);
        /* The header alone does not fit, then the header fits but not the command. */
        ASSERT_ERR(ctl_encode_request((char *[]) { "s", NULL }, &h, buf, sizeof buf), -E2BIG);
        ASSERT_ERR(ctl_encode_request((char *[]) { "status", "x", NULL }, &h, big, 4 + 19 + 1 + 7), -E2BIG);
        ASSERT_EQ(ctl_encode_request((char *[]) { "status", NULL }, &h, big, 4 + 19 + 1 + 7), 31);
}

TEST(malformed_packets_are_refused) {
        char *argv[4];
        CtlHeader h;
        char bad_tag[] = "XY1\0status";
        ASSERT_ERR(ctl_decode_request(bad_tag, sizeof bad_tag, argv, 4, &h), -EBADMSG);
        char unterminated[] = { 'F', 'V', '1', 0, 's', 't' };
        ASSERT_ERR(ctl_decode_request(unterminated, sizeof unterminated, argv, 4, &h), -EBADMSG);
        char short_pkt[] = { 'F', 'V' };
        ASSERT_ERR(ctl_decode_request(short_pkt, sizeof short_pkt, argv, 4, &h), -EBADMSG);
        char many[] = "FV1\0a\0b\0c\0d\0e";
        ASSERT_ERR(ctl_decode_request(many, sizeof many, argv, 4, &h), -EBADMSG);
        char tag_only[] = "FV1";
        ASSERT_EQ(ctl_decode_request(tag_only, sizeof tag_only, argv, 4, &h), 0);
        char unknown_version[] = "FV3\0\0status";
        ASSERT_ERR(ctl_decode_request(unknown_version, sizeof unknown_version, argv, 4, &h), -EBADMSG);
}

TEST(malformed_headers_are_refused) {
        char *argv[4];
        CtlHeader h;
        /* The header never ends. */
        char no_end[] = "FV2\0deadline=5";
        ASSERT_ERR(ctl_decode_request(no_end, sizeof no_end, argv, 4, &h), -EBADMSG);
        char tag_only[] = "FV2";
        ASSERT_ERR(ctl_decode_request(tag_only, sizeof tag_only, argv, 4, &h), -EBADMSG);
        /* A field without '=': probably a command sent without its header. */
        char no_equals[] = "FV2\0status\0\0";
        ASSERT_ERR(ctl_decode_request(no_equals, sizeof no_equals, argv, 4, &h), -EBADMSG);
        /* Deadlines: digits only, not empty, not 0, no overflow. */
        const char *bad[] = { "deadline=", "deadline=0", "deadline=-5", "deadline=12x", "deadline= 12",
                              "deadline=18446744073709551616", "deadline=99999999999999999999" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char pkt[64];
                size_t l = strlen(bad[i]);
                memcpy(pkt, "FV2", 4);
                memcpy(pkt + 4, bad[i], l + 1);
                memcpy(pkt + 5 + l, "\0tree", 6);
                ASSERT_ERR(ctl_decode_request(pkt, 5 + l + 6, argv, 4, &h), -EBADMSG);
        }
        /* The largest deadline there is. */
        char max[] = "FV2\0deadline=18446744073709551615\0\0tree";
        ASSERT_EQ(ctl_decode_request(max, sizeof max, argv, 4, &h), 1);
        ASSERT_EQ(h.deadline_usec, UINT64_MAX);
}
