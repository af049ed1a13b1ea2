"""Wakes webhook delivery: sends a task for each subscription with events waiting for it.

One thread per worker main process blocks on the outcome stream (XREAD BLOCK, one entry: it
only needs to know the stream moved, never the events), so a new event reaches its task within
50 ms (0.2 s while events keep coming: a task takes what came meanwhile); with no subscription
at all it reads nothing from the stream (a worker without webhooks pays a ZCARD five times a
second, not a read per event). At least five times a second
it also looks for subscriptions whose backoff ended, that have replays queued, or whose last
task ended with events left (a task leaves those to the pump, which coalesces them, rather than
chaining a task per event), and once a second it drives the delivery-replay runs
(``runs.delivery_runs``) at their rates. A subscription gets one task message at a time (a
marker set NX, cleared by the task when it has saved), however many pumps run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
import structlog

from runs.delivery_runs import DeliveryRunDriver
from store import keys
from store.clock import redis_now_ms
from store.outcomes import Outcomes
from store.webhooks.subscriptions import Subscription, Subscriptions

log = structlog.get_logger("ordercmd.webhooks")

BLOCK_MS = 200  # the longest an event that came during a task's batch waits for the next task
COALESCE_S = 0.05  # after an event, wait this long for more: one task delivers them together
SEND_GAP_S = 0.2  # and, while events keep coming, this long after the last round that sent
QUEUED_TTL_MS = 60_000  # a lost task message is sent again after this
RUNS_EVERY_S = 1.0  # how often the delivery-replay runs are moved (their credit lasts 1 s)


class WebhookPump:
    """The loop that hands subscriptions with work to delivery tasks."""

    def __init__(
        self, client: redis.Redis, subscriptions: Subscriptions, send: Callable[[str], None]
    ) -> None:
        self.client = client
        self.subscriptions = subscriptions
        self.send = send
        self.outcomes = Outcomes(client)
        self.runs = DeliveryRunDriver(client)
        self._runs_due = 0.0  # monotonic time the delivery-replay runs are looked at next
        self._sent_at = 0.0  # monotonic time a round last sent tasks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, cursor: str, *, block_ms: int = BLOCK_MS) -> str:
        """Wait for an event after ``cursor`` (at most ``block_ms``), then send the tasks due.

        Returns:
            The new cursor: the stream's newest event id (``cursor`` when nobody subscribes).
        """
        if time.monotonic() >= self._runs_due:  # once a second, however busy the stream
            self._runs_due = time.monotonic() + RUNS_EVERY_S
            self.runs.run_once()
        if not self.subscriptions.any():
            self._stop.wait(block_ms / 1000)
            return cursor
        if self.outcomes.moved(cursor, block_ms=block_ms):
            # a busy stream gets a task per subscription every SEND_GAP_S, not every
            # COALESCE_S: each task costs the worker a broker message, events and a trace
            self._stop.wait(max(COALESCE_S, self._sent_at + SEND_GAP_S - time.monotonic()))
        newest = self.outcomes.last_id()
        for sub in self.with_work(self.subscriptions.all(), newest):
            if self.client.set(keys.webhook_queued(sub.id), 1, nx=True, px=QUEUED_TTL_MS):
                self.send(sub.id)
                self._sent_at = time.monotonic()
        return newest

    def with_work(self, subs: list[Subscription], newest: str) -> list[Subscription]:
        """The subscriptions with events up to ``newest`` or replays waiting, not held back."""
        if not subs:
            return []
        now_ms = redis_now_ms(self.client)
        pipe = self.client.pipeline(transaction=False)
        for sub in subs:
            pipe.hmget(keys.webhook_state(sub.id), ["cursor", "disabled", "lease_until", "next_ms"])
            pipe.llen(keys.webhook_redeliver(sub.id))
        replies = pipe.execute()
        ready = []
        for sub, (cursor, disabled, lease_until, next_ms), replays in zip(
            subs, replies[0::2], replies[1::2], strict=True
        ):
            waiting = cursor != newest or replays > 0
            blocked = disabled == "1" or int(lease_until or 0) > now_ms
            if waiting and not blocked and int(next_ms or 0) <= now_ms:
                ready.append(sub)
        return ready

    def run(self) -> None:
        """Loop until ``stop``; a failed round is logged, never fatal."""
        cursor = "$"
        while not self._stop.is_set():
            try:
                if cursor == "$":
                    cursor = self.outcomes.last_id()
                    # a subscription in the settings gets the events from when the first worker
                    # knowing it starts (the API's get theirs from when they are made)
                    for sub in self.subscriptions.configured:
                        self.client.hsetnx(keys.webhook_state(sub.id), "cursor", cursor)
                cursor = self.run_once(cursor)
            except redis.RedisError as exc:
                log.warning("webhook pump round failed", error=type(exc).__name__)
                self._stop.wait(1.0)
            except Exception:  # the loop must outlive any one bad round
                log.exception("webhook pump round failed")
                self._stop.wait(1.0)

    def start(self) -> None:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="ordercmd-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the loop and wait for it (at most one blocking read)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
