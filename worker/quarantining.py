"""Where the worker's broker hooks send a refused message: the store's quarantine, and a log line.

`MessageScreen` is what the hooks are given (Celery's config carries it to the consumer, the
Redis transport's options to its channel): the task names that may execute, the size limit, and
the sink. A sink never raises: a message it cannot record is logged and still dropped, since
giving it back to the broker would only bring it round again.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import redis
import structlog

from config.settings import QuarantinePolicy, Settings
from redisconn.client import redis_client
from redisconn.urls import store_url
from schemas.quarantine import QuarantinedMessage
from store.clock import utcnow
from store.quarantine import Quarantine, QuarantineLimits
from worker.message_screen import Hostile

log = structlog.get_logger("ordercmd.broker")
LOG_RAW_BYTES = 200
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024

Sink = Callable[[QuarantinedMessage], None]


@dataclass(frozen=True)
class MessageScreen:
    """What the broker hooks accept, and where they send the rest."""

    tasks: frozenset[str]
    max_message_bytes: int
    sink: Sink

    def refuse(self, hostile: Hostile, raw: bytes, *, queue: str, worker: str = "") -> None:
        """Quarantine one refused message; never raises."""
        entry = QuarantinedMessage(
            reason=hostile.reason,
            detail=hostile.detail,
            queue=str(queue)[:200],
            received_at=utcnow(),
            size_bytes=len(raw),
            raw=raw,
            worker=worker or socket.gethostname(),
        )
        log.warning(
            "broker message quarantined",
            reason=str(hostile.reason),
            detail=hostile.detail,
            queue=entry.queue,
            size_bytes=entry.size_bytes,
        )
        try:
            self.sink(entry)
        except Exception as exc:  # the store is down or refuses: the message is dropped anyway
            log.error(
                "broker message dropped without quarantine",
                reason=str(hostile.reason),
                error=f"{type(exc).__name__}: {exc}",
                raw=entry.raw[:LOG_RAW_BYTES].decode("utf-8", "backslashreplace"),
            )


@dataclass
class StoreSink:
    """A sink writing to the quarantine of the store at ``url``; one client per process."""

    url: str
    limits: QuarantineLimits
    connect: Callable[[str], redis.Redis]
    _clients: dict[int, Quarantine] = field(default_factory=dict, repr=False)

    def __call__(self, entry: QuarantinedMessage) -> None:
        """Add ``entry`` to the quarantine (a client is made on first use after a fork)."""
        pid = os.getpid()
        if pid not in self._clients:
            self._clients.clear()
            self._clients[pid] = Quarantine(self.connect(self.url), self.limits)
        self._clients[pid].add(entry)


def _log_only(_: QuarantinedMessage) -> None:
    """The sink of a hook given no screen: `MessageScreen.refuse` has logged the message."""


LOG_ONLY = MessageScreen(frozenset(), DEFAULT_MAX_MESSAGE_BYTES, _log_only)


def quarantine_limits(policy: QuarantinePolicy) -> QuarantineLimits:
    """The store's bounds from the ``quarantine`` settings."""
    return QuarantineLimits(
        max_count=policy.max_count, max_age_s=policy.max_age_s, max_raw_bytes=policy.max_raw_bytes
    )


def message_screen(settings: Settings, tasks: Iterable[str]) -> MessageScreen:
    """The screen of a worker: ``tasks`` may execute; the rest goes to the store's quarantine."""
    sink = StoreSink(store_url(settings), quarantine_limits(settings.quarantine), redis_client)
    return MessageScreen(frozenset(tasks), settings.quarantine.max_message_bytes, sink)
