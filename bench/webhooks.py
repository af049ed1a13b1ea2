"""Webhooks: delivery latency at 100 outcomes/s, and P1 throughput with webhooks on vs off.

Latency is from the moment the script that ended a command wrote its outcome event (Redis time)
to the moment a receiver on loopback (a process of its own: ``bench.receiver_process``) got the
signed delivery, for commands submitted at a steady 100/s to one worker. P1 with webhooks on
drains the same pre-loaded cancels as P1 with one subscription to every final outcome, against
the same worker with none; rounds alternate.
Targets: p99 < 1 s; throughput on >= 0.95x of off.
"""

from __future__ import annotations

import json
import statistics
import time

from bench.receiver_process import RemoteReceiver
from bench.report import header, table, verdict
from bench.runs import drain, ordercmd_producer
from bench.stage import Stage, Workers, apply_env, stage, wait_until
from config.settings import Settings
from store.webhooks.subscriptions import Subscriptions
from tests.integration.harness import order_command

RATE_PER_S = 100
SECONDS = 20
P99_TARGET_S = 1.0
OVERHEAD_TARGET = 0.95
P1_N = 600
P1_ROUNDS = 3
FINALS = ["succeeded", "already_done", "dead", "discarded"]


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def latency(bench: Stage, settings: Settings) -> list[float]:
    """Seconds from each final event to its arrival, commands submitted at ``RATE_PER_S``."""
    bench.reset()
    receiver = RemoteReceiver().start()
    producer = ordercmd_producer(settings)
    Subscriptions(producer.store.client, settings).create(receiver.url, FINALS)
    n = RATE_PER_S * SECONDS
    orders = bench.sandbox.admin.create_orders("fastpod", "new_order", n)
    log = bench.directory / "webhooks-latency.log"
    workers = Workers("ordercmd", settings_env(), log, pool="threads", concurrency=8).start()
    try:
        time.sleep(3)  # the worker connects; its pump starts
        started = time.monotonic()
        for index, order in enumerate(orders):
            time.sleep(max(0.0, started + index / RATE_PER_S - time.monotonic()))
            producer.submit(order_command("fastpod", "cancel", order))
        wait_until(lambda: receiver.count() >= n, timeout_s=120, what="deliveries",
                   workers=workers)  # fmt: skip
        arrivals = receiver.arrivals()
    finally:
        workers.stop()
        receiver.stop()
        producer.store.client.close()
    return [at_s - json.loads(body)["data"]["at_ms"] / 1000 for at_s, body in arrivals]


def throughput(bench: Stage, settings: Settings, *, hooks: bool) -> tuple[float, int]:
    """P1's drain of ``P1_N`` Backd cancels at 50 ms latency, with a subscription or not.

    Returns:
        Commands/s, and how many deliveries had arrived when the last command was recorded.
    """
    bench.reset(latency_ms=50)
    receiver = RemoteReceiver().start()
    if hooks:
        producer = ordercmd_producer(settings)
        Subscriptions(producer.store.client, settings).create(receiver.url, FINALS)
        producer.store.client.close()
    try:
        run = drain(bench, "ordercmd", settings, pool="threads", concurrency=8, n=P1_N)
        arrived = receiver.count()
    finally:
        receiver.stop()
    return run.rate_per_s, arrived


def settings_env() -> dict[str, str]:
    """This process's ``ORDERCMD_*`` variables."""
    from bench.runs import settings_env as env

    return env()


def main() -> None:
    header(
        "Webhooks: delivery latency and P1 overhead",
        f"one worker (threads, 8); latency at {RATE_PER_S} outcomes/s for {SECONDS} s; "
        f"P1 ({P1_N} Backd cancels, 50 ms) with webhooks on vs off, {P1_ROUNDS} rounds each",
    )
    with stage("webhooks") as bench:
        settings = apply_env(bench.env())
        seconds = latency(bench, settings)
        p50, p99 = percentile(seconds, 0.5), percentile(seconds, 0.99)
        print(f"latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms", flush=True)
        rates: dict[bool, list[float]] = {True: [], False: []}
        delivered: list[int] = []
        for _ in range(P1_ROUNDS):
            for hooks in (False, True):
                rate, arrived = throughput(bench, settings, hooks=hooks)
                rates[hooks].append(rate)
                delivered += [arrived] if hooks else []
    on, off = statistics.mean(rates[True]), statistics.mean(rates[False])
    rows = [
        ["latency p50", f"{p50 * 1000:.0f} ms", "", ""],
        ["latency p99", f"{p99 * 1000:.0f} ms", f"< {P99_TARGET_S * 1000:.0f} ms",
         verdict(p99 < P99_TARGET_S)],
        ["P1 on / off", f"{on:.1f} / {off:.1f} /s = {on / off:.2f}x",
         f">= {OVERHEAD_TARGET}x", verdict(on / off >= OVERHEAD_TARGET)],
    ]  # fmt: skip
    print(table(["measure", "value", "target", ""], rows))
    print(f"{len(seconds)} deliveries timed; P1 rounds on {rates[True]}, off {rates[False]};")
    print(f"deliveries arrived by the last command's record (of {P1_N}): {delivered}")


if __name__ == "__main__":
    main()
