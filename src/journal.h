/* SPDX-License-Identifier: MIT */
/* The daemon's records to journald, sent by us over the native protocol on a non-blocking
 * datagram socket: sd_journal_send(3) sends on a blocking socket of its own, and a journald that
 * stops taking datagrams (stopped, or its queue full) would stop the node with it. An entry the
 * journal does not take at once is dropped and counted; the next one that goes through is
 * preceded by one saying how many were lost. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

typedef struct JournalField {
        const char *key;        /* e.g. "MESSAGE" */
        const char *value;
        size_t len;             /* of value; a value may hold newlines */
} JournalField;

/* Connects to the journal at path (NULL: JOURNAL_SOCKET); it is connected again when needed. */
int journal_open(const char *path);
void journal_close(void);

/* One entry of n fields. false when it was dropped. */
bool journal_send(const JournalField *f, size_t n);
uint64_t journal_dropped_total(void);
