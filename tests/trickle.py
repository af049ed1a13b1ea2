"""A hostile HTTP proxy for tests: answers status and headers at once, then trickles the body.

It sits in front of an upstream (the sandbox) or, with no upstream, answers a canned JSON body
itself. Chosen requests get their body (with ``head``, their status line and headers too) one
byte every ``interval_s``; the rest pass at once.
Every request's span (arrival to the last byte sent or the client hanging up) is recorded, so
a test can assert that no two requests for one order were ever open at the same time.
"""

from __future__ import annotations

import http.client
import select
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

CANNED = b'{"ok": true, "padding": "' + b"x" * 400 + b'"}'


@dataclass
class Span:
    """One request as the proxy saw it (monotonic seconds)."""

    method: str
    path: str
    body: bytes
    started: float
    ended: float | None = None
    trickled: bool = False
    hung_up: bool = False  # the client closed the connection before the whole body was sent


@dataclass
class Proxy:
    """What the handler threads share: the upstream, the choice of victims and the spans."""

    upstream: tuple[str, int] | None
    trickle: Callable[[str, str], bool]
    interval_s: float
    head: bool = False  # trickle the status line and headers too, not only the body
    spans: list[Span] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        head = self.rfile.readline(65536).decode("latin-1").split()
        if len(head) < 2:
            return
        method, path = head[0], head[1]
        headers = self._headers()
        body = self.rfile.read(int(headers.get("content-length", "0") or 0))
        span = Span(method, path, body[:4096], time.monotonic())
        with proxy.lock:
            span.trickled = proxy.trickle(method, path)
            proxy.spans.append(span)
        try:
            status, reply = _answer(proxy.upstream, method, path, headers, body)
            self._send(span, status, reply, proxy.interval_s)
        finally:
            span.ended = time.monotonic()

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        while (line := self.rfile.readline(65536).decode("latin-1")) not in ("\r\n", "\n", ""):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return headers

    def _send(self, span: Span, status: int, reply: bytes, interval_s: float) -> None:
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(reply)}\r\nConnection: close\r\n\r\n"
        )
        if not span.trickled:
            self.connection.sendall(head.encode() + reply)
            return
        if self.server.proxy.head:
            reply = head.encode() + reply
        else:
            self.connection.sendall(head.encode())
        for i in range(len(reply)):
            if _hung_up(self.connection, interval_s):
                span.hung_up = True
                return
            try:
                self.connection.sendall(reply[i : i + 1])
            except OSError:
                span.hung_up = True
                return


def _hung_up(sock: socket.socket, wait_s: float) -> bool:
    """Wait up to ``wait_s``; whether the client closed its end meanwhile."""
    readable, _, _ = select.select([sock], [], [], wait_s)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _answer(
    upstream: tuple[str, int] | None, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    if upstream is None:
        return 200, CANNED
    conn = http.client.HTTPConnection(*upstream, timeout=30)
    try:
        sent = {k: v for k, v in headers.items() if k not in ("connection", "content-length")}
        conn.request(method, path, body=body or None, headers=sent)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: Proxy


class TrickleProxy:
    """Run the proxy on a free loopback port; use as a context manager."""

    def __init__(
        self,
        upstream: tuple[str, int] | None = None,
        *,
        trickle: Callable[[str, str], bool] = lambda method, path: True,
        interval_s: float = 2.0,
        head: bool = False,
    ) -> None:
        self.proxy = Proxy(upstream, trickle, interval_s, head)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self.proxy
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def spans(self) -> list[Span]:
        """Every request so far, in arrival order."""
        with self.proxy.lock:
            return list(self.proxy.spans)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def about(order_id: str) -> Callable[[Span], str | None]:
    """A key for ``overlapping``: the order id when a span's path or body names it."""
    return lambda span: (
        order_id if order_id in span.path or order_id.encode() in span.body else None
    )


def overlapping(spans: list[Span], key: Callable[[Span], str | None]) -> list[tuple[Span, Span]]:
    """Pairs of spans with the same ``key`` (e.g. an order id) that were open at once."""
    pairs = []
    now = time.monotonic()
    for i, a in enumerate(spans):
        for b in spans[i + 1 :]:
            same = key(a) is not None and key(a) == key(b)
            if same and b.started < (a.ended or now) and a.started < (b.ended or now):
                pairs.append((a, b))
    return pairs
