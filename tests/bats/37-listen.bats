# SPDX-License-Identifier: MIT
# Socket activation (issue 15, point 3): `listen` sockets opened by the node and passed as
# systemd passes them (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES on fds 3..), read by a worker that
# uses libsystemd's sd_listen_fds_with_names(3) unmodified (workers/listen-echo.c), and answered to
# a real client; kept across restarts so that no connection is refused while the worker restarts.
bats_require_minimum_version 1.5.0
: "${BATS_TEST_TIMEOUT:=60}"

setup() { load test_helper; }
teardown() { fv_teardown; }

# free_port: a TCP port of 127.0.0.1 nobody listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ask_tcp PORT: connects to 127.0.0.1:PORT and prints the one line the worker answers; fails
# (with bash's message, e.g. "Connection refused") when the connection is not accepted.
ask_tcp() {
    local line fd
    exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
    read -r -t 20 line <&"$fd" || { exec {fd}<&-; return 1; }
    exec {fd}<&-
    echo "$line"
}

# ask_unix PATH: the same over a unix socket.
ask_unix() {
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
print(s.makefile().readline().strip())' "$1"
}

fds_of() { cat "$FV_TEST_OUT/$1.fds"; }
# answered_by PORT PATH: a client of 127.0.0.1:PORT is answered by PATH's process, now running.
answered_by() {
    run -0 ask_tcp "$1"
    [ "$output" = "unknown $(pid_of "$2")" ]
}
# pid_column PATH: what `status` shows in PATH's pid column ("listen" while it waits).
pid_column() { fv status | awk -v p="$1" '$1 == p { print $4 }'; }
waiting() { [[ $(pid_column "$1") == listen ]]; }
env_of() { tr '\0' '\n' <"/proc/$1/environ" | grep "^$2="; }

@test "listen = tcp: the worker takes the socket with sd_listen_fds and answers a real client" {
    local port; port=$(free_port)
    app_ini web:@W@/listen-echo "listen=tcp:127.0.0.1:$port"
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    retry 100 0.05 file_has "$FV_TEST_OUT/web.fds"
    [ "$(fds_of web)" = "1 unknown" ]
    local pid; pid=$(pid_of app/web)
    run -0 ask_tcp "$port"
    [ "$output" = "unknown $pid" ]
    # The mailbox and the registry moved past the socket, and the environment says where.
    [ "$(env_of "$pid" FORKVISOR_MAILBOX)" = FORKVISOR_MAILBOX=4 ]
    [ "$(env_of "$pid" FORKVISOR_REGISTRY)" = FORKVISOR_REGISTRY=5 ]
    [ "$(env_of "$pid" LISTEN_PID)" = "LISTEN_PID=$pid" ]
    [[ $(readlink "/proc/$pid/fd/3") == socket:* ]]
    fv_stop
    no_survivors
    # The node closed its socket as it exited.
    run ! ask_tcp "$port"
}

@test "listen: across 20 restarts of the worker, no connection is refused" {
    local port; port=$(free_port)
    app_ini intensity=1000 period=1 web:@W@/listen-echo "listen=tcp:127.0.0.1:$port"
    fv_start t.ini
    local pid round answers=0
    for ((round = 0; round < 20; round++)); do
        pid=$(pid_of app/web)
        [ -n "$pid" ]
        kill -KILL "$pid"
        # At once, while the worker is down or starting: the backlog holds the connection.
        run -0 ask_tcp "$port"
        [[ $output == "unknown "* ]]
        [ "${output#unknown }" != "$pid" ]
        answers=$((answers + 1))
        retry 200 0.05 pid_changed app/web "$pid"
    done
    [ "$answers" = 20 ]
    [ "$(fv info app/web | sed -n 's/^restarts: //p')" -ge 20 ]
    fv_stop
    no_survivors
}

@test "listen: a unix socket with listen_mode, names from listen_name, and several sockets" {
    local port; port=$(free_port)
    conf t.ini <<EOF
[supervisor:app]
children = web
[worker:web]
exec = @W@/listen-echo
listen = unix:web.sock tcp:127.0.0.1:$port
listen_name = api admin
listen_mode = 0600
EOF
    # A stale socket file of an earlier run is replaced.
    python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$BATS_TEST_TMPDIR/web.sock"
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    retry 100 0.05 file_has "$FV_TEST_OUT/web.fds"
    [ "$(fds_of web)" = "2 api admin" ]
    [ "$(stat -c %a "$BATS_TEST_TMPDIR/web.sock")" = 600 ]
    [ -S "$BATS_TEST_TMPDIR/web.sock" ]
    local pid; pid=$(pid_of app/web)
    run -0 ask_unix "$BATS_TEST_TMPDIR/web.sock"
    [ "$output" = "api $pid" ]
    run -0 ask_tcp "$port"
    [ "$output" = "admin $pid" ]
    [ "$(env_of "$pid" FORKVISOR_MAILBOX)" = FORKVISOR_MAILBOX=5 ]
    fv_stop
    no_survivors
}

