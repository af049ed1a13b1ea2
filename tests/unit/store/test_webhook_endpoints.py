"""Webhook endpoints share one breaker and one GCRA rate limit per origin.

Across subscriptions and workers: the flow primitives provider accounts have (``breaker.lua``,
the arrival time).
"""

from __future__ import annotations

import random

import pytest
import redis

from config.settings import Settings
from config.webhooks import WebhookPolicy
from schemas import CommandState
from store.command_store import Claim, CommandStore, StoreLimits
from store.webhooks.deliveries import Deliveries
from store.webhooks.endpoints import Endpoints, endpoint_of
from store.webhooks.subscriptions import Subscriptions
from tests.factories import make_envelope
from tests.webhook_receiver import Receiver
from worker.webhooks import Sender, delivery_client

HOOK = "https://hooks.example.com/a"


def test_an_endpoint_is_the_urls_origin():
    assert endpoint_of("https://Hooks.Example.com/a?x=1") == "https://hooks.example.com:443"
    assert endpoint_of("http://127.0.0.1:8080/b") == "http://127.0.0.1:8080"


def test_subscriptions_to_one_origin_share_its_rate(redis_client: redis.Redis):
    endpoints = Endpoints(redis_client, WebhookPolicy(rate_per_s=2, burst=1))
    assert endpoints.gate(HOOK).calls == 1
    held = endpoints.gate("https://hooks.example.com/other-path")
    assert (held.calls, held.why, 0 < held.wait_ms <= 500) == (0, "rate", True)
    assert endpoints.gate("https://elsewhere.example.com/a").calls == 1


def test_a_batch_takes_the_slots_free_now_up_to_the_burst(redis_client: redis.Redis):
    endpoints = Endpoints(redis_client, WebhookPolicy(rate_per_s=1, burst=3))
    assert endpoints.gate(HOOK, 2).calls == 2
    assert endpoints.gate(HOOK, 5).calls == 1
    assert endpoints.gate(HOOK, 5).why == "rate"


def test_failures_open_the_shared_breaker_then_one_probe_closes_it(redis_client):
    policy = WebhookPolicy(breaker_failures=2, cool_down_s=0.001, rate_per_s=1000, burst=100)
    endpoints = Endpoints(redis_client, policy)
    assert endpoints.gate(HOOK).clean
    assert endpoints.record(HOOK, ok=False) == "closed"
    assert not endpoints.gate(HOOK).clean
    assert endpoints.record(HOOK, ok=False) == "open"
    assert endpoints.breaker(HOOK)["opened"] == "1"
    cooled = Endpoints(redis_client, policy.model_copy(update={"cool_down_s": 3600}))
    cooled.record("https://slow.example.com/", ok=False)
    cooled.record("https://slow.example.com/", ok=False)
    assert cooled.gate("https://slow.example.com/x").why == "open"
    # the cool-down is over: one probe goes, the next caller waits for it
    wait_for_redis_ms(redis_client, 2)
    assert endpoints.gate(HOOK, 10).calls == 1  # the probe, alone
    assert endpoints.gate(HOOK).why == "probing"
    assert endpoints.record(HOOK, ok=True) == "closed"
    assert endpoints.gate(HOOK, 10).calls == 10


def wait_for_redis_ms(client: redis.Redis, ms: int) -> None:
    start = client.time()
    while True:
        now = client.time()
        if (now[0] - start[0]) * 1000 + (now[1] - start[1]) / 1000 >= ms:
            return


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_an_open_breaker_holds_every_subscription_to_the_endpoint_spending_no_attempt(
    redis_client, receiver
):
    store = CommandStore(redis_client, StoreLimits(retention_s=3600, guard_ms=60_000,
                                                   lease_ms=30_000))  # fmt: skip
    policy = WebhookPolicy(breaker_failures=2, cool_down_s=3600, base_s=0.001, cap_s=0.002,
                           max_attempts=5)  # fmt: skip
    subs = Subscriptions(redis_client, Settings())
    first, _ = subs.create(receiver.url, ["succeeded"])
    second, _ = subs.create(receiver.url + "/other", ["succeeded"])
    claim = store.claim(store.admit(make_envelope("k-1")).command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.SUCCEEDED, None)
    receiver.status = 503
    with delivery_client() as http:
        sender = Sender(redis_client, http, policy, rng=random.Random(1), sleep=lambda s: None)
        for _ in range(2):
            assert sender.deliver(first) == "backoff"
            redis_client.hdel(f"{{ordercmd}}:wh:{first.id}:state", "next_ms")
        assert len(receiver.refused) == 2
        # the breaker is open for the endpoint: the other subscription is held, not sent
        assert sender.deliver(second) == "backoff"
    assert len(receiver.refused) == 2
    state = Deliveries(redis_client).state(second.id)
    assert state["held"] == "open"
    assert state["head_attempts"] == "0"
    assert int(state["next_ms"]) > int(state.get("last_ok_ms", 0))
