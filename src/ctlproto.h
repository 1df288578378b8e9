/* SPDX-License-Identifier: MIT */
/* The control socket's framing, shared by the daemon and the client. A request is one
 * SOCK_SEQPACKET packet: the tag "FV1", then the command and its arguments, each
 * NUL-terminated. The answer is a series of packets, each starting with a type byte:
 * 'O' text for stdout, 'E' text for stderr, 'D' text for stderr to print as it is (configuration
 * diagnostics, "FILE:LINE: message"), 'X' followed by one byte, the exit status (last); or 'S'
 * alone (`subscribe`, `events`): from then on the connection carries mailbox records of INFO
 * frames (forkvisor-protocol(7)) until either end closes it. */
#pragma once

#include <stddef.h>

#define CTL_TAG "FV1"
#define CTL_REQUEST_MAX (65536 + 4096) /* a 64 KiB message and its name and options */
#define CTL_PACKET_MAX 32768
#define CTL_ARGS_MAX 256

#define CTL_OUT 'O'
#define CTL_ERR 'E'
#define CTL_DIAG 'D'
#define CTL_EXIT 'X'
#define CTL_STREAM 'S'

/* Encodes argv into buf; returns the length or -E2BIG / -EINVAL. */
int ctl_encode_request(char *const *argv, char *buf, size_t size);

/* Splits a request packet in place (buf must have one spare byte after len). Returns the
 * number of strings put in argv (at most max), or -EBADMSG for a malformed packet. */
int ctl_decode_request(char *buf, size_t len, char **argv, size_t max);
