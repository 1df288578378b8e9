/* SPDX-License-Identifier: MIT */
/* What the libforkvisor tests (test-lib.c, test-lib-registry.c) share to play the node: the
 * buffer a record is read into, a socketpair like the node's mailboxes, and a child's exit. */
#pragma once

#include <assert.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "proto.h"

static char rec[PROTO_RECORD_MAX + 1];

/* A connected SOCK_SEQPACKET pair: sv[0] the library's end, sv[1] the node's. */
static void pair(int sv[2]) {
        int r = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
        assert(r == 0);
}

/* Waits for pid: its exit code, 128 + the signal that killed it, or -1. */
static int wait_child(pid_t pid) {
        int st;
        if (waitpid(pid, &st, 0) != pid)
                return -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
