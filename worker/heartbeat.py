"""Keeps a claim's lease alive while its delivery works, and fences its provider requests.

A delivery holds its command only while its lease runs. The heartbeat renews the lease every
third of it from a small thread, so the lease can be short (a dead worker's commands come back
within about one lease) while a read, a provider call or a backoff inside a request goes on.
It is also the fence ``providers.http.call`` asks before each request: a request may start only
when the lease is known to outlast its whole deadline. Once a renewal fails (the lease was
taken over, or Redis did not answer) no further request starts for this delivery.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Self

import redis
import structlog

from store.claims import Claim
from store.command_store import CommandStore

log = structlog.get_logger("ordercmd.worker")

RENEWALS_PER_LEASE = 3  # renew every third of the lease: two renewals may fail before it runs out
# A request must end this long before the lease does (clock rates, Redis replies), or a tenth of
# a short lease: a call's deadline is at most half the lease (config.settings.LEASE_PER_CALL).
SAFETY_S = 0.5


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
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{claim.command_id}", daemon=True
        )

    @property
    def failed(self) -> bool:
        """Whether a renewal failed: the delivery must not start another request."""
        return self._failed

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
            if self._failed:
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
            return renewed

    def _run(self) -> None:
        while not self._stop.wait(self._lease_s / RENEWALS_PER_LEASE):
            if not self.renew():
                log.warning(
                    "lease lost; no further provider call", command_id=self._claim.command_id
                )
                return

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
