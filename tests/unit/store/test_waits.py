"""What a waiting command waits for, and until when: states, places and ETAs on a real Redis."""

from __future__ import annotations

import time

import pytest

from schemas import CommandState, WaitingFor
from store import keys
from store.command_store import Claim, Parked, Spend
from store.records import read_record, read_records
from store.search import Search, parse_filter
from store.waits import measured_per_s
from tests.unit.store.test_backlog import ACCOUNTS, Gated


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], None),  # nothing released: measure nothing
        ([(50_000, 5)], None),  # one release: no span to measure over
        ([(59_000, 1), (60_000, 1)], None),  # 1 s apart: too short a span
        # 2 s-apart releases of 1 from t=40 s: the first starts the span, 10 after it in 20 s
        ([(40_000 + i * 2000, 1) for i in range(11)], 0.5),
        ([(50_000, 3), (55_000, 4)], 0.4),  # 4 after the first, 10 s to now
        ([(-1_000, 9), (40_000, 2), (50_000, 2)], 0.1),  # past the minute: dropped
    ],
)
def test_the_rate_a_backlog_drains_at_is_measured_from_its_releases(entries, expected):
    measured = measured_per_s(entries, now_ms=60_000)
    assert measured == (pytest.approx(expected) if expected is not None else None)


def test_a_backlogged_command_knows_its_place_and_eta_at_the_configured_rate(redis_client):
    gated = Gated(redis_client)
    ids = gated.admit(4, bulk=True)
    records = read_records(redis_client, ids, accounts=ACCOUNTS)
    assert [(r.state, r.waiting_for, r.backlog_place) for r in records if r] == [
        (CommandState.WAITING, WaitingFor.BACKLOG, place) for place in (1, 2, 3, 4)
    ]
    last = records[-1]
    assert last is not None
    assert last.waiting_until is not None
    eta_s = last.waiting_until.timestamp() - time.time()
    assert 1.5 < eta_s <= 2.0, "4th in line at the configured 2/s while nothing was released"
    unknown = read_record(redis_client, ids[-1])  # no accounts: the configured rate is unknown
    assert unknown is not None
    assert (unknown.backlog_place, unknown.waiting_until) == (4, None)


def test_a_released_command_still_waits_for_the_backlog_until_its_booked_slot(redis_client):
    gated = Gated(redis_client)
    ids = gated.admit(10, bulk=True)
    gated.backlogs.release()
    [first, *_] = ids
    record = read_record(redis_client, first, accounts=ACCOUNTS)
    assert record is not None
    assert (record.state, record.waiting_for, record.backlog_place) == ("waiting", "backlog", None)
    slot_ms = int(redis_client.hget(keys.command(first), "reserved") or 0)
    assert record.waiting_until is not None
    assert round(record.waiting_until.timestamp() * 1000) == slot_ms
    [(_, noted)] = redis_client.xrange(keys.backlog_released("store"))
    assert noted == {"n": "4"}, "the release was noted: a burst of 2, then a tick and a slot"


def test_lane_and_gate_waits_and_a_retry_are_told_apart(redis_client):
    gated = Gated(redis_client)
    envelopes = [gated.envelope(bulk=False, order_id="O-1") for _ in range(2)]
    head, behind = (a.command_id for a in gated.store.admit_many(envelopes))
    waits = read_records(redis_client, [head, behind])
    assert [(r.state, r.waiting_for) for r in waits if r] == [
        (CommandState.QUEUED, None), (CommandState.WAITING, WaitingFor.LANE),
    ]  # fmt: skip
    assert gated.claim(behind) == "not_head", "a lane wait is never claimed"
    seconds, _ = redis_client.time()
    booked_ahead = (int(seconds) + 60) * 1000
    gated.client.set(keys.rate("shoplazza", "store"), booked_ahead)  # a minute of slots booked
    assert isinstance(gated.claim(head), Parked)
    parked = read_record(redis_client, head)
    assert parked is not None
    assert (parked.state, parked.waiting_for) == ("waiting", "rate")
    assert parked.waiting_until == parked.next_attempt_at
    assert parked.attempts == []
    assert redis_client.zscore(keys.index("waiting_for", "rate"), head) is not None
    assert redis_client.zscore(keys.index("waiting_for", "lane"), behind) is not None
    gated.client.delete(keys.rate("shoplazza", "store"))
    gated.client.hset(keys.command(head), "next_ms", 0)  # its slot has come
    claim = gated.claim(head)
    assert isinstance(claim, Claim)
    assert redis_client.zscore(keys.index("waiting_for", "rate"), head) is None, "left the wait"
    gated.store.retry(claim, None, delay_s=60, spend=Spend.ATTEMPT, reconcile_first=False)
    retried = read_record(redis_client, head)
    assert retried is not None
    assert (retried.state, retried.waiting_for) == ("retrying", None)


def test_a_batch_cancel_discards_backlogged_commands_but_not_a_gate_wait(redis_client):
    gated = Gated(redis_client)
    backlogged, parked = gated.admit(1, bulk=True)[0], gated.admit(1, bulk=False)[0]
    seconds, _ = redis_client.time()
    gated.client.set(keys.rate("shoplazza", "store"), (int(seconds) + 60) * 1000)
    assert isinstance(gated.claim(parked), Parked)
    assert gated.store.discard_pending(backlogged, actor="t", why="wrong file")
    assert redis_client.zscore(keys.backlog("store"), backlogged) is None, "it left the backlog"
    assert redis_client.zscore(keys.index("waiting_for", "backlog"), backlogged) is None
    assert not gated.store.discard_pending(parked, actor="t", why="wrong file"), (
        "the gate's waits are not pending work to discard (as before): it holds a booked slot"
    )


def test_search_finds_waiting_commands_by_what_they_wait_for(redis_client):
    gated = Gated(redis_client)
    backlogged = gated.admit(3, bulk=True)
    envelopes = [gated.envelope(bulk=False, order_id="O-lane") for _ in range(2)]
    _, behind = (a.command_id for a in gated.store.admit_many(envelopes))
    search = Search(redis_client, {"store": "shoplazza"})
    by_backlog = search.page(parse_filter("waiting_for=backlog"))
    assert sorted(r.id for r in by_backlog.records) == sorted(backlogged)
    by_lane = search.page(parse_filter("state=waiting,waiting_for=lane,provider=shoplazza"))
    assert [r.id for r in by_lane.records] == [behind]
    assert search.page(parse_filter("waiting_for=rate")).records == []
    assert search.page(parse_filter("state=dead,waiting_for=backlog")).records == []
