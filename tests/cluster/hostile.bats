# SPDX-License-Identifier: MIT
# What any client of the NATS servers can send a node (forkvisor-cluster(7), SECURITY): garbage
# and forgeries on its RPC subject, on the heartbeat and publication subjects, a flood. The node
# drops and counts what it cannot read, its tree and its calls carry on, nothing crashes (the
# sanitized run checks the logs).
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=120}"

setup() { load cluster_helper; }
teardown() { cluster_teardown; }

# nats_raw SERVER SUBJECT FILE [COUNT]: publishes FILE's bytes on SUBJECT COUNT times (default
# 1) through server SERVER as a bare NATS client, then waits for the server's PONG (all of it
# was taken in).
nats_raw() {
    python3 - "${NATS_PORT[$1]}" "$2" "$3" "${4:-1}" <<'PY'
import socket, sys
port, subject, path, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
data = open(path, "rb").read()
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
f.readline()  # INFO
msg = b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(data), data)
s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n' + msg * count + b"PING\r\n")
while True:
    line = f.readline()
    if not line or line.startswith(b"PONG"):
        break
    if line.startswith(b"-ERR"):
        sys.exit(line.decode().strip())
s.close()
PY
}

both_up() { node_heard a b up && node_heard b a up; }

@test "hostile: garbage and forgeries on a node's subjects are dropped and counted; its tree and calls go on" {
    nats_cluster 1
    node_ini a 1
    node_ini b 1
    node_start a
    node_start b
    retry 300 0.05 both_up
    local pid d0 f=$BATS_TEST_TMPDIR/msg
    pid=$(fvn a info app/w | sed -n 's/^pid: //p')
    d0=$(cluster_field a messages_dropped)

    # Not an RPC message at all; a truncated one; a call whose lengths overrun it; a forged
    # sender that is no node name.
    printf 'hello' > "$f"
    nats_raw 1 forkvisor.rpc.a "$f" 50
    python3 -c '
import struct, sys
hdr = lambda kind, fl, nl: bytes([1, kind]) + struct.pack("<QI", 7, 1000) + bytes([fl]) + struct.pack("<H", nl)
open(sys.argv[1] + ".1", "wb").write(hdr(1, 1, 4)[:12])
open(sys.argv[1] + ".2", "wb").write(hdr(1, 1, 60000) + b"b" + b"echo")
open(sys.argv[1] + ".3", "wb").write(hdr(1, 3, 4) + b"../" + b"echo" + b"x")
open(sys.argv[1] + ".4", "wb").write(hdr(99, 1, 4) + b"b" + b"echo")
' "$f"
    for i in 1 2 3 4; do nats_raw 1 forkvisor.rpc.a "$f.$i" 20; done
    # A heartbeat of nonsense, and one that claims a huge period; publications without a header,
    # and on subjects that are no topic's.
    printf '%s' '-1 zz' > "$f"
    nats_raw 1 forkvisor.node.x.heartbeat "$f"
    printf '%s' '99999999999999999999 1' > "$f"
    nats_raw 1 forkvisor.node.y.heartbeat "$f"
    printf 'no header' > "$f"
    nats_raw 1 'forkvisor.pub.a.%' "$f" 20
    nats_raw 1 'forkvisor.pub.%ZZ.%' "$f" 20
    # A flood of 20000 on the RPC subject: beyond the queue's bound, dropped and counted.
    head -c 200 /dev/zero > "$f"
    nats_raw 1 forkvisor.rpc.a "$f" 20000

    # a is alive and unchanged, still answers locally and across, and counted what it dropped.
    run -0 fvn a call echo@b still-here
    assert_output "echo: still-here"
    run -0 fvn b call echo@a and-here
    assert_output "echo: and-here"
    [ "$(fvn a info app/w | sed -n 's/^pid: //p')" = "$pid" ]
    [ "$(cluster_field a messages_dropped)" -gt "$d0" ]
    # All of the flood was counted, none of it logged line by line; the bogus heartbeats made
    # nodes x and y, listed as any other.
    [ "$(cluster_field a messages_dropped)" -ge $((d0 + 20000)) ]
    [ "$(wc -l < "$BATS_TEST_TMPDIR/a.log")" -lt 50 ]
    retry 100 0.05 node_heard a x down
    node_stop a
    node_stop b
    run -1 grep -E 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR"/a.log "$BATS_TEST_TMPDIR"/b.log
    nothing_survives
}
