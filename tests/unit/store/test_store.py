"""The command store's scripts on fakeredis: admission, claims, lanes, retries, fencing."""

from __future__ import annotations

import fakeredis
import pytest

from providers.errors import IdempotencyConflict
from schemas import CommandState, DeadReason
from store import keys
from store.command_store import Admitted, Claim, CommandStore, LeaseLost, Spend, StoreLimits
from store.deadletters import DeadLetterFilter, DeadLetters
from store.delivery_ack import DeliveryAck
from store.records import read_record
from tests.factories import make_envelope
from worker.queues import BULK_QUEUE, LIVE_QUEUE, queue_for

UNACKED = ("unacked", "unacked_index")


def claimed(store: CommandStore, command_id: str) -> Claim:
    claim = store.claim(command_id)
    assert isinstance(claim, Claim), claim
    return claim


def test_same_key_same_content_returns_the_existing_command(store):
    first = store.admit(make_envelope("k"))
    again = store.admit(make_envelope("k"))
    assert first.admitted is Admitted.NEW
    assert first.dispatch
    assert again == type(again)(first.command_id, Admitted.EXISTING, dispatch=False)


def test_same_key_other_content_is_a_conflict(store):
    first = store.admit(make_envelope("k"))
    with pytest.raises(IdempotencyConflict) as info:
        store.admit(make_envelope("k", order_id="BO-000002"))
    assert info.value.command_id == first.command_id
    assert "idempotency_key" in str(info.value)


def test_a_lane_runs_one_command_at_a_time_in_admission_order(store):
    update = store.admit(make_envelope("u", kind="refund"))
    cancel = store.admit(make_envelope("c"))
    assert (update.dispatch, cancel.dispatch) == (True, False)
    assert store.claim(cancel.command_id) == "not_head"
    claim = claimed(store, update.command_id)
    assert store.finish(claim, CommandState.SUCCEEDED, None) == cancel.command_id
    record = read_record(store.client, cancel.command_id)
    assert record is not None
    assert record.state is CommandState.QUEUED


def test_a_dead_head_lets_the_lane_proceed(store):
    head = store.admit(make_envelope("a"))
    nxt = store.admit(make_envelope("b", kind="refund"))
    claim = claimed(store, head.command_id)
    released = store.finish(
        claim, CommandState.DEAD, None, reason=DeadReason.REJECTED, message="no"
    )
    assert released == nxt.command_id
    record = read_record(store.client, head.command_id)
    assert record is not None
    assert (record.state, record.dead_reason, record.last_message) == (
        CommandState.DEAD,
        DeadReason.REJECTED,
        "no",
    )


def test_a_duplicate_delivery_of_a_running_command_is_a_no_op(store):
    admission = store.admit(make_envelope())
    claimed(store, admission.command_id)
    assert store.claim(admission.command_id) == "busy"


def test_a_finished_command_is_never_claimed_again(store):
    admission = store.admit(make_envelope())
    store.finish(claimed(store, admission.command_id), CommandState.SUCCEEDED, None)
    assert store.claim(admission.command_id) == "finished"


def test_finish_acks_the_broker_delivery_in_the_same_write(store):
    admission = store.admit(make_envelope())
    other = store.admit(make_envelope("other", order_id="BO-000002"))
    for tag in ("tag-1", "tag-2"):  # kombu's Redis ack emulation: a hash field, an index member
        store.client.hset("unacked", tag, "[message]")
        store.client.zadd("unacked_index", {tag: 1.0})
    claim = claimed(store, admission.command_id)
    lost = claimed(store, other.command_id)
    store.client.hset(keys.command(other.command_id), "token", "someone else's")

    with pytest.raises(LeaseLost):  # no outcome recorded: the delivery stays unacked
        store.finish(lost, CommandState.SUCCEEDED, None, ack=DeliveryAck(*UNACKED, "tag-2"))
    store.finish(claim, CommandState.SUCCEEDED, None, ack=DeliveryAck(*UNACKED, "tag-1"))

    assert store.client.hkeys("unacked") == ["tag-2"]
    assert store.client.zrange("unacked_index", 0, -1) == ["tag-2"]
    assert store.claim(admission.command_id) == "finished"


