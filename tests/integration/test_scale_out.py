"""Scaling out: four worker processes on RabbitMQ (the broker) and Redis (the store).

The main scenarios at once: cancels, updates and refunds at the three providers, lanes of two and
three commands per order, 5xx and lost replies on mutations, every command submitted twice, and
``kill -9`` of one worker while it holds deliveries. RabbitMQ requeues a killed worker's unacked
messages at once; the claim's live lease turns those redeliveries into no-ops until it runs out,
and the scheduler then re-sends each command, which reads the order before sending again.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
from celery import Celery

from config.settings import Settings
from producer import Producer
from schemas import CommandState
from store.command_store import Admitted, CommandStore
from tests.integration.harness import (
    WorkerProcess,
    mutations_per_key,
    replayed_mutations,
    settle_all,
    wait_for,
)
from worker.app import publisher

pytestmark = pytest.mark.integration

AMQP_HOST, AMQP_PORT = "127.0.0.1", 5672
DEFAULT_RABBITMQCTL = "/usr/sbin/rabbitmqctl"  # RABBITMQCTL overrides it
WORKERS, THREADS = 4, 4
ORDERS = 10  # per scenario below
# Faults on every provider's mutations: 6 % 5xx and 4 % applied-but-reply-lost; reads are clean.
FAULTS: dict[str, Any] = {
    "scope": "mutations",
    "error_rates": {"500": 0.03, "503": 0.03},
    "reply_lost_rate": 0.04,
    "latency_ms": 30,
    "jitter_ms": 40,
}
TASK_LINE = re.compile(r"Task ordercmd\.execute_command\[([0-9a-f]{32})\] (\w+)")


def rabbitmq_unavailable(reason: str) -> NoReturn:
    """Skip, or fail when ``CI`` is set: CI must always have a RabbitMQ."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def rabbitmqctl_path() -> str:
    return os.environ.get("RABBITMQCTL", DEFAULT_RABBITMQCTL)


def rabbitmqctl(*args: str) -> None:
    """Run ``rabbitmqctl ARGS``; a failure is a missing RabbitMQ."""
    try:
        done = subprocess.run(
            [rabbitmqctl_path(), *args], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        rabbitmq_unavailable(f"rabbitmqctl {args[0]}: {exc}")
    if done.returncode != 0:
        rabbitmq_unavailable(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip()[-500:]}")


@pytest.fixture(scope="module")
def amqp_url() -> Iterator[str]:
    """A private RabbitMQ vhost for this module (no queue shared with parallel tests)."""
    try:
        socket.create_connection((AMQP_HOST, AMQP_PORT), timeout=2).close()
    except OSError as exc:
        rabbitmq_unavailable(f"no RabbitMQ at {AMQP_HOST}:{AMQP_PORT}: {exc}")
    if shutil.which(rabbitmqctl_path()) is None:
        rabbitmq_unavailable(f"{rabbitmqctl_path()} not found (set RABBITMQCTL)")
    vhost = f"ordercmd-test-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{AMQP_HOST}:{AMQP_PORT}/{vhost}"
    finally:
        rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str], amqp_url: str) -> dict[str, str]:
    """RabbitMQ as the broker; rate limits out of the way (this is not a rate-limit test)."""
    env = ordercmd_env | {"ORDERCMD_BROKER_URL": amqp_url}
    for account in ("ACME", "STORE", "POD"):
        env |= {
            f"ORDERCMD_ACCOUNTS__{account}__RATE_PER_S": "500",
            f"ORDERCMD_ACCOUNTS__{account}__BURST": "100",
        }
    return env


@pytest.fixture
def producer(settings: Settings, store: CommandStore, amqp_url: str) -> Iterator[Producer]:
    """A producer publishing to RabbitMQ."""
    celery_app = Celery("ordercmd-test-producer", broker=amqp_url, set_as_current=False)
    yield Producer(settings, store, publisher(celery_app))
    celery_app.close()


