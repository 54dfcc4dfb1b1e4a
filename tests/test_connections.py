"""Connection limits (assistant/http/connections.py) on a real uvicorn server on loopback,
with a tiny app: a request that never finishes is dropped, a complete one is answered,
the cap closes the oldest idle connection, and errors are summarised, not streamed."""
from __future__ import annotations

import logging
import os
import select
import socket
import subprocess
import sys
from contextlib import contextmanager

import pytest
from servers import PROJECT, free_port

from assistant.http.connections import ConnectionLimits, DropReport, guarded_protocol

PARTIAL = b"GET / HTTP/1.1\r\nHost: x\r\n"  # the headers never end


async def hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


@contextmanager
def guarded_server(limits: ConnectionLimits, report: DropReport):
    import threading

    import uvicorn
    from servers import eventually

    config = uvicorn.Config(hello, host="127.0.0.1", port=free_port(), log_level="warning",
                            http=guarded_protocol(limits, report), proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert eventually(lambda: server.started, timeout=30)
    try:
        yield config.port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def connect(port: int, data: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if data:
        sock.sendall(data)
    return sock


def closed_by_server(sock: socket.socket, failsafe: float = 20.0) -> bool:
    """True once the server closes `sock` (EOF or reset), False if it is still open after `failsafe` s."""
    while True:
        readable, _, _ = select.select([sock], [], [], failsafe)
        if not readable:
            return False
        try:
            if not sock.recv(65536):
                return True
        except ConnectionResetError:
            return True


def answered(sock: socket.socket) -> bytes:
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock.recv(65536)


def test_a_request_that_never_finishes_its_headers_is_dropped_and_counted():
    report = DropReport()
    with guarded_server(ConnectionLimits(100, request_seconds=0.5), report) as port:
        slow, silent = connect(port, PARTIAL), connect(port)
        assert closed_by_server(slow) and closed_by_server(silent)
        assert answered(connect(port)).startswith(b"HTTP/1.1 200")
    assert report.total["slow"] == 1  # the silent one is a preconnect: closed, but not reported


def test_a_keep_alive_connection_gets_a_fresh_deadline_for_each_request():
    with guarded_server(ConnectionLimits(100, request_seconds=0.5), DropReport()) as port:
        sock = connect(port)
        assert answered(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(PARTIAL)  # a second request, never finished
        assert closed_by_server(sock)


def test_over_the_cap_the_oldest_idle_connection_makes_room():
    report = DropReport()
    with guarded_server(ConnectionLimits(3, request_seconds=60), report) as port:
        idle = [connect(port, PARTIAL) for _ in range(3)]
        assert answered(connect(port)).startswith(b"HTTP/1.1 200")  # a fourth reader still gets in
        assert closed_by_server(idle[0])  # the oldest waiting one went, long before its deadline
        assert report.total["over_cap"] == 1


def test_drops_are_logged_as_one_summary_line_a_minute(caplog):
    now = [1000.0]
    report = DropReport(clock=lambda: now[0], logger=logging.getLogger("test.drops"))
    with caplog.at_level(logging.WARNING, logger="test.drops"):
        for _ in range(300):
            report.count("slow")
        report.count("over_cap")
        now[0] += 61
        report.count("slow")
    assert [r.getMessage() for r in caplog.records] == [
        "1 connection dropped in the last minute: 1 sent no complete request in time",
        "301 connections dropped in the last minute: 300 sent no complete request in time, "
        "1 closed to stay under the connection cap"]


def test_the_cap_leaves_room_for_the_servers_own_files():
    assert ConnectionLimits.within(1024, 1000, 10).max_connections == 1024 - 128 - 4 * 64
    assert ConnectionLimits.within(65536, 1000, 10).max_connections == 1000


def test_start_up_raises_the_soft_open_files_limit_to_the_hard_one():
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.skip(f"the hard open-files limit is only {hard}")
    code = ("import resource; from assistant.http.connections import raise_open_files_limit; "
            "print(raise_open_files_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=os.environ | {"PYTHONPATH": str(PROJECT)},
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)))
    reported, in_force = map(int, done.stdout.split())
    assert reported == in_force > 256