def test_a_retry_is_not_claimed_before_it_is_due(store):
    admission = store.admit(make_envelope())
    claim = claimed(store, admission.command_id)
    store.retry(claim, None, delay_s=60, spend=Spend.ATTEMPT, reconcile_first=True)
    assert store.claim(admission.command_id) == "not_due"
    record = read_record(store.client, admission.command_id)
    assert record is not None
    assert record.state is CommandState.RETRYING


def test_a_due_retry_is_claimed_with_its_counters(store):
    admission = store.admit(make_envelope())
    claim = claimed(store, admission.command_id)
    store.retry(claim, None, delay_s=0, spend=Spend.ATTEMPT, reconcile_first=True)
    assert admission.command_id in store.due_messages()
    again = claimed(store, admission.command_id)
    assert (again.attempts, again.unprocessable, again.reconcile_first) == (1, 0, True)


def test_an_expired_lease_is_taken_over_and_the_old_claim_is_fenced():
    client = fakeredis.FakeRedis(decode_responses=True)
    store = CommandStore(client, StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=0))
    admission = store.admit(make_envelope())
    old = claimed(store, admission.command_id)
    new = claimed(store, admission.command_id)
    assert new.reconcile_first
    assert new.deliveries == 2
    with pytest.raises(LeaseLost):
        store.finish(old, CommandState.SUCCEEDED, None)
    store.finish(new, CommandState.SUCCEEDED, None)


def test_pipelined_admission_keeps_order(store):
    envelopes = [make_envelope(f"k{i}", order_id=f"O-{i % 3}") for i in range(9)]
    admissions = store.admit_many(envelopes)
    assert [a.dispatch for a in admissions] == [True] * 3 + [False] * 6
    assert store.lane_ids(envelopes[0].command.lane) == [
        admissions[i].command_id for i in (0, 3, 6)
    ]


def dead_letter(store: CommandStore, key: str, **overrides: object) -> str:
    admission = store.admit(make_envelope(key, **overrides))
    store.finish(
        claimed(store, admission.command_id),
        CommandState.DEAD,
        None,
        reason=DeadReason.NOT_FOUND,
        message="gone",
    )
    return admission.command_id


def test_dead_letters_beyond_the_count_bound_are_dropped_oldest_first(store):
    ids = [dead_letter(store, f"k{i}", order_id=f"O-{i}") for i in range(5)]
    now_ms = int(store.client.time()[0]) * 1000
    store.client.zadd(keys.dead_letters(), {cid: now_ms - 5 + i for i, cid in enumerate(ids)})
    letters = DeadLetters(store)
    assert letters.trim(max_age_s=3600, max_count=2) == 3
    assert [r.id for r in letters.page()] == [ids[4], ids[3]]
    assert letters.count(DeadLetterFilter(reason="not_found")) == 2
    assert letters.count(DeadLetterFilter(provider="backd")) == 2
    assert not store.client.exists(keys.command(ids[0]))


def test_dead_letters_past_the_age_bound_are_dropped(store):
    dead_letter(store, "k")
    assert DeadLetters(store).trim(max_age_s=0, max_count=100) == 1
    assert DeadLetters(store).count() == 0


def test_bulk_commands_get_ids_that_route_them_to_the_bulk_queue(store):
    live = store.admit(make_envelope("live"))
    bulk_envelope = make_envelope("bulk", order_id="BO-9").model_copy(update={"source": "bulk:b1"})
    bulk = store.admit(bulk_envelope)
    assert (queue_for(live.command_id), queue_for(bulk.command_id)) == (LIVE_QUEUE, BULK_QUEUE)


def test_a_pending_command_can_be_discarded_and_releases_its_lane(store):
    head = store.admit(make_envelope("a"))
    behind = store.admit(make_envelope("b", kind="refund"))
    assert store.discard_pending(head.command_id, actor="alice", why="batch cancelled")
    record = read_record(store.client, behind.command_id)
    assert record is not None
    assert record.state is CommandState.QUEUED
    assert behind.command_id in store.due_messages(), "the released command is sent at once"
    entry = store.client.xrange(keys.audit())[-1][1]
    assert (entry["action"], entry["actor"], entry["command_id"]) == (
        "discard_pending",
        "alice",
        head.command_id,
    )


def test_a_started_command_is_not_discarded(store):
    admission = store.admit(make_envelope())
    claimed(store, admission.command_id)
    assert not store.discard_pending(admission.command_id, actor="a", why="w")
    assert not store.discard_pending("nope", actor="a", why="w")
