"""The webhook pump on a real Redis: one task message per subscription with work.

None for a disabled one, one in backoff, or one whose events are all delivered.
"""

from __future__ import annotations

import redis

from config.settings import Settings
from schemas import CommandState
from store import keys
from store.command_store import Claim, CommandStore, StoreLimits
from store.webhooks.deliveries import Deliveries
from store.webhooks.subscriptions import Subscriptions
from tests.factories import make_envelope
from worker.webhook_pump import WebhookPump


def finish_one(store: CommandStore, key: str) -> None:
    claim = store.claim(store.admit(make_envelope(key, order_id=key)).command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.SUCCEEDED, None)


def test_the_pump_sends_one_task_per_subscription_with_work(redis_client: redis.Redis):
    store = CommandStore(redis_client, StoreLimits(3600, 60_000, 30_000))
    subs = Subscriptions(redis_client, Settings())
    waiting, _ = subs.create("https://a.example.com/h", ["succeeded"])
    disabled, _ = subs.create("https://b.example.com/h", ["succeeded"])
    backing_off, _ = subs.create("https://c.example.com/h", ["succeeded"])
    Deliveries(redis_client).disable(disabled.id, "test")
    redis_client.hset(keys.webhook_state(backing_off.id), "next_ms", 2**50)
    sent: list[str] = []
    pump = WebhookPump(redis_client, subs, sent.append)
    assert pump.run_once("0-0", block_ms=10) == "0-0"
    assert sent == []  # nothing happened yet: every cursor is at the stream's end
    finish_one(store, "BO-1")
    cursor = pump.run_once("0-0", block_ms=10)
    pump.run_once(cursor, block_ms=10)  # the marker holds: no second message
    assert sent == [waiting.id]
    redis_client.delete(keys.webhook_queued(waiting.id))
    newest = redis_client.xrevrange(keys.outcomes(), count=1)[0][0]
    redis_client.hset(keys.webhook_state(waiting.id), "cursor", newest)
    pump.run_once(cursor, block_ms=10)
    assert sent == [waiting.id]  # delivered up to the end: no work


def stream_reads(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("xread", "xrevrange"))


def test_with_no_subscription_the_pump_reads_nothing_of_the_stream(redis_client: redis.Redis):
    store = CommandStore(redis_client, StoreLimits(3600, 60_000, 30_000))
    finish_one(store, "NS-1")
    pump = WebhookPump(redis_client, Subscriptions(redis_client, Settings()), lambda _: None)
    before = stream_reads(redis_client)
    assert pump.run_once("0-0", block_ms=10) == "0-0"
    assert stream_reads(redis_client) == before
    Subscriptions(redis_client, Settings()).create("https://a.example.com/h", ["succeeded"])
    assert pump.run_once("0-0", block_ms=10) != "0-0"  # a subscriber: the stream is followed
