#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Raw clients of a control socket for the reliability suite, doing what the CLI never does.
#   hold PATH N OUT: opens N connections that send nothing, then keeps writing to OUT how many
#     of them the daemon has not closed (polled every 50 ms) until killed.
#   hammer PATH: connects and hangs up in a loop, as fast as it can, until killed.
#   send PATH DATA [PAD]: sends DATA (a Python bytes literal), followed by PAD bytes 'x', as one
#     packet and prints the packets of the answer, one repr() per line, until the daemon closes
#     the connection.
#   dgram PATH DATA: sends DATA as one datagram (to a notify socket).
import ast
import os
import select
import socket
import sys


def hold(path, n, out):
    socks = []
    for _ in range(int(n)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        socks.append(s)
    live = set(socks)
    while True:
        ready, _, _ = select.select(list(live), [], [], 0.05)
        for s in ready:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                live.discard(s)
                s.close()
        with open(out + ".tmp", "w") as f:
            f.write("%d\n" % len(live))
        os.rename(out + ".tmp", out)


def hammer(path):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_NONBLOCK)
        try:
            s.connect(path)
        except OSError:
            pass
        s.close()


def send(path, data, pad="0"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    s.send(ast.literal_eval(data) + b"x" * int(pad))
    while True:
        p = s.recv(1 << 17)
        if not p:
            return
        print(repr(p))


def dgram(path, data):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(ast.literal_eval(data), path)


if __name__ == "__main__":
    {"hold": hold, "hammer": hammer, "send": send, "dgram": dgram}[sys.argv[1]](*sys.argv[2:])