@test "listen: one listen_name names every socket; the default mode of a unix socket is 0666" {
    app_ini web:@W@/listen-echo "listen=unix:a.sock unix:b.sock" listen_name=www
    fv_start t.ini
    retry 100 0.05 file_has "$FV_TEST_OUT/web.fds"
    [ "$(fds_of web)" = "2 www www" ]
    [ "$(stat -c %a "$BATS_TEST_TMPDIR/a.sock")" = 666 ]
    run -0 ask_unix "$BATS_TEST_TMPDIR/b.sock"
    [[ $output == "www "* ]]
    fv_stop
    no_survivors
}

@test "listen with ready = mailbox: the mailbox is past the sockets, and forkvisor ready finds it" {
    local port; port=$(free_port)
    cat >"$BATS_TEST_TMPDIR/web" <<EOF
#!/bin/sh
"$FORKVISOR" ready || exit 9
exec "$WORKERS/listen-echo"
EOF
    chmod +x "$BATS_TEST_TMPDIR/web"
    app_ini web:web ready=mailbox "listen=tcp:127.0.0.1:$port"
    fv_start t.ini
    [ "$(state_of app/web)" = running ]
    answered_by "$port" app/web
    fv_stop
    no_survivors
}

@test "listen: an address already taken is a failed start that names it, and the node does not start" {
    local port; port=$(free_port)
    # Something else holds the port for as long as the test runs.
    python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
open(sys.argv[2], "w").write("up")
time.sleep(60)' "$port" "$BATS_TEST_TMPDIR/holder.up" 3>&- &
    local holder=$!
    retry 100 0.05 file_has "$BATS_TEST_TMPDIR/holder.up"
    app_ini web:@W@/listen-echo "listen=tcp:127.0.0.1:$port"
    fv_start_nowait t.ini
    run fv_wait_exit
    kill "$holder"
    wait "$holder" || true
    grep -F "cannot listen on tcp:127.0.0.1:$port: Address already in use" "$(fv_log)"
    daemon_gone
    no_survivors
}

@test "listen = unix: a live socket at the path (the node's own control socket) is in use, never replaced" {
    # The worker would listen where the node's control socket is: removing it, as a stale
    # socket file is, locked the operator out of a running node.
    app_ini web:@W@/listen-echo "listen=unix:$BATS_TEST_TMPDIR/run/control.sock"
    fv_start_nowait t.ini
    run fv_wait_exit
    grep -F "cannot listen on unix:$BATS_TEST_TMPDIR/run/control.sock: Address already in use (a live socket is there)" "$(fv_log)"
    daemon_gone
    no_survivors
}

@test "check: listen's keys are checked with FILE:LINE" {
    conf t.ini <<'EOF'
[supervisor:app]
children = a, b, c, d
[worker:a]
exec = /bin/true
listen = tcp:localhost:80
[worker:b]
exec = /bin/true
listen = tcp:127.0.0.1:8080 unix:/run/x.sock
listen_name = one two three
listen_mode = 999
[worker:c]
exec = /bin/true
listen_accept = lazy
[worker:d]
exec = /bin/true
listen = tcp:127.0.0.1:8080 tcp:127.0.0.1:0
EOF
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    local f=$BATS_TEST_TMPDIR/t.ini
    [[ $output == *"$f:5: bad value 'tcp:localhost:80' for listen: expected tcp:ADDR:PORT"* ]]
    [[ $output == *"$f:10: bad value '999' for listen_mode"* ]]
    [[ $output == *"$f:9: listen_name gives 3 names for 2 listen addresses"* ]]
    [[ $output == *"$f:13: listen_accept without listen"* ]]
    [[ $output == *"$f:16: bad value 'tcp:127.0.0.1:0' for listen"* ]]
    [[ $output == *"$f:16: listen = tcp:127.0.0.1:8080 is already the address of [worker:b] ($f:6)"* ]]
}

