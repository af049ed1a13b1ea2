"""Bulk replays of dead webhook deliveries: a snapshot with counts, the rate, once each, cancel.

The run shares ``replay_run.lua`` with command runs but lives in a space of its own: command
runs' drivers and pages never see it, and its ids are dead-delivery members.
"""

from __future__ import annotations

import pytest

from runs.bulk_runs import BulkRuns, RunStatus
from runs.delivery_runs import PLAN_CHUNK, DeliveryRunDriver, DeliveryRuns
from schemas import CommandState
from store import keys
from store.command_store import Claim, CommandStore
from store.outcomes import Outcomes
from store.webhooks.deliveries import DeadDelivery, DeadFilter, Deliveries
from tests.factories import make_envelope


def dead_deliveries(store: CommandStore, sub_id: str, n: int, error: str = "HTTP 503") -> list:
    made = []
    for i in range(n):
        claim = store.claim(store.admit(make_envelope(f"{sub_id}-{i}", order_id=f"O-{sub_id}-{i}"))
                            .command_id)  # fmt: skip
        assert isinstance(claim, Claim)
        store.finish(claim, CommandState.SUCCEEDED, None)
        event = Outcomes(store.client).of_command(claim.command_id)[-1]
        dead = DeadDelivery(sub_id, event, 3, f"{error} after 0.1 s", 1)
        store.client.zadd(keys.webhook_dead_letters(), {dead.member: 1})
        store.client.hset(keys.webhook_dead_letter_bodies(), dead.member, dead.body())
        made.append(dead)
    return made


def planned(store: CommandStore, where: DeadFilter, *, within=None, chunk: int = PLAN_CHUNK):
    runs = DeliveryRuns(store.client)
    run = runs.plan_deliveries(where, within=within, actor="olivia", why="receiver back")
    while runs.plan_step(run.id, chunk=chunk) == RunStatus.PLANNING:
        pass
    return runs, runs.require(run.id)


def test_a_plan_counts_by_subscription_event_and_error_and_changes_nothing(store):
    dead_deliveries(store, "wh_a", 3)
    dead_deliveries(store, "wh_b", 2, error="ReadTimeout")
    runs, run = planned(store, DeadFilter(), chunk=2)
    assert (run.status, run.total) == (RunStatus.PLANNED, 5)
    assert run.counts == {"wh_a|succeeded|HTTP 503": 3, "wh_b|succeeded|ReadTimeout": 2}
    assert len(Deliveries(store.client).dead()) == 5
    # its own space: command runs (their pages, the workers' command-run driver) do not see it
    assert BulkRuns(store.client).recent() == []
    assert [r.id for r in runs.recent()] == [run.id]
    _, mine = planned(store, DeadFilter(subscription_id="wh_b"))
    assert mine.total == 2
    _, within = planned(store, DeadFilter(), within=["wh_a"])
    assert within.total == 3


def test_a_started_run_replays_each_once_at_its_rate_across_drivers(store):
    made = dead_deliveries(store, "wh_a", 6)
    runs, run = planned(store, DeadFilter())
    assert runs.start(run.id, actor="olivia", rate_per_s=2)
    one, two = DeliveryRunDriver(store.client), DeliveryRunDriver(store.client)
    # one due at once, the next after 1/rate: two drivers together get no more than the rate
    first, second = one.advance(run.id), two.advance(run.id)
    assert first.acted + second.acted == 1
    assert second.status == "wait"
    assert 0 < second.wait_s <= 0.5
    Deliveries(store.client).replay(made[5])  # replayed elsewhere: the run counts it skipped
    done = one.drive(run.id)
    assert (done.status, done.results) == (RunStatus.DONE, {"queued": 5, "skipped": 1})
    assert len(Deliveries(store.client).redeliveries("wh_a")) == 6
    assert Deliveries(store.client).dead() == []


def test_cancel_drops_what_was_not_handed_out(store):
    dead_deliveries(store, "wh_a", 4)
    runs, run = planned(store, DeadFilter())
    runs.start(run.id, actor="olivia", rate_per_s=0.01)
    assert DeliveryRunDriver(store.client).advance(run.id).acted == 1
    assert runs.cancel(run.id, actor="olivia")
    assert DeliveryRunDriver(store.client).advance(run.id).acted == 0
    after = runs.require(run.id)
    assert (after.status, after.processed, after.left) == (RunStatus.CANCELLED, 1, 3)
    assert len(Deliveries(store.client).dead()) == 3
    actions = [e["action"] for _, e in store.client.xrange(keys.audit())]
    assert actions == ["bulk_replay_start", "bulk_replay_cancel"]


def test_each_kind_of_run_is_unknown_to_the_other(store):
    # Both kinds keep their records under the same keys: an id of the wrong kind must not act
    dead_deliveries(store, "wh_a", 2)
    delivery_runs, delivery_run = planned(store, DeadFilter())
    command_runs = BulkRuns(store.client)
    assert command_runs.get(delivery_run.id) is None
    assert not command_runs.cancel(delivery_run.id, actor="olivia")
    assert not command_runs.start(delivery_run.id, actor="olivia", rate_per_s=1)
    assert delivery_runs.require(delivery_run.id).status == RunStatus.PLANNED
    command_run_id = "0123456789abcdef"
    store.client.hset(keys.replay_run(command_run_id), mapping={"status": RunStatus.PLANNED})
    assert delivery_runs.get(command_run_id) is None
    assert not delivery_runs.cancel(command_run_id, actor="olivia")
    assert store.client.hget(keys.replay_run(command_run_id), "status") == RunStatus.PLANNED


@pytest.mark.parametrize("rate", [0, -1])
def test_a_rate_that_is_not_positive_is_refused(store, rate):
    dead_deliveries(store, "wh_a", 1)
    runs, run = planned(store, DeadFilter())
    with pytest.raises(Exception, match="rate must be above 0"):
        runs.start(run.id, actor="olivia", rate_per_s=rate)


class RacedRuns(DeliveryRuns):
    """Plans two at a time; a worker's pump adds the first chunk while this one reads it."""

    raced = False

    def plan_step(self, run_id: str, *, chunk: int = 2) -> str:
        return super().plan_step(run_id, chunk=chunk)

    def op(self, run_id: str, op: str, actor: str, *args):
        if op == "plan" and not self.raced:
            self.raced = True
            assert DeliveryRuns(self.client).plan_step(run_id, chunk=2) == RunStatus.PLANNING
        return super().op(run_id, op, actor, *args)


def test_planning_here_goes_on_past_a_chunk_the_pump_added_first(store):
    dead_deliveries(store, "wh_a", 5)
    runs = RacedRuns(store.client)
    run = runs.plan_now(DeadFilter(), within=None, actor="olivia", why="receiver back")
    assert runs.raced
    assert (run.status, run.total, run.counts) == (
        RunStatus.PLANNED, 5, {"wh_a|succeeded|HTTP 503": 5})  # fmt: skip


def test_an_empty_plan_made_here_is_cancelled(store):
    run = DeliveryRuns(store.client).plan_now(DeadFilter(), within=None, actor="o", why="")
    assert (run.status, run.total) == (RunStatus.CANCELLED, 0)
