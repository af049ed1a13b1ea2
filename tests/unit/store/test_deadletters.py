"""The dead-letter queue on fakeredis: listing, replay into the lane, discard, the audit stream."""

from __future__ import annotations

import time
from typing import Any

import pytest

from providers.errors import OrderCmdError
from schemas import CommandState, DeadReason
from store import keys
from store.command_store import Claim, CommandStore, Spend
from store.deadletters import DeadLetterFilter, DeadLetters, NotADeadLetter
from store.records import read_record
from tests.factories import make_envelope


@pytest.fixture
def letters(store: CommandStore) -> DeadLetters:
    return DeadLetters(store)


def claimed(store: CommandStore, command_id: str) -> Claim:
    claim = store.claim(command_id)
    assert isinstance(claim, Claim), claim
    return claim


def make_dead(
    store: CommandStore, key: str, reason: DeadReason = DeadReason.NOT_FOUND, **overrides: Any
) -> str:
    """Admit a command, claim it and dead-letter it with ``reason``; its id."""
    command_id = store.admit(make_envelope(key, **overrides)).command_id
    store.finish(claimed(store, command_id), CommandState.DEAD, None, reason=reason, message="no")
    time.sleep(0.002)  # the queue orders by Redis time in ms: keep deaths apart
    return command_id


def audit_entries(store: CommandStore) -> list[dict[str, str]]:
    entries = []
    for _, fields in store.client.xrange(keys.audit()) or []:
        entry = {str(k): str(v) for k, v in (fields or {}).items()}
        assert int(entry.pop("at_ms")) > 0
        entries.append(entry)
    return entries


def test_dead_letters_are_listed_newest_first_and_filtered(store, letters):
    # Given four dead letters at two providers for two reasons
    a = make_dead(store, "a", DeadReason.NOT_FOUND, order_id="O-1")
    b = make_dead(store, "b", DeadReason.EXHAUSTED, order_id="O-2")
    c = make_dead(
        store, "c", DeadReason.NOT_FOUND, provider="shoplazza", account="store", order_id="O-3"
    )
    d = make_dead(store, "d", DeadReason.AUTH, order_id="O-4")
    # When they are listed, filtered and counted
    everything = [r.id for r in letters.page()]
    not_found = [r.id for r in letters.page(DeadLetterFilter(reason="not_found"))]
    at_backd = [r.id for r in letters.page(DeadLetterFilter(provider="backd"))]
    # Then the newest comes first and each filter keeps only its own
    assert everything == [d, c, b, a]
    assert not_found == [c, a]
    assert at_backd == [d, b, a]
    assert letters.count() == 4
    assert letters.count(DeadLetterFilter(reason="not_found")) == 2
    assert letters.count(DeadLetterFilter(provider="shoplazza")) == 1
    assert letters.count(DeadLetterFilter(reason="poison")) == 0


def test_a_page_is_a_window_of_the_list(store, letters):
    ids = [make_dead(store, f"k{i}", order_id=f"O-{i}") for i in range(5)]
    assert [r.id for r in letters.page(offset=1, limit=2)] == [ids[3], ids[2]]
    assert letters.page(offset=5) == []


def test_a_listed_dead_letter_carries_its_reason_and_message(store, letters):
    command_id = make_dead(store, "a", DeadReason.REJECTED)
    record = letters.get(command_id)
    assert (record.id, record.state, record.dead_reason, record.last_message) == (
        command_id,
        CommandState.DEAD,
        DeadReason.REJECTED,
        "no",
    )
    assert letters.page() == [record]


def test_replay_of_a_lane_head_queues_it_with_fresh_budgets_and_a_read_first(store, letters):
    # Given a dead letter that had spent retries, alone in its lane
    command_id = store.admit(make_envelope("a")).command_id
    claim = claimed(store, command_id)
    store.retry(claim, None, delay_s=0, spend=Spend.ATTEMPT, reconcile_first=False)
    claim = claimed(store, command_id)
    assert claim.attempts == 1
    store.finish(claim, CommandState.DEAD, None, reason=DeadReason.EXHAUSTED, message="gave up")
    # When an operator replays it
    state = letters.replay(command_id, actor="alice", why="provider is back")
    # Then it heads its lane again, queued, out of the queue, and its next claim reads first
    assert state is CommandState.QUEUED
    record = read_record(store.client, command_id)
    assert record is not None
    assert (record.state, record.dead_reason, record.last_message) == (
        CommandState.QUEUED,
        None,
        "replayed: provider is back",
    )
    assert store.lane_ids(record.envelope.command.lane) == [command_id]
    assert letters.count() == 0
    assert letters.count(DeadLetterFilter(reason="exhausted")) == 0
    assert letters.count(DeadLetterFilter(provider="backd")) == 0
    assert store.client.ttl(keys.command(command_id)) == -1, "a replayed record does not expire"
    again = claimed(store, command_id)
    assert (again.attempts, again.unprocessable, again.reconcile_first, again.deliveries) == (
        0,
        0,
        True,
        1,
    )


