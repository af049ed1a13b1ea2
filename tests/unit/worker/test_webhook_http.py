"""The delivery HTTP client on loopback: each phase ends by the call's one total deadline.

A receiver trickling any phase (connect, TLS handshake, reading the request, the reply's head)
fails the call at its deadline; heads past their bounds are refused; connections are kept only
when the reply says they can be, and a kept one the receiver closed is replaced, not failed.
(Trickled status lines, headers and bodies through a whole delivery:
``test_webhook_deadline.py``.)
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.webhook_receiver import Receiver
from worker.webhook_http import DeliveryClient
from worker.webhook_wire import (
    ConnectError,
    ConnectTimeout,
    RemoteProtocolError,
    WriteTimeout,
)
from worker.webhooks import delivery_client

DEADLINE_S = 1.0
SLACK_S = 0.75  # scheduling slack on a loaded machine; the overshoot measured is milliseconds
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


class Scripted:
    """A loopback TCP server running ``script(connection, number)`` for each connection."""

    def __init__(self, script: Callable[[socket.socket, int], None], *, backlog: int = 16) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=backlog)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()

    def __enter__(self) -> Scripted:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.listener.close()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            number = self.connections
            threading.Thread(target=self._run, args=(conn, number), daemon=True).start()

    def _run(self, conn: socket.socket, number: int) -> None:
        with conn, contextlib.suppress(OSError):
            self.script(conn, number)


def requests(conn: socket.socket) -> Iterator[bytes]:
    """Each request head on the connection (bodies are small, in the same read)."""
    while chunk := conn.recv(65536):
        yield chunk


def trickle(conn: socket.socket, data: bytes, stop: threading.Event) -> None:
    for i in range(len(data)):
        if stop.wait(0.2):
            return
        conn.sendall(data[i : i + 1])


def timed(call: Callable[[], object], error: type[Exception]) -> float:
    started = time.monotonic()
    with pytest.raises(error):
        call()
    return time.monotonic() - started


def test_a_connect_the_receiver_never_accepts_ends_at_the_deadline():
    # a listener that accepts nothing, its queue full with one connection: later SYNs are dropped
    with socket.create_server(("127.0.0.1", 0), backlog=0) as listener, delivery_client() as http:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            url = f"http://127.0.0.1:{port}/"
            took = timed(lambda: http.post(url, b"{}", {}, DEADLINE_S), ConnectTimeout)
    assert DEADLINE_S - 0.05 < took < DEADLINE_S + SLACK_S


def test_a_trickled_tls_handshake_ends_at_the_deadline():
    def script(conn: socket.socket, n: int) -> None:
        conn.recv(65536)  # the ClientHello
        conn.sendall(b"\x16\x03\x03\x40\x00")  # a 16 KiB handshake record is coming...
        trickle(conn, b"\x00" * 100, server.stop)  # ...a byte every 0.2 s

    with Scripted(script) as server, delivery_client() as http:
        url = f"https://127.0.0.1:{server.port}/"
        took = timed(lambda: http.post(url, b"{}", {}, DEADLINE_S), ConnectTimeout)
    assert took < DEADLINE_S + SLACK_S


def test_a_receiver_reading_the_request_slowly_ends_the_send_at_the_deadline():
    def script(conn: socket.socket, n: int) -> None:
        while not server.stop.wait(0.1) and conn.recv(1024):
            pass  # 10 KiB/s: every send makes progress, the request never ends

    body = b"x" * (64 << 20)  # past what the socket buffers on both sides take
    with Scripted(script) as server, delivery_client() as http:
        url = f"http://127.0.0.1:{server.port}/"
        took = timed(lambda: http.post(url, body, {}, DEADLINE_S), WriteTimeout)
    assert took < DEADLINE_S + SLACK_S


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * 70_000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"x-many: 1\r\n" * 101 + b"\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 20",  # then closed
    ],
    ids=["head-too-big", "too-many-headers", "not-http", "bad-header", "closed-mid-head"],
)
def test_a_reply_head_past_its_bounds_or_not_http_fails_the_call(reply):
    def script(conn: socket.socket, n: int) -> None:
        conn.recv(65536)
        conn.sendall(reply)

    with Scripted(script) as server, delivery_client() as http, pytest.raises(RemoteProtocolError):
        http.post(f"http://127.0.0.1:{server.port}/", b"{}", {}, DEADLINE_S)


def test_a_refused_connection_fails_at_once():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    with delivery_client() as http:
        took = timed(lambda: http.post(f"http://127.0.0.1:{port}/", b"{}", {}, 5.0), ConnectError)
    assert took < 1.0


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        (OK, True),
        (b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok", True),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + OK, True),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 70000\r\n\r\n" + b"x" * 70_000, False),
    ],
    ids=["empty", "short-body", "after-100", "close", "http-1.0", "chunked", "long-body"],
)
def test_a_connection_is_kept_only_when_the_reply_allows(reply, kept):
    def script(conn: socket.socket, n: int) -> None:
        for _ in requests(conn):
            conn.sendall(reply)

    with Scripted(script) as server, delivery_client() as http:
        url = f"http://127.0.0.1:{server.port}/hooks"
        statuses = [http.post(url, b"{}", {}, DEADLINE_S) for _ in range(3)]
    assert statuses[0] in (200, 202)
    assert len(set(statuses)) == 1
    assert server.connections == (1 if kept else 3)


def test_a_kept_connection_the_receiver_closed_is_replaced_not_failed():
    seen: list[tuple[int, bytes]] = []

    def script(conn: socket.socket, n: int) -> None:
        for request in requests(conn):
            seen.append((n, request))
            if len(seen) == 2:
                return  # closes the kept connection on the second request, unanswered
            conn.sendall(OK)

    with Scripted(script) as server, delivery_client() as http:
        url = f"http://127.0.0.1:{server.port}/hooks"
        assert [http.post(url, b"{}", {"webhook-id": "msg_1"}, DEADLINE_S) for _ in range(2)] == [
            200,
            200,
        ]
    assert [n for n, _ in seen] == [1, 1, 2]  # sent again at once, on a new connection
    assert all(b"webhook-id: msg_1\r\n" in request for _, request in seen)


def test_a_fresh_connection_closed_without_a_reply_fails_the_call():
    def script(conn: socket.socket, n: int) -> None:
        conn.recv(65536)  # then closed, unanswered

    server = Scripted(script)
    with server, delivery_client() as http, pytest.raises(RemoteProtocolError):
        http.post(f"http://127.0.0.1:{server.port}/", b"{}", {}, DEADLINE_S)
    assert server.connections == 1  # not sent again


def test_the_request_carries_the_fixed_and_given_headers_and_the_body():
    receiver = Receiver().start()
    try:
        with delivery_client() as http:
            status = http.post(receiver.url + "?a=1 2", b'{"x":1}', {"webhook-id": "msg_7"}, 2.0)
        [got] = receiver.requests
    finally:
        receiver.stop()
    assert status == 200
    assert got.path == "/hooks?a=1%202"
    assert got.body == b'{"x":1}'
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == "msg_7"
    assert got.headers["host"] == receiver.url.split("/")[2]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_delivers_and_keeps_its_connection(tmp_path: Path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
               "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
               "-keyout", str(key), "-out", str(cert)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)

    def script(conn: socket.socket, n: int) -> None:
        with served.wrap_socket(conn, server_side=True) as tls:
            for _ in requests(tls):
                tls.sendall(OK)

    trusted = ssl.create_default_context(cafile=str(cert))
    with Scripted(script) as server, DeliveryClient({}, trusted) as http:
        url = f"https://localhost:{server.port}/hooks"
        assert [http.post(url, b"{}", {}, 5.0) for _ in range(3)] == [200, 200, 200]
        assert server.connections == 1
    server = Scripted(script)
    with server, delivery_client() as http, pytest.raises(ConnectError):  # an unknown CA
        http.post(f"https://localhost:{server.port}/hooks", b"{}", {}, 5.0)
