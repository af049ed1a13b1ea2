"""Delivers outcome events to one webhook subscription: a leased batch, in order, at least once.

A task leases the subscription, sends its replayed deliveries and then the stream's events after
its cursor, one call at a time, and saves how far it got. Each call first passes its endpoint's
gate (``store.webhooks.endpoints``: a breaker and a GCRA rate limit shared by every worker and
every subscription sending there); a gate that says wait past the batch's budget ends the batch,
spending no attempt. A failed call stops the batch: the same event is tried again after a
backoff with jitter (the cool-down while the endpoint's breaker is open), with the same
``webhook-id``; past the attempt budget it is dead-lettered and the next event goes. A
subscription failing longer than ``disable_after_s`` is disabled. The batch hands over after
``batch_budget_s`` so no task holds a worker for long.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import redis

from config.webhooks import WebhookPolicy
from store.clock import utcnow
from store.outcomes import Outcome, Outcomes
from store.webhooks.deliveries import (
    REDELIVER_READ,
    BatchCounts,
    DeadDelivery,
    Deliveries,
    Lease,
)
from store.webhooks.endpoints import Endpoints
from store.webhooks.gaps import Gaps
from store.webhooks.signing import payload, sign
from store.webhooks.subscriptions import Subscription
from worker.backoff import retry_delay_s
from worker.webhook_http import DeliveryClient
from worker.webhook_wire import DeliveryError

USER_AGENT = "ordercmd-webhooks/0.1"


def delivery_client() -> DeliveryClient:
    """The HTTP client deliveries use: total deadlines, kept connections, no redirects followed.

    Its TLS context is httpx's (the same CA bundle provider calls trust).
    """
    headers = {"accept": "*/*", "content-type": "application/json", "user-agent": USER_AGENT}
    return DeliveryClient(headers, httpx.create_ssl_context())


def post(client: DeliveryClient, sub: Subscription, outcome: Outcome, timeout_s: float) -> str:
    """Send one event, signed; '' when the receiver took it (2xx), else why not.

    The call ends by ``timeout_s`` whatever the receiver does: every socket wait is cut to one
    total deadline, so a receiver trickling its status line or headers cannot hold the delivery
    past it (a short reply body is read so the connection is kept, any other is left).
    """
    body = payload(outcome.as_dict())
    headers = sign(outcome.event_id, body, sub.signing_secrets, at=utcnow())
    started = time.monotonic()
    try:
        status = client.post(sub.url, body, headers, timeout_s)
    except DeliveryError as exc:
        return f"{type(exc).__name__} after {time.monotonic() - started:.1f} s"
    return "" if 200 <= status < 300 else f"HTTP {status}"


@dataclass
class Progress:
    """What one batch did, saved at its end."""

    lease: Lease
    policy: WebhookPolicy
    now_ms: int
    cursor: str = ""
    redelivered: int = 0
    delivered: int = 0
    dead: list[DeadDelivery] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    stopped: bool = False  # a call failed
    held: bool = False  # the endpoint's gate said wait (no call made)

    def __post_init__(self) -> None:
        self.cursor = self.lease.cursor
        self.head_attempts = self.lease.head_attempts
        self.failures = self.lease.failures

    def passed(self, outcome: Outcome, redelivery: bool) -> None:
        """The item is done with (delivered, skipped or dead): the next one is the head."""
        if redelivery:
            self.redelivered += 1
        else:
            self.cursor = outcome.event_id
        self.head_attempts = 0

    def ok(self, outcome: Outcome, redelivery: bool) -> None:
        """Delivered."""
        self.passed(outcome, redelivery)
        self.delivered += 1
        self.failures = 0
        self.fields |= {"failing_since_ms": "", "last_ok_ms": str(self.now_ms), "last_error": ""}

    def failed(
        self, outcome: Outcome, redelivery: bool, error: str, rng: random.Random, *, open_: bool
    ) -> None:
        """Not delivered: back off (dead-letter it past the budget); the batch stops.

        ``open_``: the endpoint's breaker is open now (the backoff is at least its cool-down).
        """
        policy = self.policy
        self.head_attempts += 1
        self.failures += 1
        attempts = self.head_attempts
        if attempts >= policy.max_attempts:
            sub_id = self.lease.subscription_id
            self.dead.append(DeadDelivery(sub_id, outcome, attempts, error, self.now_ms))
            self.passed(outcome, redelivery)
        delay_s = retry_delay_s(attempts, base_s=policy.base_s, cap_s=policy.cap_s, rng=rng)
        if open_:
            delay_s = max(delay_s, policy.cool_down_s)
        since = self.lease.failing_since_ms or self.now_ms
        self.fields |= {"failing_since_ms": str(since), "last_error": error,
                        "next_ms": str(self.now_ms + round(delay_s * 1000))}  # fmt: skip
        if self.now_ms - since >= policy.disable_after_s * 1000:
            self.fields |= {"disabled": "1", "disabled_why": f"failing since {since}: {error}"}
        self.stopped = True

    def hold(self, wait_ms: int, why: str) -> None:
        """The endpoint's gate said wait: come back then; nothing was spent."""
        self.fields |= {"next_ms": str(self.now_ms + wait_ms), "held": why}
        self.held = True

    def counts(self) -> BatchCounts:
        """The batch's deliveries, for the state and ``/metrics``."""
        failed = 1 if self.stopped else 0  # a batch stops at its first failed call
        return BatchCounts(self.redelivered, self.delivered, failed, self.dead)

    def saved_fields(self) -> dict[str, str]:
        """The state to save."""
        fields = {"cursor": self.cursor, "head_attempts": str(self.head_attempts),
                  "failures": str(self.failures)}  # fmt: skip
        cleared = {} if self.stopped or self.held else {"next_ms": "", "held": ""}
        return fields | cleared | self.fields


