"""Sends the messages the store asks for: due retries, unclaimed dispatches, expired leases."""

from __future__ import annotations

import threading

import redis
import structlog

from worker.runtime import Publish
from worker.store import CommandStore

log = structlog.get_logger("ordercmd.scheduler")


class Scheduler:
    """A loop, one per worker process group; several of them at once are harmless.

    Each command handed out is pushed back by the store's guard time in the same script, so two
    schedulers never both send it; a message that is sent twice anyway is a no-op at the claim.
    """

    def __init__(self, store: CommandStore, publish: Publish, *, tick_s: float) -> None:
        self.store = store
        self.publish = publish
        self.tick_s = tick_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Send every message due now.

        Returns:
            How many messages were sent.
        """
        sent = 0
        while ids := self.store.due_messages():
            self.publish(ids)
            sent += len(ids)
        return sent

    def run(self) -> None:
        """Tick until ``stop``; a Redis outage is logged and waited out, never fatal."""
        while not self._stop.wait(self.tick_s):
            try:
                sent = self.run_once()
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                log.warning("scheduler tick failed", error=type(exc).__name__)
                continue
            if sent:
                log.debug("scheduler sent messages", count=sent)

    def start(self) -> None:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="ordercmd-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the loop and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
