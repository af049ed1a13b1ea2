"""The outbox: bulk commands are admitted for the scheduler to send, live ones are sent at once."""

from __future__ import annotations

import pytest

from producer import Producer
from producer.validation import derived_fingerprint
from store.admission import KnownKey, Prepared, via_outbox
from store.command_store import Admitted, CommandStore
from tests.factories import make_envelope
from tests.unit.producer.test_producer import cancel, make_settings
from worker.queues import BULK_QUEUE, LIVE_QUEUE, queue_for
from worker.scheduler import Scheduler


@pytest.fixture
def producer(store: CommandStore, published: list[str]) -> Producer:
    return Producer(make_settings(), store, published.extend)


def scheduled(store: CommandStore) -> list[str]:
    """What one scheduler tick sends now."""
    sent: list[str] = []
    Scheduler(store, sent.extend, tick_s=1).run_once()
    return sent


@pytest.mark.parametrize(
    ("source", "outbox"),
    [
        ("api", False),
        ("http", False),
        ("stream", False),
        ("replay", False),
        ("bulk:20261204-120000-3fa9c1", True),
    ],
)
def test_only_bulk_sources_go_through_the_outbox(source, outbox):
    assert via_outbox(source) is outbox


def test_live_commands_are_published_by_the_producer_at_once(producer, store, published):
    submissions = producer.submit_many([cancel(order_id="BO-1"), cancel(order_id="BO-2")])
    ids = [s.command_id for s in submissions]
    assert published == ids
    assert {queue_for(i) for i in ids} == {LIVE_QUEUE}
    assert scheduled(store) == [], "nothing left for the scheduler"


def test_bulk_commands_are_sent_by_the_next_scheduler_tick_once(producer, store, published):
    # Given three bulk commands, two of them in one order lane
    commands = [cancel(order_id="BO-1"), cancel(order_id="BO-2"), cancel(order_id="BO-2")]
    commands[2] |= {"kind": "refund"}
    # When they are submitted with a bulk source
    submissions = producer.submit_many(commands, source="bulk:b1")
    ids = [s.command_id for s in submissions]
    # Then the producer sends nothing; the next tick sends the two lane heads, once
    assert published == []
    assert [s.admitted for s in submissions] == [Admitted.NEW] * 3
    assert sorted(scheduled(store)) == sorted(ids[:2])
    assert {queue_for(i) for i in ids} == {BULK_QUEUE}
    assert scheduled(store) == [], "sent once: the bulk guard keeps it from a second tick"


def test_an_existing_bulk_command_is_neither_published_nor_scheduled_again(
    producer, store, published
):
    first = producer.submit_many([cancel()], source="bulk:b1")
    assert len(scheduled(store)) == 1
    again = producer.submit_many([cancel()], source="bulk:b2")
    assert (again[0].command_id, again[0].admitted) == (first[0].command_id, Admitted.EXISTING)
    assert (published, scheduled(store)) == ([], [])


def test_a_prepared_envelope_is_admitted_as_the_envelope_would_be(store):
    envelope = make_envelope("k1")
    prepared = Prepared.of(envelope)
    [admission] = store.admit_prepared([prepared])
    again = store.admit_many([envelope])
    assert (admission.admitted, again[0].admitted) == (Admitted.NEW, Admitted.EXISTING)
    assert again[0].command_id == admission.command_id


def test_known_keys_say_what_was_admitted_under_each_key(store):
    envelope = make_envelope("k1")
    admission = store.admit(envelope)
    assert store.known_keys(["k1", "k2"]) == [
        KnownKey(admission.command_id, envelope.fingerprint()),
        None,
    ]
    assert store.known_keys([]) == []


def test_a_derived_key_holds_the_fingerprint_the_store_compares(producer):
    envelope = producer.envelope(cancel())
    assert derived_fingerprint(envelope) == envelope.fingerprint()


def test_when_the_broker_fails_admitted_commands_go_to_the_next_scheduler_tick(store):
    def broker_down(command_ids):
        raise ConnectionError("broker unreachable")

    producer = Producer(make_settings(), store, broker_down)
    submissions = producer.submit_many([cancel(order_id="BO-1"), cancel(order_id="BO-2")])
    assert [s.admitted for s in submissions] == [Admitted.NEW] * 2
    assert sorted(scheduled(store)) == sorted(s.command_id for s in submissions)