@pytest.fixture
def start_logged_worker(
    ordercmd_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[], WorkerProcess]]:
    """Start thread-pool workers whose logs (Celery DEBUG) name each task received and ended."""
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        name = f"r{len(started) + 1}"
        worker = WorkerProcess(
            ordercmd_env, tmp_path / f"{name}.log", pool="threads", concurrency=THREADS, name=name
        )
        worker.argv[worker.argv.index("--loglevel=WARNING")] = "--loglevel=DEBUG"
        started.append(worker.start())
        return worker

    yield start
    for worker in started:
        worker.stop()
        print(f"--- {worker.log_path.name} ---\n{worker.log()[-3000:]}")


def wait_ready(broker_url: str, count: int) -> None:
    """Wait until ``count`` workers answer a ping over the broker (they consume)."""
    app = Celery("ordercmd-test-ping", broker=broker_url, set_as_current=False)
    try:
        wait_for(
            lambda: len(app.control.ping(timeout=0.5)) >= count,
            timeout_s=60,
            what=f"{count} workers to answer a ping",
        )
    finally:
        app.close()


def in_flight(worker: WorkerProcess) -> tuple[set[str], int]:
    """Task ids the worker received and has not ended, and how many it ended, per its log."""
    open_count: Counter[str] = Counter()
    ended = 0
    for task_id, event in TASK_LINE.findall(worker.log()):
        open_count[task_id] += 1 if event == "received" else -1
        ended += event != "received"
    return {task_id for task_id, n in open_count.items() if n > 0}, ended


@dataclass(frozen=True)
class Scenario:
    """Orders in one start state and the lane of commands each of them gets, in order."""

    provider: str
    account: str
    state: str
    lane: tuple[dict[str, Any], ...]
    operations: tuple[str, ...]  # the provider mutations the lane must make, in this order
    end_state: str


SCENARIOS = (
    Scenario(
        "backd",
        "acme",
        "order_placed",
        ({"kind": "update", "changes": {"merchant_order_status": "packing"}}, {"kind": "cancel"}),
        ("update", "cancel"),
        "order_cancelled",
    ),
    Scenario(
        "backd",
        "acme",
        "order_confirmed",
        ({"kind": "refund", "amount": "9.99"},),
        ("refund",),
        "order_confirmed",
    ),
    Scenario(
        "shoplazza",
        "store",
        "placed",
        (
            {"kind": "update", "changes": {"note": "leave at the door"}},
            {"kind": "refund", "amount": "5.00"},
            {"kind": "cancel", "reason": "customer asked"},
        ),
        ("update", "partial_refund", "cancel"),
        "cancelled",
    ),
    Scenario("shoplazza", "store", "placed", ({"kind": "cancel"},), ("cancel",), "cancelled"),
    Scenario(
        "fastpod",
        "pod",
        "draft",
        ({"kind": "update", "changes": {"gift_message": "Happy birthday"}}, {"kind": "refund"}),
        ("update", "cancel"),
        "cancelled",
    ),
    Scenario("fastpod", "pod", "new_order", ({"kind": "cancel"},), ("cancel",), "cancelled"),
)


def arrange(sandbox) -> tuple[list[list[dict[str, Any]]], dict[tuple[str, str], Scenario]]:
    """Orders in the sandbox and the commands to submit, in waves that keep each lane's order.

    Returns:
        The waves (wave n holds the n-th command of every lane) and each order's scenario, by
        ``(provider, order id)``.
    """
    waves: list[list[dict[str, Any]]] = [[], [], []]
    orders: dict[tuple[str, str], Scenario] = {}
    for scenario in SCENARIOS:
        for order_id in sandbox.admin.create_orders(scenario.provider, scenario.state, ORDERS):
            base = {"provider": scenario.provider, "account": scenario.account}
            for n, fields in enumerate(scenario.lane):
                waves[n].append(base | {"order_id": order_id} | fields)
            orders[scenario.provider, order_id] = scenario
    return waves, orders


