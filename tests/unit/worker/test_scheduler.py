"""The scheduler hands out due retries, unclaimed dispatches and dead leases exactly when due."""

from __future__ import annotations

from collections import Counter

import fakeredis
import pytest

from providers.accounts import ShoplazzaAccount
from schemas import CommandState
from store import keys
from store.backlog import Backlogs
from store.command_store import Claim, CommandStore, Spend, StoreLimits
from store.records import read_records
from tests.factories import make_envelope
from worker.scheduler import Scheduler


def make_store(*, guard_ms: int = 60_000, lease_ms: int = 60_000) -> CommandStore:
    client = fakeredis.FakeRedis(decode_responses=True)
    return CommandStore(client, StoreLimits(retention_s=3600, guard_ms=guard_ms, lease_ms=lease_ms))


@pytest.fixture
def sent() -> list[str]:
    return []


def test_nothing_is_sent_while_nothing_is_due(sent):
    store = make_store()
    admission = store.admit(make_envelope())
    assert admission.dispatch
    assert Scheduler(store, sent.extend, tick_s=1).run_once() == 0
    assert sent == []


def test_an_unclaimed_dispatch_is_resent_after_the_guard_once(sent):
    store = make_store(guard_ms=0)
    admission = store.admit(make_envelope())
    scheduler = Scheduler(store, sent.extend, tick_s=1)
    scheduler.run_once()
    assert sent == [admission.command_id]


def test_a_due_retry_is_sent_and_pushed_back_by_the_guard(sent):
    store = make_store()
    admission = store.admit(make_envelope())
    claim = store.claim(admission.command_id)
    assert isinstance(claim, Claim)
    store.retry(claim, None, delay_s=0, spend=Spend.ATTEMPT, reconcile_first=False)
    scheduler = Scheduler(store, sent.extend, tick_s=1)
    assert scheduler.run_once() == 1
    assert scheduler.run_once() == 0, "handed out once per guard period"
    assert sent == [admission.command_id]


def test_an_expired_lease_is_sent_again(sent):
    store = make_store(lease_ms=0)
    admission = store.admit(make_envelope())
    assert isinstance(store.claim(admission.command_id), Claim)
    Scheduler(store, sent.extend, tick_s=1).run_once()
    assert sent == [admission.command_id]


def test_maintenance_runs_at_most_once_per_period(sent):
    store = make_store()
    runs: list[int] = []
    scheduler = Scheduler(
        store, sent.extend, tick_s=1, maintain=lambda: runs.append(1), maintain_every_s=3600
    )
    scheduler.run_once()
    scheduler.run_once()
    assert runs == [1]


def test_a_failing_tick_does_not_stop_the_loop(sent):
    store = make_store()
    calls: list[int] = []

    def maintain() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        scheduler.stop(timeout_s=0)

    scheduler = Scheduler(store, sent.extend, tick_s=0.001, maintain=maintain, maintain_every_s=0)
    scheduler.run()
    assert len(calls) == 2
    assert (
        store.client.hget(keys.command(store.admit(make_envelope()).command_id), "state")
        == CommandState.QUEUED
    )


def test_bulk_messages_get_the_longer_guard(sent):
    client = fakeredis.FakeRedis(decode_responses=True)
    store = CommandStore(
        client, StoreLimits(retention_s=3600, guard_ms=0, lease_ms=60_000, bulk_guard_ms=3_600_000)
    )
    live = store.admit(make_envelope("live"))
    bulk = store.admit(
        make_envelope("bulk", order_id="BO-2").model_copy(update={"source": "bulk:b1"})
    )
    scheduler = Scheduler(store, sent.extend, tick_s=1)
    scheduler.run_once()  # the bulk command's first message (the outbox), the live one's re-send
    assert sorted(sent) == sorted([live.command_id, bulk.command_id])
    sent.clear()
    scheduler.run_once()
    assert sent == [live.command_id], "the bulk message is not re-sent within the hour"


def test_messages_not_sent_for_a_broker_outage_are_due_again_at_the_next_tick(sent):
    store = make_store(guard_ms=3_600_000)
    bulk = store.admit(make_envelope().model_copy(update={"source": "bulk:b1"}))

    def broker_down(ids: object) -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        Scheduler(store, broker_down, tick_s=1).run_once()
    assert Scheduler(store, sent.extend, tick_s=1).run_once() == 1
    assert sent == [bulk.command_id], "sent at the next tick, not an hour later"


def test_a_tick_releases_each_accounts_bulk_by_its_limit_never_a_whole_batch(sent):
    store = make_store()
    accounts = {
        name: ShoplazzaAccount(
            provider="shoplazza", base_url="http://x.invalid", access_token="t", burst=1
        )
        for name in ("s1", "s2")
    }
    envelopes = [
        make_envelope(f"{name}-{i}", provider="shoplazza", account=name, order_id=f"O-{i}")
        for name in accounts
        for i in range(500)
    ]
    store.admit_many([e.model_copy(update={"source": "bulk:b1"}) for e in envelopes])
    backlogs = Backlogs(store.client, accounts, tick_s=1)
    scheduler = Scheduler(store, sent.extend, tick_s=1, backlogs=backlogs)
    scheduler.run_once()
    # 2/s burst 1, a 1-s tick: the slot now goes out now; the next ones (0.5 s, 1 s, 1.5 s
    # ahead) are booked and go out when due
    by_account = Counter(r.envelope.command.account for r in read_records(store.client, sent) if r)
    assert by_account == {"s1": 1, "s2": 1}, "round-robin: each account its own slots"
    assert store.client.zcard(keys.dispatch()) == 8, "four booked slots each, due at their time"
    assert store.client.zcard(keys.backlog("s1")) == store.client.zcard(keys.backlog("s2")) == 496


def test_resends_go_first_on_their_own_publisher_and_first_deliveries_after():
    store = make_store(guard_ms=0)
    parked, dead_lease, first = (
        store.admit(make_envelope(key, order_id=f"O-{key}")).command_id for key in "abc"
    )
    claim = store.claim(parked)
    assert isinstance(claim, Claim)
    store.retry(claim, None, delay_s=0, spend=Spend.NOTHING, reconcile_first=False)
    assert isinstance(store.claim(dead_lease), Claim)
    store.client.hset(keys.command(dead_lease), "lease_until", 0)
    store.client.zadd(keys.running(), {dead_lease: 0})
    published: list[tuple[str, str]] = []
    scheduler = Scheduler(
        store,
        lambda ids: published.extend(("first", i) for i in ids),
        resend=lambda ids: published.extend(("resend", i) for i in ids),
        tick_s=1,
    )
    assert scheduler.run_once() == 3
    assert published[:2] == [("resend", parked), ("resend", dead_lease)]
    assert published[2:] == [("first", first)], "a re-send never waits behind a first delivery"
