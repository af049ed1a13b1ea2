"""Bulk runs on fakeredis: planning in chunks bounded by death time, and the atomic take.

Several drivers (workers, a waiting CLI) share a run; the take in ``replay_run.lua`` must keep
the run's rate across all of them from Redis time, lease each id to one driver at a time, hand
out again the ids of a driver that died, count each result once, and stop on cancel.
"""

from __future__ import annotations

import time

from runs.bulk_runs import BulkRuns, RunAction, RunStatus
from runs.driver import RunDriver
from runs.planning import Planner
from schemas import CommandState, DeadReason
from store import keys
from store.command_store import Claim, CommandStore
from store.deadletters import DeadLetters
from store.search import Search, SearchFilter
from tests.factories import make_envelope
from tests.unit.store.test_hash_slots import SLOTS, Call, Recorder, crc16, hash_slot


class Published(list[str]):
    def __call__(self, command_ids) -> None:
        self.extend(command_ids)


def dead(store: CommandStore, key: str, reason=DeadReason.NOT_FOUND, **overrides) -> str:
    command_id = store.admit(make_envelope(key, order_id=f"O-{key}", **overrides)).command_id
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.DEAD, None, reason=reason, message="gone")
    return command_id


def redis_ms(client) -> float:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) / 1000


def planner(store: CommandStore, chunk: int) -> Planner:
    return Planner(BulkRuns(store.client), Search(store.client, {"acme": "backd"}), chunk=chunk)


def snapshot(store: CommandStore, run_id: str) -> list[str]:
    return store.client.lrange(keys.replay_run_ids(run_id), 0, -1)


LEASE_S = 0.5  # a short lease, so a test can outlive it


def past_lease(store: CommandStore, run_id: str, lease_ms: int) -> None:
    """Return once every lease of the run's ids in flight has run out by Redis time."""
    handed = store.client.zrange(keys.replay_run_in_flight(run_id), -1, -1, withscores=True)
    deadline = time.monotonic() + 5
    while redis_ms(store.client) <= handed[0][1] + lease_ms:
        assert time.monotonic() < deadline


def take_all(runs: BulkRuns, run_id: str, count: int) -> list[str]:
    """Take ``count`` ids as the run's rate lets them go."""
    taken: list[str] = []
    deadline = time.monotonic() + 5
    while len(taken) < count:
        assert time.monotonic() < deadline
        taken.extend(runs.take(run_id, limit=count - len(taken)).ids)
    return taken


def audited(store: CommandStore, action: str) -> list[str]:
    entries = store.client.xrange(keys.audit())
    return sorted(f["command_id"] for _, f in entries if f["action"] == action)


def drive_to_end(store: CommandStore, driver: RunDriver, run_id: str):
    deadline = time.monotonic() + 10
    while (run := driver.runs.require(run_id)).status is RunStatus.RUNNING:
        assert time.monotonic() < deadline, run
        driver.run_once()
    return run


def planned_run(
    store: CommandStore, count: int, *, rate_per_s: float, action=RunAction.DISCARD
) -> tuple[str, list[str]]:
    ids = [dead(store, f"k{i}") for i in range(count)]
    runs = BulkRuns(store.client)
    run = runs.plan(SearchFilter(), action=action, actor="ops", why="stale")
    while planner(store, 1000).step(run.id) == RunStatus.PLANNING:
        pass
    assert runs.start(run.id, actor="ops", rate_per_s=rate_per_s)
    return run.id, ids


# --- planning ----------------------------------------------------------------------------


def test_planning_fills_the_snapshot_in_chunks_with_counts(store):
    ids = [dead(store, f"n{i}") for i in range(4)] + [dead(store, "a", DeadReason.AUTH)]
    runs = BulkRuns(store.client)
    run = runs.plan(SearchFilter(), action=RunAction.REPLAY, actor="ops", why="fixed")
    assert (run.status, run.total, run.counts) == (RunStatus.PLANNING, 0, {})
    assert not runs.start(run.id, actor="ops", rate_per_s=10), "no start before the plan is done"
    plan = planner(store, chunk=2)
    steps = [plan.step(run.id) for _ in range(3)]
    assert steps == ["planning", "planning", "planned"]
    done = runs.require(run.id)
    assert (done.status, done.total) == (RunStatus.PLANNED, 5)
    assert done.counts == {"backd|cancel|not_found": 4, "backd|cancel|auth": 1}
    assert sorted(snapshot(store, run.id)) == sorted(ids)
    assert runs.driven_ids() == [], "a planned run waits for its start"
    assert all(store.client.hget(keys.command(i), "state") == "dead" for i in ids)


