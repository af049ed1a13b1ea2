"""One benchmark run: pre-load N cancels (ordercmd or bare), start workers, time the drain."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from celery import Celery

from bench.report import steady_rate
from bench.stage import ACCOUNTS, Stage, Workers, redis_of, wait_until
from config.settings import Settings
from producer import Producer, Submission
from store import keys
from worker.app import build_store, celery_config, publisher

CHUNK = 500  # commands per submit_many call


@dataclass(frozen=True)
class Drain:
    """What one drain run measured."""

    system: str
    commands: int
    rate_per_s: float  # steady rate: provider mutations/s between the 10% and 90% marks
    seconds: float  # from worker start to the last command recorded
    worker_cpu_ms: float  # worker CPU per command between the 10% and 90% marks
    redis_cpu_ms: float  # redis-server CPU per command between the same marks


def ordercmd_producer(settings: Settings) -> Producer:
    """A producer on the stage's store and broker, with ordercmd's own Celery settings."""
    app = Celery("ordercmd-bench-producer", set_as_current=False)
    app.conf.update(celery_config(settings))
    return Producer(settings, build_store(settings), publisher(app))


def command(provider: str, kind: str, order_id: str, **extra: Any) -> dict[str, Any]:
    """A command as a producer submits it."""
    account = ACCOUNTS[provider]
    return {"kind": kind, "provider": provider, "account": account, "order_id": order_id} | extra


def submit_all(
    producer: Producer, commands: Sequence[dict[str, Any]], *, source: str = "api"
) -> list[Submission]:
    """Submit ``commands`` with ``submit_many``, ``CHUNK`` at a time.

    A ``bulk:<batch>`` source admits them to the outbox: a worker's scheduler sends them.
    """
    done: list[Submission] = []
    for start in range(0, len(commands), CHUNK):
        done += producer.submit_many(commands[start : start + CHUNK], source=source)
    return done


def send_bare(order_ids: Sequence[str]) -> None:
    """One ``delay()`` of the bare task per order."""
    from bench.bare_app import bare_cancel

    for order_id in order_ids:
        bare_cancel.delay(order_id, uuid.uuid4().hex)


def succeeded(settings: Settings, provider: str = "backd", kind: str = "cancel") -> int:
    """How many commands of one provider and kind the store recorded as succeeded."""
    client = build_store(settings).client
    try:
        return int(client.hget(keys.stats(), f"done|{provider}|{kind}|succeeded") or 0)
    finally:
        client.close()


def preload(stage: Stage, system: str, settings: Settings, n: int) -> None:
    """Create ``n`` cancellable Backd orders and queue one cancel per order (no worker yet)."""
    order_ids = stage.sandbox.admin.create_orders("backd", "order_placed", n)
    if system == "ordercmd":
        producer = ordercmd_producer(settings)
        submit_all(producer, [command("backd", "cancel", o) for o in order_ids])
        producer.store.client.close()
    else:
        send_bare(order_ids)


def drain(
    stage: Stage, system: str, settings: Settings, *, pool: str, concurrency: int, n: int
) -> Drain:
    """Pre-load ``n`` cancels, start one worker, wait until all are done, stop it."""
    preload(stage, system, settings, n)
    log = stage.directory / f"{system}-{pool}-{uuid.uuid4().hex[:6]}.log"
    workers = Workers(system, settings_env(), log, pool=pool, concurrency=concurrency).start()
    client = redis_of(stage.redis)
    marks: list[tuple[float, float]] = []  # (worker CPU s, redis CPU s) at 10% and 90%

    def progress() -> bool:
        done = stage.mutations()
        if len(marks) < 2 and done >= n * (0.1 if not marks else 0.9):
            info = client.info("cpu")
            marks.append((workers.cpu_s(), info["used_cpu_user"] + info["used_cpu_sys"]))
        return done >= n

    try:
        seconds = wait_until(progress, timeout_s=300, what=f"{n} cancels", workers=workers)
        if system == "ordercmd":
            seconds += wait_until(
                lambda: succeeded(settings) >= n, timeout_s=60, what="records", workers=workers
            )
    finally:
        workers.stop()
        client.close()
    counted = n * 0.8
    (worker0, redis0), (worker1, redis1) = marks
    return Drain(
        system,
        n,
        steady_rate(stage.mutation_times()),
        seconds,
        (worker1 - worker0) * 1000 / counted,
        (redis1 - redis0) * 1000 / counted,
    )


def settings_env() -> dict[str, str]:
    """This process's ``ORDERCMD_*`` variables (set by ``stage.apply_env``)."""
    return {k: v for k, v in os.environ.items() if k.startswith("ORDERCMD_")}
