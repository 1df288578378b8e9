/* SPDX-License-Identifier: MIT */
#include "cluster-view.h"

#include <inttypes.h>
#include <stdio.h>

#include "json.h"
#include "time-util.h"

static void reply_write(void *ud, const char *p, size_t n) {
        control_reply_append(ud, p, n);
}

static void json_string_or_null(ControlRequest *req, const char *s) {
        if (s)
                json_write_string(s, reply_write, req);
        else
                control_reply_printf(req, "null");
}

static usec_t since(usec_t now, usec_t then) {
        return now > then ? now - then : 0;
}

void cluster_view_json(ControlRequest *req, const Cluster *c) {
        ClusterCounters k;
        usec_t now = now_usec();

        if (!c) {
                control_reply_printf(req, "null");
                return;
        }
        cluster_counters(c, &k);
        control_reply_printf(req, "{\"node\": ");
        json_string_or_null(req, cluster_node_name(c));
        control_reply_printf(req, ", \"state\": \"%s\", \"server\": ", cluster_state_to_string(cluster_state(c)));
        json_string_or_null(req, cluster_server(c));
        control_reply_printf(req, ", \"heartbeat_ms\": %" PRIu64 ", \"messages_in\": %" PRIu64 ", \"messages_out\": %" PRIu64
                             ", \"messages_dropped\": %" PRIu64 ", \"reconnects\": %" PRIu64,
                             cluster_heartbeat_ms(c), k.in, k.out, k.dropped, k.reconnects);
        control_reply_printf(req, ", \"pubsub_in\": %" PRIu64 ", \"pubsub_out\": %" PRIu64 ", \"pubsub_dropped\": %" PRIu64
                             ", \"pubsub_duplicates\": %" PRIu64 ", \"pubsub_patterns\": %" PRIu64,
                             k.pub_in, k.pub_out, k.pub_dropped, k.pub_duplicates, k.pub_patterns);
        control_reply_printf(req, ", \"wire_msgs_in\": %" PRIu64 ", \"wire_msgs_out\": %" PRIu64 ", \"wire_bytes_in\": %" PRIu64
                             ", \"wire_bytes_out\": %" PRIu64 ", \"nodes\": [",
                             k.wire_msgs_in, k.wire_msgs_out, k.wire_bytes_in, k.wire_bytes_out);
        const ClusterNode *nodes = cluster_nodes(c);
        for (size_t i = 0; i < cluster_n_nodes(c); i++) {
                control_reply_printf(req, "%s{\"node\": ", i ? ", " : "");
                json_string_or_null(req, nodes[i].name);
                control_reply_printf(req, ", \"state\": \"%s\", \"last_heartbeat_ms\": %" PRIu64 "}",
                                     nodes[i].up ? "up" : "down", since(now, nodes[i].last_heard) / USEC_PER_MSEC);
        }
        control_reply_printf(req, "]}");
}

void cluster_view_text(ControlRequest *req, const Cluster *c) {
        ClusterCounters k;
        usec_t now = now_usec();
        char ago[32];

        cluster_counters(c, &k);
        control_reply_printf(req, "node:       %s\n", cluster_node_name(c));
        control_reply_printf(req, "state:      %s\n", cluster_state_to_string(cluster_state(c)));
        control_reply_printf(req, "server:     %s\n", cluster_server(c) ?: "-");
        control_reply_printf(req, "heartbeat:  %" PRIu64 " ms\n", cluster_heartbeat_ms(c));
        control_reply_printf(req, "messages:   %" PRIu64 " in, %" PRIu64 " out, %" PRIu64 " dropped\n", k.in, k.out,
                             k.dropped);
        control_reply_printf(req, "pub/sub:    %" PRIu64 " in, %" PRIu64 " out, %" PRIu64 " dropped, %" PRIu64
                             " duplicates, %" PRIu64 " patterns\n", k.pub_in, k.pub_out, k.pub_dropped,
                             k.pub_duplicates, k.pub_patterns);
        control_reply_printf(req, "wire:       %" PRIu64 " messages in (%" PRIu64 " bytes), %" PRIu64 " out (%" PRIu64
                             " bytes)\n", k.wire_msgs_in, k.wire_bytes_in, k.wire_msgs_out, k.wire_bytes_out);
        control_reply_printf(req, "reconnects: %" PRIu64 "\n", k.reconnects);
        if (cluster_n_nodes(c) == 0) {
                control_reply_printf(req, "no other node heard\n");
                return;
        }
        control_reply_printf(req, "\n%-32s %-6s %s\n", "NODE", "STATE", "LAST-HEARTBEAT");
        const ClusterNode *nodes = cluster_nodes(c);
        for (size_t i = 0; i < cluster_n_nodes(c); i++) {
                format_duration(since(now, nodes[i].last_heard), ago, sizeof ago);
                control_reply_printf(req, "%-32s %-6s %s ago\n", nodes[i].name, nodes[i].up ? "up" : "down", ago);
        }
}
