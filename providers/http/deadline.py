"""The total deadline of one provider request, and the fence a request must pass to be sent.

httpx's timeouts are per phase and per socket wait: a server that answers headers at once and
then one byte every 2 s never trips a 5 s read timeout. ``deadline`` sets one monotonic
deadline for the requests in its block, and the transport (``providers.http.transport``) cuts
every socket wait (connect, TLS, each write, each read) to what is left of it, so a request
ends by its deadline whatever the server does.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Protocol

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


def deadline_left() -> float | None:
    """Seconds left before the deadline in scope (negative once past; None: no deadline)."""
    at = _DEADLINE.get()
    return None if at is None else at - time.monotonic()
