/* SPDX-License-Identifier: MIT */
/* The wire of NAME@NODE (cluster-rpc.h): what is encoded is decoded unchanged; what is short,
 * of another version or kind, or whose lengths do not add up, is refused; a name with '@' is
 * no registry name, so a remote target never collides with a local one. */
#include "tests.h"

#include "cluster-rpc.h"
#include "registry.h"

static uint8_t buf[RPC_MSG_MAX];

TEST(rpc_round_trip) {
        RpcMsg in = { .kind = RPC_CALL, .ref = 0x0102030405060708ull, .timeout_ms = 0xa0b0c0d0u,
                      .from = "node-a", .from_len = 6, .name = "echo", .name_len = 4, .data = "hello", .len = 5 };
        RpcMsg out;
        int n = rpc_encode(&in, buf, sizeof buf);
        ASSERT_EQ(n, RPC_HEADER + 6 + 4 + 5);
        ASSERT_EQ(buf[0], RPC_VERSION);
        ASSERT_EQ(buf[2], 0x08); /* little-endian */
        ASSERT_OK(rpc_decode(buf, (size_t) n, &out));
        ASSERT_EQ(out.kind, RPC_CALL);
        ASSERT_EQ(out.ref, in.ref);
        ASSERT_EQ(out.timeout_ms, in.timeout_ms);
        ASSERT_EQ(out.from_len, 6);
        ASSERT_TRUE(memcmp(out.from, "node-a", 6) == 0);
        ASSERT_EQ(out.name_len, 4);
        ASSERT_TRUE(memcmp(out.name, "echo", 4) == 0);
        ASSERT_EQ(out.len, 5);
        ASSERT_TRUE(memcmp(out.data, "hello", 5) == 0);
}

TEST(rpc_empty_parts) {
        RpcMsg in = { .kind = RPC_DOWN, .ref = 7, .from = "b", .from_len = 1 };
        RpcMsg out;
        int n = rpc_encode(&in, buf, sizeof buf);
        ASSERT_EQ(n, RPC_HEADER + 1);
        ASSERT_OK(rpc_decode(buf, (size_t) n, &out));
        ASSERT_EQ(out.kind, RPC_DOWN);
        ASSERT_EQ(out.name_len, 0);
        ASSERT_EQ(out.len, 0);
}

TEST(rpc_biggest) {
        static char name[PROTO_TARGET_MAX + 1], data[PROTO_PAYLOAD_MAX + 1];
        memset(name, 'n', sizeof name);
        memset(data, 'd', sizeof data);
        RpcMsg in = { .kind = RPC_REPLY, .from = "a", .from_len = 1, .name = name, .name_len = PROTO_TARGET_MAX,
                      .data = data, .len = PROTO_PAYLOAD_MAX };
        RpcMsg out;
        int n = rpc_encode(&in, buf, sizeof buf);
        ASSERT_TRUE(n > 0);
        ASSERT_OK(rpc_decode(buf, (size_t) n, &out));
        ASSERT_EQ(out.len, PROTO_PAYLOAD_MAX);
        in.len = PROTO_PAYLOAD_MAX + 1;
        ASSERT_ERR(rpc_encode(&in, buf, sizeof buf), -EINVAL);
        in.len = 1;
        in.name_len = PROTO_TARGET_MAX + 1;
        ASSERT_ERR(rpc_encode(&in, buf, sizeof buf), -EINVAL);
        in.name_len = 1;
        ASSERT_ERR(rpc_encode(&in, buf, RPC_HEADER + 2), -ENOBUFS);
}

TEST(rpc_refused) {
        RpcMsg in = { .kind = RPC_CAST, .from = "a", .from_len = 1, .name = "x", .name_len = 1, .data = "d", .len = 1 };
        RpcMsg out;
        int n = rpc_encode(&in, buf, sizeof buf);
        ASSERT_TRUE(n > 0);
        /* Short: every prefix shorter than header, sender and name. */
        for (int i = 0; i < RPC_HEADER + 2; i++)
                ASSERT_ERR(rpc_decode(buf, (size_t) i, &out), -EBADMSG);
        buf[0] = RPC_VERSION + 1;
        ASSERT_ERR(rpc_decode(buf, (size_t) n, &out), -EBADMSG);
        buf[0] = RPC_VERSION;
        buf[1] = _RPC_KIND_MAX;
        ASSERT_ERR(rpc_decode(buf, (size_t) n, &out), -EBADMSG);
        buf[1] = 0;
        ASSERT_ERR(rpc_decode(buf, (size_t) n, &out), -EBADMSG);
        buf[1] = RPC_CAST;
        /* A sender that is no node name. */
        buf[RPC_HEADER] = '.';
        ASSERT_ERR(rpc_decode(buf, (size_t) n, &out), -EBADMSG);
        buf[RPC_HEADER] = 'a';
        ASSERT_OK(rpc_decode(buf, (size_t) n, &out));
        /* A name longer than what follows. */
        buf[15] = 0xff;
        ASSERT_ERR(rpc_decode(buf, (size_t) n, &out), -EBADMSG);
        /* Bad kinds and lengths never encode. */
        in.kind = 0;
        ASSERT_ERR(rpc_encode(&in, buf, sizeof buf), -EINVAL);
        in.kind = RPC_CAST;
        in.from_len = 0;
        ASSERT_ERR(rpc_encode(&in, buf, sizeof buf), -EINVAL);
}

TEST(rpc_at_is_no_name) {
        ASSERT_TRUE(registry_name_is_valid("echo"));
        ASSERT_TRUE(!registry_name_is_valid("echo@b"));
        ASSERT_TRUE(!registry_name_is_valid("@"));
        ASSERT_TRUE(!registry_name_is_valid("+group@b"));
}
