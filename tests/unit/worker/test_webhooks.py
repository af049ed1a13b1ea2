"""Webhook delivery on a real Redis to a real HTTP receiver on loopback (``Sender`` in-process).

Signed per Standard Webhooks (verified with the library, both secrets during a rotation), in
stream order, retried with the same ``webhook-id``, dead-lettered past the budget, replayed
once, and a subscription's filter honoured.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest
import redis

from config.settings import Settings
from config.webhooks import WebhookPolicy
from schemas import CommandState, DeadReason
from store.command_store import Claim, CommandStore, StoreLimits
from store.outcomes import Outcomes
from store.search import Search
from store.webhooks.deliveries import Deliveries
from store.webhooks.gaps import Gaps, NoSuchGap
from store.webhooks.signing import WebhookVerificationError, verify
from store.webhooks.subscriptions import Subscriptions
from tests.factories import make_envelope
from tests.webhook_receiver import Receiver
from worker.webhooks import Sender, delivery_client

FAST = WebhookPolicy(base_s=0.001, cap_s=0.002, max_attempts=3, timeout_s=2, cool_down_s=0.001)


@pytest.fixture
def store(redis_client: redis.Redis) -> CommandStore:
    return CommandStore(
        redis_client, StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=30_000)
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def sender(redis_client: redis.Redis) -> Iterator[Sender]:
    with delivery_client() as http:
        yield Sender(redis_client, http, FAST, rng=random.Random(7), sleep=lambda s: None)


def finish(store: CommandStore, n: int, state: CommandState = CommandState.SUCCEEDED) -> str:
    claim = store.claim(store.admit(make_envelope(f"k-{n}", order_id=f"BO-{n}")).command_id)
    assert isinstance(claim, Claim)
    reason = DeadReason.REJECTED if state is CommandState.DEAD else None
    store.finish(claim, state, None, reason=reason, message="ok")
    return claim.command_id


def drain(sender: Sender, subs: Subscriptions, sub_id: str, *, rounds: int = 50) -> None:
    """Run delivery batches until one says it is done (backoff here is ~1 ms)."""
    for _ in range(rounds):
        result = sender.deliver(subs.get(sub_id))
        if result == "done":
            return
        Deliveries(sender.client).client.hdel(f"{{ordercmd}}:wh:{sub_id}:state", "next_ms")


def test_deliveries_are_signed_in_order_and_verify(store, receiver, sender):
    subs = Subscriptions(store.client, Settings())
    sub, secret = subs.create(receiver.url, ["succeeded", "dead"])
    ids = [
        finish(store, n, CommandState.DEAD if n == 2 else CommandState.SUCCEEDED) for n in range(4)
    ]
    drain(sender, subs, sub.id)
    bodies = [verify(r.body, r.headers, [secret]) for r in receiver.requests]
    assert [(b["type"], b["data"]["command_id"]) for b in bodies] == [
        ("command.dead" if n == 2 else "command.succeeded", ids[n]) for n in range(4)
    ]
    assert bodies[2]["data"]["reason"] == "rejected"
    assert all(r.headers["webhook-id"].startswith("msg_") for r in receiver.requests)
    with pytest.raises(WebhookVerificationError):
        verify(
            receiver.requests[0].body.replace(b"succeeded", b"dead"),
            receiver.requests[0].headers,
            [secret],
        )


def test_a_filter_keeps_other_accounts_and_kinds_out(store, receiver, sender):
    subs = Subscriptions(store.client, Settings())
    sub, _ = subs.create(receiver.url, ["dead"], account="other")
    finish(store, 1, CommandState.DEAD)
    drain(sender, subs, sub.id)
    assert receiver.requests == []
    assert Deliveries(store.client).state(sub.id)["cursor"] != "0-0"


def test_receiver_down_retries_then_dead_letter_then_replay_delivers_once(store, receiver, sender):
    subs = Subscriptions(store.client, Settings())
    sub, secret = subs.create(receiver.url, ["succeeded"])
    command_id = finish(store, 1)
    receiver.status = 503
    drain(sender, subs, sub.id)
    # three attempts, all with the same webhook-id, then a dead delivery
    assert len({r.headers["webhook-id"] for r in receiver.refused}) == 1
    assert len(receiver.refused) == FAST.max_attempts
    [dead] = Deliveries(store.client).dead()
    assert (dead.event.command_id, dead.attempts, dead.error) == (command_id, 3, "HTTP 503")
    # the receiver is back: a replay delivers it once, a second replay finds nothing
    receiver.status = 200
    assert Deliveries(store.client).replay(dead)
    assert not Deliveries(store.client).replay(dead)
    drain(sender, subs, sub.id)
    drain(sender, subs, sub.id)
    [delivered] = receiver.requests
    assert delivered.headers["webhook-id"] == receiver.refused[0].headers["webhook-id"]
    assert verify(delivered.body, delivered.headers, [secret])["data"]["command_id"] == command_id
    assert Deliveries(store.client).dead() == []
    # and /metrics' counters saw three failed calls and one delivery
    state = Deliveries(store.client).state(sub.id)
    assert (state["failed_total"], state["delivered_total"]) == ("3", "1")


def test_a_rotation_signs_with_both_secrets_during_the_overlap(store, receiver, sender):
    subs = Subscriptions(store.client, Settings())
    sub, old = subs.create(receiver.url, ["succeeded"])
    new = subs.rotate(sub.id, overlap_s=3600)
    finish(store, 1)
    drain(sender, subs, sub.id)
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verify(request.body, request.headers, [old]) == verify(
        request.body, request.headers, [new]
    )
    subs.rotate(sub.id, overlap_s=0)
    assert len(subs.get(sub.id).signing_secrets) == 1


def test_an_endpoint_failing_too_long_is_disabled_and_enabling_replays_what_it_missed(
    store, receiver, redis_client
):
    policy = FAST.model_copy(update={"disable_after_s": 0.0001, "max_attempts": 1})
    subs = Subscriptions(store.client, Settings())
    sub, _ = subs.create(receiver.url, ["succeeded"])
    ids = [finish(store, n) for n in range(3)]
    receiver.status = 503
    with delivery_client() as http:
        sender = Sender(redis_client, http, policy, sleep=lambda s: None)
        sender.deliver(subs.get(sub.id))  # first failure: failing since now, dead-lettered
        redis_client.hdel(f"{{ordercmd}}:wh:{sub.id}:state", "next_ms")
        sender.deliver(subs.get(sub.id))  # failing long enough: disabled
        assert Deliveries(redis_client).state(sub.id)["disabled"] == "1"
        assert sender.deliver(subs.get(sub.id)) == "disabled"
        receiver.status = 200
        assert Deliveries(redis_client).enable(sub.id) == 2
        drain(sender, subs, sub.id)
    got = [json.loads(r.body)["data"]["command_id"] for r in receiver.requests]
    assert sorted(got) == sorted(ids)
    assert len(got) == 3


def test_a_subscription_lagging_past_the_stream_bound_gets_its_gap_filled_from_the_records(
    receiver, sender, redis_client
):
    store = CommandStore(
        redis_client, StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=30_000,
                                  outcomes_max_len=100)
    )  # fmt: skip
    subs = Subscriptions(store.client, Settings())
    sub, secret = subs.create(receiver.url, ["succeeded"])
    ids = [finish(store, n) for n in range(350)]
    drain(sender, subs, sub.id)
    # the gap is explicit: the range trimmed unread, counted for /metrics
    [gap] = Gaps(store.client).of(sub.id)
    first_kept = Outcomes(store.client).read("0-0", count=1)[0]
    assert (gap.after, gap.before, gap.filled) == ("0-0", first_kept.event_id, None)
    assert Deliveries(store.client).state(sub.id)["gaps_total"] == "1"
    streamed = [json.loads(r.body)["data"]["command_id"] for r in receiver.requests]
    assert len(streamed) == store.client.xlen("{ordercmd}:outcomes")
    # filled from the records: each command that ended in the gap, once, marked rebuilt
    search = Search(store.client, {"acme": "backd"})
    filled = Gaps(store.client).fill(sub, search, actor="olivia", why="lagged")
    assert filled == 350 - len(streamed)
    drain(sender, subs, sub.id)
    rebuilt = [verify(r.body, r.headers, [secret]) for r in receiver.requests[len(streamed) :]]
    assert all(b["data"]["reconstructed"] is True for b in rebuilt)
    assert sorted([b["data"]["command_id"] for b in rebuilt] + streamed) == sorted(ids)
    assert {r.headers["webhook-id"] for r in receiver.requests[len(streamed) :]} == {
        f"msg_gap-{b['data']['command_id']}-succeeded" for b in rebuilt
    }
    with pytest.raises(NoSuchGap):
        Gaps(store.client).fill(sub, search, actor="olivia", why="again")
    [(_, entry)] = store.client.xrange("{ordercmd}:audit")
    assert entry["why"] == f"{sub.id} gap 0: {filled} events rebuilt: lagged"