@dataclass
class Sender:
    """What deliveries need in one worker process."""

    client: redis.Redis
    http: DeliveryClient
    policy: WebhookPolicy
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.endpoints = Endpoints(self.client, self.policy)

    def deliver(self, sub: Subscription, *, release: Callable[[], None] = lambda: None) -> str:
        """One leased batch for ``sub``; ``release`` is called once it saved (or could not lease).

        The task's marker stays set until ``release``: the pump sends no second task for the
        events that come while this batch runs; this task looks for them after releasing.

        Returns:
            ``more`` when events were left (the budget ended it, or it read a full batch),
            ``done`` (events that came meanwhile are the pump's to send), ``backoff`` (a call
            failed or the gate held: the pump sends a task when it is due), or why nothing was done:
            ``disabled``, ``busy``, ``not_due``, ``lost`` (the lease ran out first).
        """
        policy = self.policy
        deliveries = Deliveries(self.client)
        lease_ms = round((policy.batch_budget_s + 2 * policy.timeout_s) * 1000)
        lease = deliveries.lease(sub.id, uuid.uuid4().hex, lease_ms=lease_ms)
        if isinstance(lease, str):
            release()
            return lease
        progress = Progress(lease, policy, lease.now_ms)
        replays = deliveries.redeliveries(sub.id)
        outcomes = Outcomes(self.client)
        events, trimmed = outcomes.read_past(lease.cursor, count=policy.batch)
        if trimmed:
            # the bound trimmed events this subscription had not read (it lagged more than
            # outcomes_max_len events): the lost range is kept as a gap, to fill from records
            Gaps(self.client).record(sub.id, lease.cursor, events[0].event_id)
        items = [(o, True) for o in replays] + [(o, False) for o in events]
        done = self._send(sub, items, progress)
        saved = deliveries.save(lease, progress.saved_fields(), progress.counts())
        release()
        if not saved:
            return "lost"
        if progress.stopped or progress.held:
            return "backoff"
        # events that came while this batch ran are the pump's: it sends the next task for
        # them within a round, with what else comes meanwhile (a task per event costs more)
        full = len(replays) >= REDELIVER_READ or len(events) >= policy.batch  # more were there
        return "more" if done < len(items) or full else "done"

    def _send(
        self, sub: Subscription, items: list[tuple[Outcome, bool]], progress: Progress
    ) -> int:
        """Send items in order until one fails, the gate holds or the budget is spent.

        The endpoint's gate is asked once for the slots of the calls left (not once a call):
        a slot taken and not used is spent, never more than the rate.

        Returns:
            How many items were done with.
        """
        deadline = time.monotonic() + self.policy.batch_budget_s
        wanted = [o for o, replay in items if replay or sub.matches(o)]
        slots, clean = 0, True
        for done, (outcome, redelivery) in enumerate(items):
            if time.monotonic() > deadline:
                return done
            if not redelivery and not sub.matches(outcome):
                progress.passed(outcome, redelivery)
                continue
            if not slots:
                gate = self.endpoints.gate(sub.url, len(wanted))
                while gate.why == "rate" and time.monotonic() + gate.wait_ms / 1000 < deadline:
                    self.sleep(gate.wait_ms / 1000)
                    gate = self.endpoints.gate(sub.url, len(wanted))
                if not gate.calls:
                    progress.hold(gate.wait_ms, gate.why)
                    return done
                slots, clean = gate.calls, gate.clean
            slots -= 1
            wanted.pop(0)
            error = post(self.http, sub, outcome, self.policy.timeout_s)
            if error:
                state = self.endpoints.record(sub.url, ok=False)
                progress.failed(outcome, redelivery, error, self.rng, open_=state == "open")
                return done + 1
            if not clean:
                clean = self.endpoints.record(sub.url, ok=True) == "closed"
            progress.ok(outcome, redelivery)
        return len(items)
