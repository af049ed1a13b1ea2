"""Fault suite: ``kill -9`` of whole workers while their provider calls are in flight, 100 times."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from schemas import CommandState
from store import keys
from tests.integration.harness import (
    WorkerProcess,
    mutations_per_key,
    order_command,
    replayed_mutations,
    retry_budget,
    roomy,
    running_claims,
    settle_all,
    unthrottled,
)

pytestmark = pytest.mark.integration

KILLS = 100
FLEET = 6  # workers alive at once: most boot (Celery takes ~2 s) while others wait to be killed
# A killed claim is retaken when its lease ends. The lease must leave 3 account timeouts
# (0.8 s) for the mutation after up to two slow reads (2 x 0.35 s): see
# test_faults_provider.py::test_a_slow_read_before_send_does_not_stall_the_command.
LEASE_S = 4.0
LATENCY_MS, JITTER_MS = 250, 100  # every provider request (read or mutation) takes this long
# A claim this old (ms) has sent its first provider request (a few ms after the claim) and is
# still waiting for the reply (every request takes LATENCY_MS at least).
IN_FLIGHT_AGE_MS = (40, LATENCY_MS - 40)
BACKLOG = 40  # keep at least this many commands unfinished while killing
ORDERS_PER_BATCH = 40  # orders created at a time, per provider
DONE = {CommandState.SUCCEEDED, CommandState.ALREADY_DONE}
TASK_LINE = re.compile(r"Task ordercmd\.execute_command\[([0-9a-f]{32})\] (\w+)")


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    """Short lease and account timeouts, quick re-dispatch, no rate limits, 8 attempts."""
    timeouts = {f"ACCOUNTS__{a}__TIMEOUT_S": "0.8" for a in ("ACME", "STORE", "POD")}
    budget = retry_budget(max_attempts=8, base_s=0.05, cap_s=0.5)
    return unthrottled(
        ordercmd_env, LEASE_S=str(LEASE_S), DISPATCH_GUARD_S="3", **timeouts, **budget
    )


@pytest.fixture
def start_logged_worker(
    ordercmd_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[], WorkerProcess]]:
    """Start prefork workers whose logs (Celery DEBUG) name each task they receive and end."""
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        name = f"k{len(started) + 1}"
        worker = WorkerProcess(
            ordercmd_env, tmp_path / f"{name}.log", pool="prefork", concurrency=2, name=name
        )
        worker.argv[worker.argv.index("--loglevel=WARNING")] = "--loglevel=DEBUG"
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        if worker.process is not None and worker.process.poll() is None:
            worker.kill9()  # the test is over: no need to wait for warm shutdowns
    for worker in started[-FLEET:]:
        print(f"--- {worker.log_path.name} ---\n{worker.log()[-3000:]}")


def in_flight_tasks(worker: WorkerProcess) -> set[str]:
    """Task ids the worker received and has not ended, according to its log."""
    open_count: Counter[str] = Counter()
    for task_id, event in TASK_LINE.findall(worker.log()):
        open_count[task_id] += 1 if event == "received" else -1
    return {task_id for task_id, n in open_count.items() if n > 0}


def command_stream(sandbox) -> Iterator[dict[str, str]]:
    """Refunds at Backd and Shoplazza and cancels at FastPOD, one per new order, round robin."""
    while True:
        backd = sandbox.admin.create_orders("backd", "order_confirmed", ORDERS_PER_BATCH)
        shop = sandbox.admin.create_orders("shoplazza", "placed", ORDERS_PER_BATCH)
        pod = sandbox.admin.create_orders("fastpod", "new_order", ORDERS_PER_BATCH)
        for b, s, p in zip(backd, shop, pod, strict=True):
            yield order_command("backd", "refund", b, amount="9.99")
            yield order_command("shoplazza", "refund", s, amount="5.00")
            yield order_command("fastpod", "cancel", p)


def kill_one_calling(fleet: list[WorkerProcess], calling: set[str], hit: set[str]) -> set[str]:
    """``kill -9`` the first worker caught calling the provider; return what it was calling.

    A worker holding a command an earlier kill interrupted is spared, so each command is cut
    at most once (five cuts in a row would rightly dead-letter it as poison). The killed
    worker leaves ``fleet``; everything it had in hand joins ``hit``.
    """
    for worker in fleet:
        in_flight = in_flight_tasks(worker)
        victims = in_flight & calling
        if victims and not in_flight & hit:
            worker.kill9()
            fleet.remove(worker)
            hit |= in_flight
            return victims
    return set()


def backlog(client) -> int:
    """Commands queued, running or waiting for a retry (one command per order: no lanes)."""
    pipe = client.pipeline(transaction=False)
    for key in (keys.dispatch(), keys.running(), keys.schedule()):
        pipe.zcard(key)
    return sum(pipe.execute())


@pytest.mark.timeout(300)
def test_kill_9_mid_provider_call_100_times_loses_and_duplicates_nothing(
    sandbox, store, producer, start_logged_worker
):
    roomy(sandbox)
    sandbox.admin.set_faults(latency_ms=LATENCY_MS, jitter_ms=JITTER_MS)
    stream = command_stream(sandbox)
    fleet = [start_logged_worker() for _ in range(FLEET)]
    submitted: list[str] = []
    cut: list[set[str]] = []  # per kill: the commands whose provider call it interrupted
    hit: set[str] = set()  # every command a killed worker had in hand
    started = time.monotonic()
    while len(cut) < KILLS:
        assert time.monotonic() - started < 200, f"only {len(cut)} kills landed in 200 s"
        if backlog(store.client) < BACKLOG:
            batch = [next(stream) for _ in range(24)]
            submitted += [s.command_id for s in producer.submit_many(batch)]
        claims = running_claims(store.client)
        low, high = IN_FLIGHT_AGE_MS
        calling = {i for i, left in claims.items() if low <= LEASE_S * 1000 - left <= high}
        victims = kill_one_calling(fleet, calling, hit)
        if victims:
            cut.append(victims)
            fleet.append(start_logged_worker())
        else:
            time.sleep(0.02)
    kill_s = time.monotonic() - started

    records = settle_all(store.client, submitted, timeout_s=90)
    per_key = mutations_per_key(sandbox.admin.mutations())
    applied = {i: per_key.get(r.envelope.idempotency_key, 0) for i, r in records.items()}
    done = [i for i, r in records.items() if r.state in DONE]
    dead = {i: f"{r.dead_reason}: {r.last_message}" for i, r in records.items() if i not in done}
    duplicates = sum(1 for n in applied.values() if n > 1)
    missing = sum(1 for i in done if applied[i] == 0)
    replays = replayed_mutations(sandbox.admin.requests())
    states = Counter(str(r.state) for r in records.values())
    figure = (
        f"kill -9 x{len(cut)} in {kill_s:.0f} s, each during a provider call "
        f"({sum(map(len, cut))} calls cut): 0 lost, {duplicates} duplicate provider mutations "
        f"over {len(submitted)} commands (states {dict(states)}; {missing} done but not "
        f"applied; dead: {sorted(dead.values())[:3]}); {replays} re-sends absorbed by the "
        "sandbox's Idempotency-Key cache"
    )
    print(figure)
    assert duplicates == 0, figure
    assert missing == 0, figure
    assert replays == 0, figure
