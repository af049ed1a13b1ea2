"""A receiver trickling its reply cannot hold a webhook delivery past its total deadline."""

from __future__ import annotations

import time

import pytest
import redis

from config.settings import Settings
from config.webhooks import WebhookPolicy
from schemas import CommandState
from store.command_store import Claim, CommandStore, StoreLimits
from store.webhooks.deliveries import Deliveries
from store.webhooks.subscriptions import Subscriptions
from tests.factories import make_envelope
from tests.trickle import TrickleProxy
from worker.webhooks import Sender, delivery_client

DEADLINE_S = 1.0
SLACK_S = 0.75  # scheduling slack on a loaded machine; the overshoot measured is milliseconds


@pytest.mark.parametrize("head", [True, False], ids=["status-and-headers", "body-only"])
def test_a_trickling_receiver_fails_the_delivery_at_its_deadline(redis_client: redis.Redis, head):
    store = CommandStore(redis_client, StoreLimits(retention_s=3600, guard_ms=60_000,
                                                   lease_ms=30_000))  # fmt: skip
    policy = WebhookPolicy(timeout_s=DEADLINE_S, max_attempts=1, base_s=0.001, cap_s=0.002)
    # one byte every 0.3 s: each read returns in time, so per-phase timeouts never trip
    with TrickleProxy(interval_s=0.3, head=head) as receiver, delivery_client() as http:
        subs = Subscriptions(redis_client, Settings())
        sub, _ = subs.create(receiver.url, ["succeeded"])
        claim = store.claim(store.admit(make_envelope("k-1", order_id="BO-1")).command_id)
        assert isinstance(claim, Claim)
        store.finish(claim, CommandState.SUCCEEDED, None, message="ok")
        started = time.monotonic()
        result = Sender(redis_client, http, policy, sleep=lambda s: None).deliver(sub)
        took = time.monotonic() - started
    state = Deliveries(redis_client).state(sub.id)
    if head:
        # the status line never arrived in time: the call failed at its deadline, dead-lettered
        assert result == "backoff"
        assert took < DEADLINE_S + SLACK_S
        assert "Timeout" in state["last_error"]
        [dead] = Deliveries(redis_client).dead()
        assert dead.error.startswith("ReadTimeout")
    else:
        # the status is all a delivery reads: a trickled body does not hold it either
        assert result == "done"
        assert took < DEADLINE_S
        assert state["delivered_total"] == "1"
