/* SPDX-License-Identifier: MIT */
/* The control socket's framing, shared by the daemon and the client. A request is one
 * SOCK_SEQPACKET packet: a tag, then the command and its arguments, each NUL-terminated.
 *   "FV1"  the command follows at once (clients before deadlines; still accepted).
 *   "FV2"  header fields "KEY=VALUE" follow, ended by an empty string, then the command. The one
 *          key known is "deadline": the CLOCK_MONOTONIC time (µs, decimal) after which the
 *          client no longer waits; unknown keys are ignored, so later fields cost no new tag.
 *          A daemon that reads an FV2 request answers 'A' before carrying it out.
 * The answer is a series of packets, each starting with a type byte: 'A' alone: the request is
 * being carried out (FV2 only, first); 'O' text for stdout, 'E' text for stderr, 'D' text for
 * stderr to print as it is (configuration diagnostics, "FILE:LINE: message"), 'X' followed by
 * one byte, the exit status (last); or 'S' alone (`subscribe`, `events`): from then on the
 * connection carries mailbox records of INFO frames (forkvisor-protocol(7)) until either end
 * closes it. A client ignores types it does not know. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define CTL_TAG "FV1"
#define CTL_TAG_V2 "FV2"
#define CTL_REQUEST_MAX (65536 + 4096) /* a 64 KiB message and its name and options */
#define CTL_PACKET_MAX 32768
#define CTL_ARGS_MAX 256

#define CTL_ACCEPT 'A'
#define CTL_OUT 'O'
#define CTL_ERR 'E'
#define CTL_DIAG 'D'
#define CTL_EXIT 'X'
#define CTL_STREAM 'S'

/* What an FV2 header says about a request. */
typedef struct CtlHeader {
        unsigned version;          /* 1 or 2: the tag's */
        uint64_t deadline_usec;    /* CLOCK_MONOTONIC µs; 0: none */
} CtlHeader;

/* Encodes argv into buf; returns the length or -E2BIG / -EINVAL. With h NULL the request is
 * FV1, else FV2 with h's fields (a deadline of 0 is left out). */
int ctl_encode_request(char *const *argv, const CtlHeader *h, char *buf, size_t size);

/* Splits a request packet in place (buf must have one spare byte after len). Returns the
 * number of strings put in argv (at most max), or -EBADMSG for a malformed packet; fills
 * *h (when not NULL) from the header. */
int ctl_decode_request(char *buf, size_t len, char **argv, size_t max, CtlHeader *h);