def test_a_chunk_read_by_two_drivers_is_added_once(store):
    for i in range(3):
        dead(store, f"n{i}")
    runs = BulkRuns(store.client)
    run = runs.plan(SearchFilter(), action=RunAction.REPLAY, actor="ops", why="fixed")
    cursor = store.client.hget(keys.replay_run(run.id), "plan_cursor")
    assert planner(store, chunk=2).step(run.id) == "planning"
    late = runs.op(run.id, "plan", "", cursor, "", 2, "x1", "backd|cancel|not_found")
    assert late[0] == "stale", "the other driver read the same chunk: its copy is refused"
    assert planner(store, chunk=2).step(run.id) == "planned"
    assert runs.require(run.id).total == 3
    assert len(set(snapshot(store, run.id))) == 3


def test_commands_that_die_after_the_plan_started_are_not_in_it(store):
    before = [dead(store, f"n{i}") for i in range(3)]
    runs = BulkRuns(store.client)
    run = runs.plan(SearchFilter(), action=RunAction.REPLAY, actor="ops", why="fixed")
    by_order = runs.plan(
        SearchFilter(order_id="O-late"), action=RunAction.REPLAY, actor="ops", why="fixed"
    )
    deadline = time.monotonic() + 5
    while redis_ms(store.client) <= run.created_ms + 1:  # the next Redis millisecond
        assert time.monotonic() < deadline
    assert planner(store, chunk=1).step(run.id) == "planning"
    late = dead(store, "late")  # dies while the plan is being filled
    again = snapshot(store, run.id)[0]  # in the snapshot, replayed elsewhere, dies again
    DeadLetters(store).replay(again, actor="x", why="y")
    claim = store.claim(again)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.DEAD, None, reason=DeadReason.REJECTED, message="again")
    while planner(store, chunk=1).step(run.id) == "planning":
        pass
    assert late not in snapshot(store, run.id)
    assert sorted(snapshot(store, run.id)) == sorted(before), "each once, the late one not"
    assert planner(store, chunk=1).step(by_order.id) == "planned"
    assert snapshot(store, by_order.id) == [], "the order's only dead letter died too late"


# --- the take ----------------------------------------------------------------------------


def test_two_drivers_together_keep_the_rate_and_take_each_id_once(store):
    rate_per_s = 200.0
    run_id, ids = planned_run(store, 300, rate_per_s=rate_per_s)
    first, second = BulkRuns(store.client), BulkRuns(store.client)
    started_ms = float(store.client.hget(keys.replay_run(run_id), "started_ms"))
    taken: list[str] = []
    by_driver = [0, 0]
    until = time.monotonic() + 0.6
    while time.monotonic() < until:  # both drive as fast as they can, taking turns
        for n, runs in enumerate((first, second)):
            got = runs.take(run_id, limit=1000).ids
            by_driver[n] += len(got)
            taken.extend(got)
    before_ms = int(redis_ms(store.client))  # whole ms, as the script reads Redis time
    taken.extend(first.take(run_id, limit=1000).ids)  # everything due by now, by either
    after_ms = redis_ms(store.client)

    def due_by(at_ms: float) -> int:  # one at the start, then one per 1/rate s
        return 1 + int(rate_per_s * (at_ms - started_ms) / 1000)

    assert due_by(before_ms) <= len(taken) <= due_by(after_ms), (len(taken), before_ms, after_ms)
    assert all(by_driver), "both drivers got a share"
    assert len(set(taken)) == len(taken), "no id handed out twice"
    assert set(taken) <= set(ids)


