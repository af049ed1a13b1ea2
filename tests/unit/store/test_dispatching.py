"""A message the broker refuses is left to the scheduler's next tick, not lost or retried."""

from __future__ import annotations

from store.command_store import CommandStore
from store.dispatching import send_or_defer
from tests.factories import make_envelope
from worker.scheduler import Scheduler


def next_tick(store: CommandStore) -> list[str]:
    sent: list[str] = []
    Scheduler(store, sent.extend, tick_s=1).run_once()
    return sent


def test_a_sent_message_leaves_nothing_for_the_scheduler(store):
    command_id = store.admit(make_envelope("a")).command_id
    sent: list[str] = []
    assert send_or_defer(store, sent.extend, [command_id]) is True
    assert sent == [command_id]
    assert next_tick(store) == [], "re-sent only after the dispatch guard"


def test_a_refused_message_goes_out_at_the_next_scheduler_tick(store):
    command_id = store.admit(make_envelope("a")).command_id

    def broker_down(command_ids):
        raise ConnectionError("broker unreachable")

    assert send_or_defer(store, broker_down, [command_id]) is False
    assert next_tick(store) == [command_id]
    assert next_tick(store) == [], "once"
