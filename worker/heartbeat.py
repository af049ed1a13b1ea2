"""Keeps a claim's lease alive while its delivery works, and fences its provider requests.

A delivery holds its command only while its lease runs. The heartbeat renews the lease every
third of it, so the lease can be short (a dead worker's commands come back within about one
lease) while a read, a provider call or a backoff inside a request goes on. One thread per
process renews every delivery's lease when due (no thread is started per delivery).
It is also the fence ``providers.http.call`` asks before each request: a request may start only
when the lease is known to outlast its whole deadline. Once a renewal fails (the lease was
taken over, or Redis did not answer) no further request starts for this delivery.
"""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType
from typing import ClassVar, Self

import redis
import structlog

from store.claims import Claim
from store.command_store import CommandStore

log = structlog.get_logger("ordercmd.worker")

RENEWALS_PER_LEASE = 3  # renew every third of the lease: two renewals may fail before it runs out
# A request must end this long before the lease does (clock rates, Redis replies), or a tenth of
# a short lease: a call's deadline is at most half the lease (config.settings.LEASE_PER_CALL).
SAFETY_S = 0.5
IDLE_WAIT_S = 60.0  # the longest the renewing thread sleeps between looks


class Heartbeat:
    """A context manager renewing ``claim``'s lease, and the fence of the requests inside it."""

    def __init__(self, store: CommandStore, claim: Claim, *, lease_s: float) -> None:
        self._store = store
        self._claim = claim
        self._lease_s = lease_s
        self._safety_s = min(SAFETY_S, lease_s / 10)
        # the lease set by the claim runs at least lease_s from the moment it was sent
        self._expires = claim.sent_monotonic + lease_s
        self._failed = False
        self._closed = False  # the delivery is over: no renewal may start any more
        self._lock = threading.Lock()

    @property
    def failed(self) -> bool:
        """Whether a renewal failed: the delivery must not start another request."""
        return self._failed

    @property
    def due_at(self) -> float:
        """When (monotonic) the lease should be renewed next: a third of it after the last."""
        return self._expires - self._lease_s * (1 - 1 / RENEWALS_PER_LEASE)

    def left_s(self) -> float:
        """How long the lease surely holds from now (negative once it may have run out)."""
        return self._expires - time.monotonic()

    def allows(self, budget_s: float) -> bool:
        """Whether a request of ``budget_s`` may start: the lease surely outlasts it.

        A lease too close to its end for the request is renewed now, once, rather than wait for
        the next beat.
        """
        needed_s = budget_s + self._safety_s
        if not self._failed and self.left_s() < needed_s:
            self.renew()
        return not self._failed and self.left_s() >= needed_s

    def renew(self) -> bool:
        """Renew the lease for a full period now; False (and failed for good) when it cannot."""
        with self._lock:
            if self._failed or self._closed:
                return False
            sent = time.monotonic()
            try:
                renewed = self._store.extend_lease(self._claim)
            except redis.RedisError as exc:
                log.warning("lease not renewed", command_id=self._claim.command_id, why=repr(exc))
                renewed = False
            if renewed:
                self._expires = sent + self._lease_s
            else:
                self._failed = True
                command_id = self._claim.command_id
                log.warning("lease lost; no further provider call", command_id=command_id)
            return renewed

    def __enter__(self) -> Self:
        Beater.of_process().add(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        Beater.of_process().discard(self)
        with self._lock:  # waits for a renewal on its way: none lands after the outcome
            self._closed = True


class Beater:
    """The one thread of a process that renews each active heartbeat when it is due."""

    _instances: ClassVar[dict[int, Beater]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._active: set[Heartbeat] = set()
        self._changed = threading.Condition()
        self._wakes_at = float("inf")  # when the thread looks again unless woken
        self._thread = threading.Thread(target=self._run, name="ordercmd-heartbeat", daemon=True)
        self._thread.start()

    @classmethod
    def of_process(cls) -> Beater:
        """This process's beater, started on first use (after a fork, started anew)."""
        pid = os.getpid()
        with cls._instances_lock:
            if pid not in cls._instances:
                cls._instances.clear()
                cls._instances[pid] = Beater()
            return cls._instances[pid]

    def add(self, heartbeat: Heartbeat) -> None:
        """Renew ``heartbeat``'s lease when due, until it is discarded or fails."""
        with self._changed:
            self._active.add(heartbeat)
            if heartbeat.due_at < self._wakes_at:  # mostly not: a new lease is due last
                self._changed.notify()

    def discard(self, heartbeat: Heartbeat) -> None:
        """Stop renewing ``heartbeat``'s lease."""
        with self._changed:
            self._active.discard(heartbeat)

    def _due(self) -> list[Heartbeat]:
        """Wait until a heartbeat is due; those due now."""
        with self._changed:
            while True:
                now = time.monotonic()
                due = [h for h in self._active if h.due_at <= now]
                if due:
                    return due
                self._wakes_at = min((h.due_at for h in self._active), default=float("inf"))
                self._changed.wait(min(self._wakes_at - now, IDLE_WAIT_S))

    def _run(self) -> None:
        while True:
            for heartbeat in self._due():
                if not heartbeat.renew():  # renewed outside the lock: a Redis round trip each
                    self.discard(heartbeat)