@pytest.mark.timeout(240)
def test_four_workers_on_rabbitmq_lose_and_duplicate_nothing_through_a_kill_9(
    sandbox, store, producer, start_logged_worker, amqp_url
):
    # Given: faults on every provider's mutations, four workers (4 threads each) on RabbitMQ
    sandbox.admin.update_settings(shoplazza_bucket_size=100_000, shoplazza_leak_per_s=100_000.0)
    waves, orders = arrange(sandbox)
    sandbox.admin.set_faults(**FAULTS)
    workers = [start_logged_worker() for _ in range(WORKERS)]
    wait_ready(amqp_url, WORKERS)
    # When: the first command of every lane goes in; one worker is killed while it holds
    # deliveries; then the lanes' later commands go in, and every command is submitted again
    first = producer.submit_many(waves[0])
    victim = workers[1]

    def victim_busy() -> set[str]:
        held, ended = in_flight(victim)
        return held if ended >= 3 else set()

    held = wait_for(victim_busy, timeout_s=60, what="the victim worker to hold deliveries")
    victim.kill9()
    later = producer.submit_many(waves[1]) + producer.submit_many(waves[2])
    again = [s for wave in waves for s in producer.submit_many(wave)]
    submitted = [s.command_id for s in first + later]

    # Then: every command ends done, with one provider mutation each, in lane order
    records = settle_all(store.client, submitted, timeout_s=120)
    states = Counter(str(r.state) for r in records.values())
    per_key = mutations_per_key(sandbox.admin.mutations())
    keys_of = {i: r.envelope.idempotency_key for i, r in records.items()}
    duplicates = sum(1 for i in submitted if per_key.get(keys_of[i], 0) > 1)
    unapplied = sum(1 for i in submitted if per_key.get(keys_of[i], 0) == 0)
    replays = replayed_mutations(sandbox.admin.requests())
    survivors = [w for w in workers if w is not victim]
    received = set().union(*(set(TASK_LINE.findall(w.log())) for w in survivors))
    redelivered = {i for i in held if (i, "received") in received}
    figure = (
        f"{len(submitted)} commands on RabbitMQ, {WORKERS} workers x {THREADS} threads, "
        f"kill -9 of one holding {len(held)} deliveries ({len(redelivered)} received again by "
        f"the others): 0 lost, {duplicates} duplicate and "
        f"{unapplied} missing provider mutations; states {dict(states)}; {replays} re-sends "
        f"absorbed by the sandbox's Idempotency-Key cache; {len(again)} resubmissions"
    )
    print(figure)
    dead = [f"{r.dead_reason}: {r.last_message}" for r in records.values() if r.dead_reason]
    figure += f"; dead: {dead}" if dead else ""
    assert duplicates == 0, figure
    assert unapplied == 0, figure
    assert replays == 0, figure
    assert redelivered == held, f"RabbitMQ requeues a killed worker's unacked messages; {figure}"
    assert set(states) <= {CommandState.SUCCEEDED, CommandState.ALREADY_DONE}, figure
    assert not store.client.keys("_kombu*"), "the broker was RabbitMQ, not the store's Redis"
    assert {s.admitted for s in again} == {Admitted.EXISTING}
    assert [s.command_id for s in again] == [s.command_id for s in first + later]
    applied: dict[str, list[str]] = {}
    for mutation in sandbox.admin.mutations():  # in the order the sandbox applied them
        applied.setdefault(mutation["order_id"], []).append(mutation["operation"])
    finals = {(o["provider"], o["order_id"]): o["state"] for o in sandbox.admin.orders()}
    for (provider, order_id), scenario in orders.items():
        assert tuple(applied.get(order_id, [])) == scenario.operations, (provider, order_id)
        assert finals[provider, order_id] == scenario.end_state, (provider, order_id)
