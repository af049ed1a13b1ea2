"""Reads a web process shares between its tabs: each key read at most once per ``ttl_s``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from fastapi import Request

T = TypeVar("T")


class SharedReads(Generic[T]):
    """The last read of each key, reused for ``ttl_s``; the oldest keys go past ``max_keys``."""

    def __init__(
        self,
        read: Callable[[str], T],
        *,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.read = read
        self.ttl_s = ttl_s
        self.clock = clock
        self.max_keys = max_keys
        self.reads = 0  # Redis round trips so far (tests and benchmarks count them)
        self._known: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> T:
        """The value of ``key``, at most ``ttl_s`` old."""
        now = self.clock()
        with self._lock:
            known = self._known.get(key)
            if known and now - known[0] < self.ttl_s:
                return known[1]
        value = self.read(key)
        with self._lock:
            self.reads += 1
            self._known.pop(key, None)
            self._known[key] = (now, value)
            while len(self._known) > self.max_keys:  # the oldest read goes first
                self._known.pop(next(iter(self._known)))
        return value


_made_lock = threading.Lock()


def per_app(request: Request, name: str, make: Callable[[Any], Any]) -> Any:
    """The app's one ``name``, made on first use by ``make(app.state.ordercmd)``."""
    shared: Any = request.app.state
    with _made_lock:
        if not hasattr(shared, name):
            setattr(shared, name, make(shared.ordercmd))
    return getattr(shared, name)