def test_drivers_finish_a_run_with_each_command_acted_on_once(store):
    run_id, ids = planned_run(store, 250, rate_per_s=1000)
    published = Published()
    search = Search(store.client, {"acme": "backd"})
    drivers = [RunDriver(store, search, published) for _ in range(2)]
    deadline = time.monotonic() + 10
    while BulkRuns(store.client).require(run_id).status is RunStatus.RUNNING:
        assert time.monotonic() < deadline
        for driver in drivers:
            driver.run_once()
    run = BulkRuns(store.client).require(run_id)
    assert (run.status, run.processed, run.results) == ("done", 250, {"discarded": 250})
    assert {store.client.hget(keys.command(i), "state") for i in ids} == {"discarded"}
    audited = [
        f["command_id"] for _, f in store.client.xrange(keys.audit()) if f["action"] == "discard"
    ]
    assert sorted(audited) == sorted(ids), "each discarded (and audited) exactly once"


def test_cancel_stops_every_driver_taking(store):
    run_id, _ = planned_run(store, 20, rate_per_s=1000)
    first, second = BulkRuns(store.client), BulkRuns(store.client)
    assert first.take(run_id, limit=1).ids
    assert second.cancel(run_id, actor="ops")
    assert (first.take(run_id, limit=50).status, second.take(run_id, limit=50).ids) == (
        "cancelled",
        [],
    )
    assert BulkRuns(store.client).require(run_id).left == 19
    assert BulkRuns(store.client).driven_ids() == []


def test_a_take_waits_for_the_rate_and_says_how_long(store):
    run_id, _ = planned_run(store, 5, rate_per_s=2)
    runs = BulkRuns(store.client)
    assert len(runs.take(run_id, limit=5).ids) == 1, "one at once"
    waiting = runs.take(run_id, limit=5)
    assert (waiting.status, waiting.ids) == ("wait", [])
    assert 0.3 < waiting.wait_s <= 0.5


# --- leases: a driver that dies or is slow --------------------------------------------------


def test_ids_taken_by_a_driver_that_died_go_to_another_once_the_lease_ends(store):
    run_id, ids = planned_run(store, 5, rate_per_s=1000, action=RunAction.REPLAY)
    lost = take_all(BulkRuns(store.client, lease_s=LEASE_S), run_id, 3)  # then it dies
    published = Published()
    driver = RunDriver(store, Search(store.client, {}), published, lease_s=LEASE_S)
    deadline = time.monotonic() + 5
    while len(published) < 2:
        assert time.monotonic() < deadline
        driver.run_once()
    assert sorted(published) == sorted(set(ids) - set(lost)), "leased ids are not handed twice"
    waiting = driver.runs.require(run_id)
    assert (waiting.status, waiting.in_flight, waiting.left) == ("running", 3, 0)
    run = drive_to_end(store, driver, run_id)
    assert (run.status, run.total, run.processed, run.in_flight) == ("done", 5, 5, 0)
    assert run.results == {"queued": 5}
    assert sorted(published) == sorted(ids), "each replayed once"
    assert audited(store, "replay") == sorted(ids)


def test_a_slow_driver_that_reports_after_its_lease_is_counted_once(store):
    run_id, ids = planned_run(store, 4, rate_per_s=1000)
    search = Search(store.client, {})
    slow, other = (RunDriver(store, search, Published(), lease_s=LEASE_S) for _ in range(2))
    run = slow.runs.require(run_id)
    acted, idle = take_all(slow.runs, run_id, 1), take_all(slow.runs, run_id, 1)
    # the first it acted on and reports late; the second it had not acted on by then
    DeadLetters(store).discard(acted[0], actor="ops", why="stale (bulk run)")
    past_lease(store, run_id, slow.runs.lease_ms)
    assert drive_to_end(store, other, run_id).results == {"discarded": 3, "skipped": 1}
    assert slow.act(run, idle) == {"skipped": 1}, "the other driver acted on it"
    assert slow.runs.report(run_id, dict.fromkeys(acted, "discarded")) == 0, "counted before"
    done = slow.runs.require(run_id)
    assert (done.status, done.processed, done.results) == ("done", 4, {"discarded": 4})
    assert audited(store, "discard") == sorted(ids), "each discarded once"


