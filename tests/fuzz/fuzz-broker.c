/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the broker: a sequence of subscribe, unsubscribe and publish operations
 * with arbitrary topics, by three subscribers, checked against a plain model: every publication
 * reaches exactly the subscribers with a matching pattern (each once), bad topics and patterns
 * are refused, and what arrives decodes as the INFO frame that was published.
 *
 * Input: operations, each [op byte][length byte][length bytes of topic]; op % 3 is subscribe,
 * unsubscribe or publish, op / 3 % 3 the subscriber. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "proto.h"
#include "topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SUBS 3
#define PATTERNS_MAX 16

static sd_event *event;
static MailboxGroup *group;
static Mailbox *mailbox[SUBS];
static int reader[SUBS];

static unsigned on_frame(void *ud, Mailbox *mb, const Frame *f, int fd) {
        return 1;
}
static void on_broken(void *ud, Mailbox *mb, const char *why) {}
static void on_dirty(void *ud, Mailbox *mb) {}
static const MailboxHandlers handlers = { on_frame, on_broken, on_dirty, NULL };

static void setup(void) {
        if (sd_event_new(&event) < 0 || mailbox_group_new(&group) < 0)
                abort();
        for (int i = 0; i < SUBS; i++) {
                int sv[2];
                if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
                    mailbox_new(event, group, sv[0], 1u << 30, &handlers, NULL, &mailbox[i]) < 0)
                        abort();
                mailbox_set_batch(mailbox[i], true);
                reader[i] = sv[1];
        }
}

/* Everything subscriber i was sent must be the one publication (topic, payload). Returns the
 * number of frames. */
static int drain(int i, const char *topic, size_t tlen) {
        static char rec[PROTO_RECORD_MAX];
        int frames = 0;
        mailbox_flush(mailbox[i]);
        for (;;) {
                ssize_t n = recv(reader[i], rec, sizeof rec, MSG_DONTWAIT);
                if (n <= 0)
                        return frames;
                for (size_t off = 0; off < (size_t) n;) {
                        Frame f;
                        size_t used;
                        if (proto_decode(rec + off, (size_t) n - off, &f, &used) < 0 || f.kind != PROTO_INFO ||
                            f.target_len != tlen || memcmp(f.target, topic, tlen) != 0 || f.payload_len != 1 ||
                            f.sender != 7)
                                abort();
                        off += used;
                        frames++;
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char model[SUBS][PATTERNS_MAX][256];
        size_t n_model[SUBS] = { 0 };
        Broker *b = NULL;
        Subscriber *sub[SUBS];

        if (!event)
                setup();
        if (broker_new(&b) < 0)
                return 0;
        for (int i = 0; i < SUBS; i++)
                if (!(sub[i] = broker_subscriber_new(b, mailbox[i])))
                        abort();

        for (size_t off = 0; off + 2 <= size;) {
                unsigned op = data[off] % 3, who = data[off] / 3 % SUBS;
                size_t len = data[off + 1];
                off += 2;
                if (len > size - off)
                        len = size - off;
                const char *t = (const char *) data + off;
                off += len;

                if (op == 0) {
                        bool valid = topic_pattern_is_valid(t, len);
                        bool known = false;
                        for (size_t k = 0; k < n_model[who]; k++)
                                known |= strlen(model[who][k]) == len && memcmp(model[who][k], t, len) == 0;
                        if (valid && !known && n_model[who] == PATTERNS_MAX)
                                continue; /* the model is full: skip */
                        int r = broker_subscribe(sub[who], t, len);
                        if ((r == 0) != valid)
                                abort();
                        if (valid && !known) {
                                memcpy(model[who][n_model[who]], t, len);
                                model[who][n_model[who]++][len] = '\0';
                        }
                } else if (op == 1) {
                        ssize_t at = -1;
                        for (size_t k = 0; k < n_model[who]; k++)
                                if (strlen(model[who][k]) == len && memcmp(model[who][k], t, len) == 0)
                                        at = (ssize_t) k;
                        int r = broker_unsubscribe(sub[who], t, len);
                        if ((r == 0) != (at >= 0) || (r < 0 && r != -ENOENT))
                                abort();
                        if (at >= 0) {
                                memmove(model[who][at], model[who][at + 1], (n_model[who] - (size_t) at - 1) * 256);
                                n_model[who]--;
                        }
                } else {
                        int want = 0;
                        for (int i = 0; i < SUBS; i++) {
                                bool match = false;
                                for (size_t k = 0; k < n_model[i]; k++)
                                        match |= topic_matches(model[i][k], strlen(model[i][k]), t, len);
                                want += match;
                        }
                        int r = broker_publish(b, t, len, 7, "x", 1);
                        if (!topic_is_valid(t, len) ? r != -EINVAL : r != want)
                                abort();
                        int got = 0;
                        for (int i = 0; i < SUBS; i++)
                                got += drain(i, t, len);
                        if (r >= 0 && got != r)
                                abort();
                }
        }
        for (int i = 0; i < SUBS; i++)
                broker_subscriber_free(sub[i]);
        broker_free(b);
        return 0;
}