@test "listen_accept = lazy: the worker starts at the first connection and answers it, and waits again after it exits" {
    local port; port=$(free_port)
    app_ini intensity=100 web:@W@/listen-echo "listen=tcp:127.0.0.1:$port" listen_accept=lazy \
        after:@W@/sleeper
    run -0 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    fv_start t.ini
    # Up for its supervisor (the next child started), but nothing of it runs.
    [ "$(state_of app/web)" = running ]
    [ "$(state_of app/after)" = running ]
    [ -z "$(pid_of app/web)" ]
    [ ! -e "$FV_TEST_OUT/web.started" ]
    [[ $(fv info app/web) == *"listen: tcp:127.0.0.1:$port (listening: started at the first connection)"* ]]
    waiting app/web
    [[ $(fv status --json) == *'"listen": {"addresses": ["tcp:127.0.0.1:'$port'"], "accept": "lazy", "waiting": true}'* ]]
    run -0 ask_tcp "$port"
    local pid; pid=$(pid_of app/web)
    [ -n "$pid" ]
    [ "$output" = "unknown $pid" ]
    [[ $(fv info --json app/web) == *'"waiting": false'* ]]
    # Once it has exited it waits again, and the next connection starts it again.
    kill -KILL "$pid"
    retry 200 0.05 waiting app/web
    run -0 ask_tcp "$port"
    [[ $output == "unknown "* ]]
    [ "${output#unknown }" != "$pid" ]
    fv_stop
    no_survivors
}

@test "listen_accept = lazy: a worker that waits stops at once, and starts again to wait" {
    local port; port=$(free_port)
    app_ini web:@W@/listen-echo "listen=tcp:127.0.0.1:$port" listen_accept=lazy
    fv_start t.ini
    run -0 fv stop app/web
    [ "$(state_of app/web)" = stopped ]
    run -0 fv start app/web
    [ "$(state_of app/web)" = running ]
    [ -z "$(pid_of app/web)" ]
    answered_by "$port" app/web
    fv_stop
    no_survivors
}

@test "listen across reloads: new addresses are opened and the old closed, a removed worker's closed, an added one's opened" {
    local p1 p2; p1=$(free_port); p2=$(free_port)
    [ "$p1" != "$p2" ] || p2=$(free_port)
    app_ini web:@W@/listen-echo "listen=tcp:127.0.0.1:$p1"
    fv_start t.ini
    run -0 ask_tcp "$p1"
    app_ini web:@W@/listen-echo "listen=tcp:127.0.0.1:$p2"
    run -0 fv reload
    answered_by "$p2" app/web
    run ! ask_tcp "$p1"
    app_ini other:@W@/sleeper
    run -0 fv reload
    run ! ask_tcp "$p2"
    app_ini other:@W@/sleeper web:@W@/listen-echo "listen=tcp:127.0.0.1:$p2" listen_accept=lazy
    run -0 fv reload
    retry 100 0.05 waiting app/web
    answered_by "$p2" app/web
    fv_stop
    no_survivors
}

@test "listen = udp: a datagram socket, answered with sendto" {
    local port; port=$(free_port)
    app_ini dns:@W@/listen-echo "listen=udp:127.0.0.1:$port" listen_name=dns
    fv_start t.ini
    retry 100 0.05 file_has "$FV_TEST_OUT/dns.fds"
    run -0 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
s.sendto(b"q", ("127.0.0.1", int(sys.argv[1])))
print(s.recv(100).decode().strip())' "$port"
    [ "$output" = "dns $(pid_of app/dns)" ]
    fv_stop
    no_survivors
}

@test "check: a template cannot listen, and lazy goes with neither ready = exit, ready = health nor pre_start" {
    conf t.ini <<'EOF'
[supervisor:app]
children = pool, once
[supervisor:pool]
strategy = simple_one_for_one
template = job
[worker:job]
exec = /bin/true
listen = tcp:127.0.0.1:8080
[worker:once]
exec = /bin/true
ready = exit
listen = unix:/run/x.sock
listen_accept = lazy
[worker:hl]
exec = /bin/true
ready = health
health = /bin/true
health_interval = 100
listen = unix:/run/y.sock
listen_accept = lazy
[worker:pre]
exec = /bin/true
pre_start = /bin/true
listen = unix:/run/z.sock
listen_accept = lazy
EOF
    sed -i 's/^children = pool, once$/children = pool, once, hl, pre/' "$BATS_TEST_TMPDIR/t.ini"
    run -2 "$FORKVISOR" check "$BATS_TEST_TMPDIR/t.ini"
    local f=$BATS_TEST_TMPDIR/t.ini
    [[ $output == *"$f:8: listen in [worker:job], the template of 'pool': its instances cannot all bind one address"* ]]
    [[ $output == *"$f:13: listen_accept = lazy does not apply to ready = exit"* ]]
    # A lazy worker counts as up while it waits; its pre_start would run then, not at its start.
    [[ $output == *"$f:20: listen_accept = lazy does not go with ready = health"* ]]
    [[ $output == *"$f:25: listen_accept = lazy does not go with pre_start yet"* ]]
}