def test_a_command_acted_on_by_a_driver_that_died_is_not_acted_on_again(store):
    run_id, ids = planned_run(store, 2, rate_per_s=1000, action=RunAction.REPLAY)
    runs = BulkRuns(store.client, lease_s=LEASE_S)
    replayed = runs.take(run_id, limit=1).ids[0]
    DeadLetters(store).replay(replayed, actor="ops", why="fixed (bulk run)")  # then it dies
    claim = store.claim(replayed)  # the replayed command runs and dies again
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.DEAD, None, reason=DeadReason.REJECTED, message="again")
    past_lease(store, run_id, runs.lease_ms)
    published = Published()
    driver = RunDriver(store, Search(store.client, {}), published, lease_s=LEASE_S)
    run = drive_to_end(store, driver, run_id)
    assert (run.status, run.results) == ("done", {"queued": 1, "skipped": 1})
    assert published == [i for i in ids if i != replayed]
    assert audited(store, "replay") == sorted(ids), "each replayed once"


def test_cancel_hands_nothing_out_again_and_counts_what_was_in_flight(store):
    run_id, ids = planned_run(store, 5, rate_per_s=1000)
    runs = BulkRuns(store.client, lease_s=LEASE_S)
    run = runs.require(run_id)
    taken = take_all(runs, run_id, 2)
    assert runs.cancel(run_id, actor="ops")
    cancelled = runs.require(run_id)
    assert (cancelled.status, cancelled.left, cancelled.in_flight) == ("cancelled", 3, 2)
    past_lease(store, run_id, runs.lease_ms)
    assert (runs.take(run_id, limit=10).status, runs.take(run_id, limit=10).ids) == (
        "cancelled",
        [],
    )
    driver = RunDriver(store, Search(store.client, {}), Published(), lease_s=LEASE_S)
    assert driver.act(run, taken) == {"discarded": 2}  # its driver was still acting on them
    after = runs.require(run_id)
    assert (after.status, after.processed, after.in_flight) == ("cancelled", 2, 0)
    states = {i: store.client.hget(keys.command(i), "state") for i in ids}
    assert sorted(states.values()) == ["dead", "dead", "dead", "discarded", "discarded"]


# --- Redis Cluster: the run script touches one slot ---------------------------------------


def test_every_op_of_the_run_script_touches_keys_of_one_slot(store):
    calls: list[Call] = []
    runs = BulkRuns(store.client, lease_s=LEASE_S)
    runs.script = Recorder("replay_run", runs.script, store.client, calls)
    for i in range(3):
        dead(store, f"n{i}")
    run = runs.plan(SearchFilter(), action=RunAction.REPLAY, actor="ops", why="fixed")
    Planner(runs, Search(store.client, {}), chunk=2).step(run.id)
    cancelled = runs.plan(SearchFilter(), action=RunAction.REPLAY, actor="ops", why="no")
    runs.cancel(cancelled.id, actor="ops")
    while Planner(runs, Search(store.client, {}), chunk=2).step(run.id) == "planning":
        pass
    runs.start(run.id, actor="ops", rate_per_s=1000)
    first = runs.take(run.id, limit=1).ids  # its driver dies: the lease runs out
    past_lease(store, run.id, runs.lease_ms)
    deadline = time.monotonic() + 5
    while (taken := runs.take(run.id, limit=10)).status != "done":
        assert time.monotonic() < deadline, taken
        runs.report(run.id, dict.fromkeys(taken.ids, "skipped"))
    runs.report(run.id, dict.fromkeys(first, "queued"))  # late, after a take counted it
    assert len(calls) >= 8
    assert len({call.declared[0] for call in calls}) == 2, "two runs"
    touched = {k for c in calls for k in [*c.declared, *(c.written or set())]}
    assert {hash_slot(k) for k in touched} == {crc16(b"ordercmd") % SLOTS}, sorted(touched)
