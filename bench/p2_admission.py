"""P2: admission rate of ``Producer.submit_many`` against a ``delay()`` loop of the bare task.

No worker runs. Two ordercmd figures: live ``submit_many`` (admits each command into the store
and publishes its message at once) and bulk ``submit_many`` (a ``bulk:`` source: admitted to the
outbox, the workers' schedulers publish later). Each round starts from an empty Redis and runs
the three back to back, in an order that turns from round to round; a ratio is the median of the
rounds' ratios (each of two runs seconds apart), rates are medians of the rounds. Target:
submit_many >= 10x the delay() loop.

Each round also measures CPU per command: this process's and redis-server's. On a machine
other work shares, the rates swing with the load; the CPU spent per command moves much less.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from typing import NamedTuple

import redis

from bench.report import header, table, verdict
from bench.runs import command, ordercmd_producer, submit_all
from bench.stage import apply_env, redis_of, stage

N = 5000
ROUNDS = 7
TARGET = 10.0
LIVE = "api"


class Round(NamedTuple):
    """One round of one producer: commands/s, and CPU us per command (this process, Redis)."""

    rate: float
    cpu_us: float
    redis_cpu_us: float


def measured(client: redis.Redis, n: int, run: Callable[[], object]) -> Round:
    """Run ``run`` (``n`` commands) and measure it."""

    def redis_cpu() -> float:
        info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    redis0, cpu0, started = redis_cpu(), time.process_time(), time.perf_counter()
    run()
    seconds, cpu, redis1 = time.perf_counter() - started, time.process_time(), redis_cpu()
    return Round(n / seconds, (cpu - cpu0) * 1e6 / n, (redis1 - redis0) * 1e6 / n)


def admit_rate(producer, client: redis.Redis, n: int, source: str) -> Round:  # type: ignore[no-untyped-def]
    commands = [command("backd", "cancel", f"BO-{uuid.uuid4().hex[:12]}") for _ in range(n)]
    return measured(client, n, lambda: submit_all(producer, commands, source=source))


def delay_rate(client: redis.Redis, n: int) -> Round:
    from bench.bare_app import bare_cancel

    order_ids = [f"BO-{uuid.uuid4().hex[:12]}" for _ in range(n)]

    def send() -> None:
        for order_id in order_ids:
            bare_cancel.delay(order_id, uuid.uuid4().hex)

    return measured(client, n, send)


def main() -> None:
    header(
        "P2 admission: submit_many (live, bulk outbox) vs delay() loop (commands/s, higher is "
        "better)",
        f"{N} Backd cancels per round (submit_many in chunks of 500), {ROUNDS} rounds from an "
        f"empty Redis, median of round ratios; same Redis (AOF on); target >= {TARGET:.0f}x",
    )
    bulk = f"bulk:p2-{uuid.uuid4().hex[:8]}"
    with stage("p2") as bench:
        settings = apply_env(bench.env())
        producer = ordercmd_producer(settings)
        client = redis_of(bench.redis)
        admit_rate(producer, client, 200, LIVE)  # warm-up: scripts loaded, connections open
        delay_rate(client, 200)
        live: list[Round] = []
        outbox: list[Round] = []
        bare: list[Round] = []
        producers: list[Callable[[], None]] = [
            lambda: live.append(admit_rate(producer, client, N, LIVE)),
            lambda: outbox.append(admit_rate(producer, client, N, bulk)),
            lambda: bare.append(delay_rate(client, N)),
        ]
        for round_number in range(ROUNDS):
            bench.reset()
            turn = round_number % len(producers)
            for run in producers[turn:] + producers[:turn]:
                run()
    rounds = " / ".join(
        f"{a.rate:,.0f}, {b.rate:,.0f} vs {c.rate:,.0f}"
        for a, b, c in zip(live, outbox, bare, strict=True)
    )
    print(f"rounds (live, bulk submit_many vs delay): {rounds}")
    systems = [
        ("ordercmd submit_many, live (publish now)", live),
        ("ordercmd submit_many, bulk (outbox)", outbox),
        ("bare delay()", bare),
    ]
    print(
        table(
            ["producer", "commands/s", "cpu us", "redis cpu us"],
            [
                [
                    name,
                    statistics.median(r.rate for r in runs),
                    statistics.median(r.cpu_us for r in runs),
                    statistics.median(r.redis_cpu_us for r in runs),
                ]
                for name, runs in systems
            ],
        )
    )
    bare_cpu = statistics.median(r.cpu_us + r.redis_cpu_us for r in bare)
    for name, ours in (("live", live), ("bulk", outbox)):
        ratio = statistics.median(o.rate / b.rate for o, b in zip(ours, bare, strict=True))
        cpu = statistics.median(r.cpu_us + r.redis_cpu_us for r in ours)
        print(
            f"{name}: ratio {ratio:.2f}x  {verdict(ratio >= TARGET)}"
            f"  (cpu ratio {bare_cpu / cpu:.2f}x: bare's CPU per command, producer + Redis, "
            "over ordercmd's)"
        )


if __name__ == "__main__":
    main()
