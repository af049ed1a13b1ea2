"""Random gate, backlog and lane operations on a real Redis: no command is lost, lanes keep order.

Every unfinished command heading its lane is in exactly one of the backlog, the dispatch set,
the retry schedule or the running set; each lane finishes its commands in admission order.
A command the gate or the backlog holds is ``waiting`` for that (``rate``, ``backlog``...),
indexed as such, and ``retrying`` only after a delivery reported a retry.
"""

from __future__ import annotations

from contextlib import suppress

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from redisconn import client as clients
from schemas import CommandState, WaitingFor
from store import keys
from store.command_store import Claim, LeaseLost, Spend
from tests.unit.store.test_backlog import Gated

ORDERS = ["O-1", "O-2", "O-3", "O-4"]
SETS = {
    "backlog": keys.backlog("store"),
    "dispatch": keys.dispatch(),
    "schedule": keys.schedule(),
    "running": keys.running(),
}
ENDED = {CommandState.SUCCEEDED, CommandState.DISCARDED}
WAITS = [str(w) for w in WaitingFor]


def pick(data: st.DataObject, candidates: list[str]) -> str | None:
    """One of ``candidates``, drawn the same way however many there are.

    Which commands a set holds depends on the clock (the gate opens while the machine runs),
    so a draw shaped by the list would make Hypothesis see one example generate two ways.
    """
    index = data.draw(st.integers(0, 255), label="pick")
    return candidates[index % len(candidates)] if candidates else None


class BacklogMachine(RuleBasedStateMachine):
    """Bulk and live commands through admission, release, gated claims, retries and discards."""

    redis_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.client = clients.redis_client(self.redis_url)
        self.client.flushdb()
        self.gated = Gated(self.client, share_pct=50)
        self.admitted: dict[str, list[str]] = {order: [] for order in ORDERS}
        self.finished: dict[str, list[str]] = {order: [] for order in ORDERS}
        self.claims: dict[str, Claim] = {}
        self.retried: set[str] = set()

    def teardown(self) -> None:
        self.client.close()

    @rule(order=st.sampled_from(ORDERS), bulk=st.booleans(), count=st.integers(1, 3))
    def admit(self, order: str, bulk: bool, count: int) -> None:
        envelopes = [self.gated.envelope(bulk=bulk, order_id=order) for _ in range(count)]
        for admission in self.gated.store.admit_many(envelopes):
            self.admitted[order].append(admission.command_id)

    @rule()
    def release(self) -> None:
        self.gated.backlogs.release()

    @rule(data=st.data(), where=st.sampled_from(["dispatch", "schedule", "running", "any"]))
    def deliver(self, data: st.DataObject, where: str) -> None:
        """A message arrives: from a set the scheduler hands out, or a duplicate of any command."""
        if where == "any":
            candidates = [i for ids in self.admitted.values() for i in ids]
        else:
            candidates = sorted(str(i) for i in self.client.zrange(SETS[where], 0, -1))
        command_id = pick(data, candidates)
        if command_id is None:
            return
        if command_id in self.claims:
            self.client.hset(keys.command(command_id), "lease_until", 0)  # its worker died
            del self.claims[command_id]
        self.client.hset(keys.command(command_id), "next_ms", 0)  # any wait is over
        reply = self.gated.claim(command_id)
        if isinstance(reply, Claim):
            self.claims[command_id] = reply

    @rule(data=st.data(), retry=st.booleans())
    def record(self, data: st.DataObject, retry: bool) -> None:
        command_id = pick(data, sorted(self.claims))
        if command_id is None:
            return
        claim = self.claims.pop(command_id)
        with suppress(LeaseLost):
            if retry:
                self.retried.add(command_id)
                self.gated.store.retry(
                    claim, None, delay_s=0, spend=Spend.ATTEMPT, reconcile_first=False
                )
            else:
                self.gated.store.finish(claim, CommandState.SUCCEEDED, None)
                self.finished[claim.envelope.command.order_id].append(command_id)

    @rule(data=st.data())
    def discard(self, data: st.DataObject) -> None:
        command_id = pick(data, [i for ids in self.admitted.values() for i in ids])
        if command_id is not None:
            self.gated.store.discard_pending(command_id, actor="t", why="t")

    @rule(ahead_ms=st.sampled_from([0, 400, 1_500, 60_000]))
    def live_traffic_books(self, ahead_ms: int) -> None:
        seconds, micros = self.client.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        self.client.set(keys.rate("shoplazza", "store"), now_ms + ahead_ms)

    @invariant()
    def every_unfinished_lane_head_is_in_exactly_one_place(self) -> None:
        for order, ids in self.admitted.items():
            lane = self.gated.store.lane_ids(f"shoplazza:store:{order}")
            for command_id in ids:
                state, waiting_for = self.client.hmget(
                    keys.command(command_id), "state", "waiting_for"
                )
                where = [n for n, k in SETS.items() if self.client.zscore(k, command_id)]
                if state in ENDED:
                    assert (where, command_id in lane) == ([], False), (command_id, state)
                elif state == CommandState.WAITING and waiting_for == WaitingFor.LANE:
                    assert (where, lane.index(command_id) > 0) == ([], True), command_id
                else:
                    assert (len(where), lane[0]) == (1, command_id), (command_id, state, where)

    @invariant()
    def waits_are_waiting_and_indexed_by_what_for(self) -> None:
        """Only a delivery that asked for a retry leaves ``retrying``; each wait has its index."""
        for command_id in (i for ids in self.admitted.values() for i in ids):
            state, waiting_for = self.client.hmget(keys.command(command_id), "state", "waiting_for")
            if state == CommandState.RETRYING:
                assert command_id in self.retried, command_id
            indexed = [
                w for w in WAITS if self.client.zscore(keys.index("waiting_for", w), command_id)
            ]
            assert indexed == ([waiting_for] if state == CommandState.WAITING else []), command_id
            in_backlog = self.client.zscore(SETS["backlog"], command_id) is not None
            assert not in_backlog or (state, waiting_for) == ("waiting", "backlog"), command_id

    @invariant()
    def lanes_finish_in_admission_order(self) -> None:
        for order, done in self.finished.items():
            admitted = [i for i in self.admitted[order] if i in done]
            assert done == admitted, order


@pytest.fixture(autouse=True)
def _machine_redis(redis_url: str) -> None:
    BacklogMachine.redis_url = redis_url


TestBacklogMachine = BacklogMachine.TestCase
TestBacklogMachine.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
