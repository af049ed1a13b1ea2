"""The HTTP/1.1 client webhook deliveries post with: kept connections, one total deadline a call.

httpx spent ~0.5 ms of the worker's GIL on one small POST; this makes it a few socket calls.
Every socket wait (connect, TLS handshake, each send and recv: ``worker.webhook_wire``) is cut to
what is left of the call's monotonic deadline, so a receiver trickling its reply cannot hold a
call past it. No redirect is followed. DNS resolution is the one wait a socket timeout cannot
cut (as with ``DeadlineTransport``).
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from providers.http.kept import KeptConnections, Origin
from worker.webhook_wire import (
    ConnectError,
    ConnectTimeout,
    DeliveryError,
    Stale,
    remaining,
    reply,
    send,
)

KEEP_IDLE_S = 4.0  # under the 5 s idle timeout many servers (Node, uvicorn) close after
MAX_IDLE = 20  # kept connections, every origin together
_SAFE = "!$&'()*+,/:;=?@[]~%"  # left as they are in a URL's path and query


def _connect(origin: Origin, ends: float, context: ssl.SSLContext) -> socket.socket:
    """A new connection to ``origin`` (TLS for https), made no later than ``ends``."""
    scheme, host, port = origin
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectError(type(exc).__name__) from None
    error: DeliveryError = ConnectError("no address")
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(remaining(ends, ConnectTimeout))
            sock.connect(address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":  # CPython bounds the whole handshake by the socket's timeout
                sock.settimeout(remaining(ends, ConnectTimeout))
                sock = context.wrap_socket(sock, server_hostname=host)
            return sock
        except TimeoutError:
            sock.close()
            raise ConnectTimeout("the call's total deadline has passed") from None
        except (OSError, DeliveryError) as exc:
            sock.close()
            error = exc if isinstance(exc, DeliveryError) else ConnectError(type(exc).__name__)
            if isinstance(exc, ConnectTimeout | ssl.SSLError):
                break
    raise error


class DeliveryClient:
    """POSTs with fixed headers, keeping connections per origin; safe to share between threads."""

    def __init__(self, headers: Mapping[str, str], context: ssl.SSLContext) -> None:
        self._fixed = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self._context = context
        self._kept = KeptConnections(idle_s=KEEP_IDLE_S, max_idle=MAX_IDLE)
        self._heads: dict[str, tuple[Origin, bytes]] = {}

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> int:
        """The reply's status; ends by ``timeout_s`` whatever the receiver does.

        Raises:
            DeliveryError: no status by then, or none at all.
        """
        ends = time.monotonic() + timeout_s
        origin, head = self._head(url)
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = b"%s%scontent-length: %d\r\n\r\n%s" % (head, lines.encode(), len(body), body)
        sock = self._kept.checkout(origin)
        if sock is not None:
            try:
                return self._exchange(origin, sock, request, ends, reused=True)
            except Stale:
                pass  # closed while it was kept: once more, on a new connection
        sock = _connect(origin, ends, self._context)
        return self._exchange(origin, sock, request, ends, reused=False)

    def _exchange(
        self, origin: Origin, sock: socket.socket, request: bytes, ends: float, *, reused: bool
    ) -> int:
        try:
            send(sock, request, ends, reused)
            status, keep = reply(sock, ends, reused)
        except BaseException:
            sock.close()
            raise
        if keep:
            self._kept.checkin(origin, sock)
        else:
            sock.close()
        return status

    def _head(self, url: str) -> tuple[Origin, bytes]:
        """The origin and the request line with the fixed headers, for ``url`` (cached)."""
        if url not in self._heads:
            if len(self._heads) > 1000:
                self._heads.clear()
            parts = urlsplit(url)
            try:
                host = (parts.hostname or "").encode("idna").decode("ascii")
                port = parts.port or (443 if parts.scheme == "https" else 80)
            except (UnicodeError, ValueError):
                raise ConnectError("the URL's host or port is not valid") from None
            if parts.scheme not in ("http", "https") or not host:
                raise ConnectError("not an http(s) URL with a host")
            named = f"[{host}]" if ":" in host else host
            default = port == (443 if parts.scheme == "https" else 80)
            target = quote(parts.path or "/", safe=_SAFE)
            target += "?" + quote(parts.query, safe=_SAFE) if parts.query else ""
            line = f"POST {target} HTTP/1.1\r\nhost: {named}{'' if default else f':{port}'}\r\n"
            self._heads[url] = ((parts.scheme, host, port), (line + self._fixed).encode())
        return self._heads[url]

    def close(self) -> None:
        """Close every kept connection (the client stays usable)."""
        self._kept.close()

    def __enter__(self) -> DeliveryClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
