"""The total deadline of one provider request, and the fence a request must pass to be sent.

httpx's timeouts are per phase and per socket wait: a server that answers headers at once and
then one byte every 2 s never trips a 5 s read timeout. Here every socket wait (connect, TLS,
each write, each read) is cut to what is left of one monotonic deadline, so a request ends by
its deadline whatever the server does. DNS resolution is the one wait a socket timeout cannot
cut (``getaddrinfo`` blocks); provider hosts resolve before any deadline matters in practice.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Protocol

import httpcore
import httpx

# The monotonic instant by which the request in flight on this thread must end (None: no bound).
_DEADLINE: ContextVar[float | None] = ContextVar("ordercmd_http_deadline", default=None)
_FENCE: ContextVar[Fence | None] = ContextVar("ordercmd_http_fence", default=None)


class Fence(Protocol):
    """Whoever holds the right to call the provider (a claim's lease) for the requests in scope."""

    def allows(self, budget_s: float) -> bool:
        """Whether a request that may last ``budget_s`` can start now and end inside the right."""
        ...


@contextlib.contextmanager
def fenced(fence: Fence) -> Iterator[None]:
    """Every ``call`` in this block (on this thread) asks ``fence`` before it sends."""
    token = _FENCE.set(fence)
    try:
        yield
    finally:
        _FENCE.reset(token)


def fence_allows(budget_s: float) -> bool:
    """Whether the fence in scope lets a request of ``budget_s`` start (no fence: yes)."""
    fence = _FENCE.get()
    return fence is None or fence.allows(budget_s)


@contextlib.contextmanager
def deadline(budget_s: float) -> Iterator[float]:
    """Bound every socket wait in this block to end ``budget_s`` from now; yields the deadline."""
    at = time.monotonic() + budget_s
    token = _DEADLINE.set(at)
    try:
        yield at
    finally:
        _DEADLINE.reset(token)


def _cut(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` cut to what is left of the deadline; ``error`` once nothing is left."""
    at = _DEADLINE.get()
    if at is None:
        return timeout
    left_s = at - time.monotonic()
    if left_s <= 0:
        raise error("the request's total deadline has passed")
    return left_s if timeout is None else min(timeout, left_s)


class DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every wait ends by the deadline of the request using it."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read, waiting no later than the deadline."""
        return self._stream.read(max_bytes, _cut(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write, waiting no later than the deadline."""
        self._stream.write(buffer, _cut(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        """Close the socket."""
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        """Upgrade to TLS, handshaking no later than the deadline."""
        cut = _cut(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, cut))

    def get_extra_info(self, info: str) -> object:
        """What the socket stream underneath says."""
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every wait cut to the deadline in scope."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect, no later than the deadline."""
        cut = _cut(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, cut, local_address, socket_options)
        return DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to a unix socket, no later than the deadline."""
        cut = _cut(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._backend.connect_unix_socket(path, cut, socket_options))

    def sleep(self, seconds: float) -> None:
        """Sleep (httpcore's connect retries)."""
        self._backend.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport over ``DeadlineBackend``: requests end by their deadline."""

    def __init__(self) -> None:
        super().__init__()
        # httpx builds its pool without a way to pass a backend: rebuild it with ours, with
        # httpx's defaults (tests/unit/test_provider_deadline.py fails if this stops working).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=DeadlineBackend(),
        )
