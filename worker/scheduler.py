"""Sends the messages the store asks for: due retries, unclaimed dispatches, expired leases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
import structlog

from store import keys
from store.backlog import Backlogs
from store.command_store import CommandStore
from store.dispatching import Publish

log = structlog.get_logger("ordercmd.scheduler")

BATCH = 1000  # command ids handed out per script call: one batch of the publisher (worker.app)
MAINTAIN_EVERY_S = 60.0  # dead-letter bounds and index trimming need not run often
FORGET_WORKER_MS = 24 * 3600 * 1000  # a worker not seen for a day leaves the list


class Scheduler:
    """A loop, one per worker process group; several of them at once are harmless.

    Each command handed out is pushed back by the store's guard time in the same script, so two
    schedulers never both send it; a message that is sent twice anyway is a no-op at the claim.
    """

    def __init__(
        self,
        store: CommandStore,
        publish: Publish,
        *,
        tick_s: float,
        maintain: Callable[[], object] | None = None,
        maintain_every_s: float = MAINTAIN_EVERY_S,
        name: str | None = None,
        backlogs: Backlogs | None = None,
        watch: Callable[[], object] | None = None,
        resend: Publish | None = None,
    ) -> None:
        self.store = store
        self.publish = publish
        self.resend = resend or publish  # re-sends, ahead of first deliveries (their own queue)
        self.tick_s = tick_s
        self.maintain = maintain
        self.maintain_every_s = maintain_every_s
        self.name = name  # the worker's node name, reported as seen on every tick
        # bulk backlogs released as their accounts' slots free up (without accounts: at once)
        self.backlogs = backlogs or Backlogs(store.client, {}, tick_s=tick_s)
        self.watch = watch  # runs on every tick first (the eviction watch)
        self._maintained_at = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Send every message due now.

        Returns:
            How many messages were sent.
        """
        if self.watch:
            self.watch()
        if self.name:
            now_ms = time.time() * 1000
            self.store.client.zadd(keys.workers_seen(), {self.name: now_ms})
            self.store.client.zremrangebyscore(
                keys.workers_seen(), "-inf", now_ms - FORGET_WORKER_MS
            )
        self.backlogs.release()
        sent: set[str] = set()
        # re-sends first (due waits and retries, dead leases), on their queue: a parked
        # command's slot is not spent behind first deliveries; then the dispatch set
        self._send_due(sent, resent=True)
        self._send_due(sent, resent=False)
        if self.maintain and time.monotonic() - self._maintained_at >= self.maintain_every_s:
            self._maintained_at = time.monotonic()
            self.maintain()
        return len(sent)

    def _send_due(self, sent: set[str], *, resent: bool) -> None:
        """Send what is due batch after batch in this one tick.

        More batches only while full ones of new ids keep coming.
        """
        publish = self.resend if resent else self.publish
        while True:
            due = self.store.due_messages(limit=BATCH, resent=resent)
            ids = [i for i in due if i not in sent]
            try:
                publish(ids)
            except Exception:
                # not sent (broker down): due at the next tick rather than after the guard
                self.store.due_again(ids)
                raise
            sent.update(ids)
            if len(ids) < BATCH:
                break

    def run(self) -> None:
        """Tick until ``stop``; a Redis outage or a failed tick is logged, never fatal."""
        while not self._stop.wait(self.tick_s):
            try:
                sent = self.run_once()
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                log.warning("scheduler tick failed", error=type(exc).__name__)
                continue
            except Exception:  # the loop must outlive any one bad tick
                log.exception("scheduler tick failed")
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