def test_replay_behind_a_busy_lane_waits_at_its_tail(store, letters):
    # Given a dead head whose lane moved on to two newer commands
    dead = make_dead(store, "a")
    running = store.admit(make_envelope("b", kind="refund")).command_id
    behind = store.admit(make_envelope("c", kind="update", changes={"cart_amount": "1"}))
    claimed(store, running)
    # When the dead one is replayed
    state = letters.replay(dead, actor="alice", why="retry after the refund")
    # Then it waits at the tail of the lane, after the commands admitted since
    assert state is CommandState.WAITING
    lane = make_envelope().command.lane
    assert store.lane_ids(lane) == [running, behind.command_id, dead]
    assert store.claim(dead) == "not_head"


@pytest.mark.parametrize("action", ["replay", "discard", "get"])
def test_acting_on_a_command_that_is_not_dead_is_refused(action, store, letters):
    # Given a queued command and an id that was never admitted
    queued = store.admit(make_envelope("a")).command_id
    act = getattr(letters, action)
    options = {} if action == "get" else {"actor": "alice", "why": "x"}
    # When / Then each is refused saying why, and nothing is audited
    with pytest.raises(NotADeadLetter, match=f"command {queued} is queued, not dead"):
        act(queued, **options)
    with pytest.raises(NotADeadLetter, match="no command nope"):
        act("nope", **options)
    assert audit_entries(store) == []


def test_a_replayed_command_is_no_longer_a_dead_letter(store, letters):
    command_id = make_dead(store, "a")
    letters.replay(command_id, actor="alice", why="x")
    with pytest.raises(NotADeadLetter):
        letters.replay(command_id, actor="bob", why="again")
    assert [e["actor"] for e in audit_entries(store)] == ["alice"]


def test_discard_takes_it_out_of_every_index_and_audits_it(store, letters):
    # Given a dead letter among others
    other = make_dead(store, "a", DeadReason.AUTH, order_id="O-1")
    command_id = make_dead(store, "b", DeadReason.AUTH, order_id="O-2")
    # When an operator discards it
    letters.discard(command_id, actor="bob", why="merchant refunded by hand")
    # Then no listing shows it, its record says so and expires, and the audit keeps who and why
    assert [r.id for r in letters.page()] == [other]
    assert letters.count(DeadLetterFilter(reason="auth")) == 1
    assert letters.count(DeadLetterFilter(provider="backd")) == 1
    record = read_record(store.client, command_id)
    assert record is not None
    assert (record.state, record.last_message) == (
        CommandState.DISCARDED,
        "discarded: merchant refunded by hand",
    )
    assert 0 < store.client.ttl(keys.command(command_id)) <= 3600
    assert audit_entries(store) == [
        {
            "action": "discard",
            "command_id": command_id,
            "actor": "bob",
            "why": "merchant refunded by hand",
        }
    ]
    with pytest.raises(NotADeadLetter, match="is discarded, not dead"):
        letters.discard(command_id, actor="bob", why="again")


def test_every_operator_action_is_audited_in_order(store, letters):
    first = make_dead(store, "a", order_id="O-1")
    second = make_dead(store, "b", order_id="O-2")
    letters.replay(first, actor="alice", why="order exists now")
    letters.discard(second, actor="bob", why="duplicate")
    assert audit_entries(store) == [
        {"action": "replay", "command_id": first, "actor": "alice", "why": "order exists now"},
        {"action": "discard", "command_id": second, "actor": "bob", "why": "duplicate"},
    ]


def test_filtering_by_reason_and_provider_together_is_refused_clearly(letters):
    with pytest.raises(OrderCmdError, match="reason or by provider"):
        letters.count(DeadLetterFilter(reason="auth", provider="backd"))
