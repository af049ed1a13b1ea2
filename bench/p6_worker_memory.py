"""P6: worker memory: RSS growth over many commands, and the cost of parked retries.

Part 1: one worker (threads, concurrency 8) runs Backd cancels for 60 s, then the bare
task's worker does the same (the baseline: Celery's and httpx's own growth). RSS is read
after start-up, after a 500-command warm-up and every 1,000 commands. Growth is measured
from the warm-up (imports, connections and caches are built lazily by the first commands)
and extrapolated linearly to 100,000 commands, as fewer fit in the time.
Part 2: 100,000 retrying commands are parked in the schedule (due in a day) straight in
Redis; the idle worker's RSS over the 10 s after is compared with its drift over the 10 s
before. Targets: < 5% growth per 100,000 commands; parked retries cost no memory.
"""

from __future__ import annotations

import argparse
import time

from bench.report import header, table, verdict
from bench.runs import command, ordercmd_producer, send_bare, settings_env, submit_all, succeeded
from bench.stage import Stage, Workers, apply_env, rss_kib, stage, wait_until
from config.settings import Settings
from store import keys

RUN_S = 60.0
WARM_UP = 500
CHECKPOINT = 1000
FEED = 2000  # commands submitted at a time, keeping the queue from running dry
PARKED = 100_000
TARGET_GROWTH = 0.05


def run_commands(
    bench: Stage, system: str, settings: Settings, workers: Workers, run_s: float
) -> list[tuple[int, int]]:
    """Feed cancels for ``run_s`` seconds; ``(commands done, RSS KiB)`` at each checkpoint."""
    producer = ordercmd_producer(settings) if system == "ordercmd" else None
    pid = workers.pids()[0]
    points = [(0, rss_kib(pid))]
    sent = 0

    def feed(n: int) -> None:
        nonlocal sent
        orders = bench.sandbox.admin.create_orders("backd", "order_placed", n)
        if producer is None:
            send_bare(orders)
        else:
            submit_all(producer, [command("backd", "cancel", o) for o in orders])
        sent += n

    def done() -> int:
        return succeeded(settings) if producer is not None else bench.mutations()

    feed(WARM_UP)
    wait_until(lambda: done() >= WARM_UP, timeout_s=120, what="warm-up", workers=workers)
    points.append((WARM_UP, rss_kib(pid)))
    started, next_mark = time.monotonic(), WARM_UP + CHECKPOINT
    while time.monotonic() - started < run_s:
        finished = done()
        if sent - finished < FEED // 2:
            feed(FEED)
        if finished >= next_mark:
            points.append((finished, rss_kib(pid)))
            next_mark += CHECKPOINT
        time.sleep(0.1)
    if producer is not None:
        producer.store.client.close()
    return points


def park_retries(client, n: int) -> None:  # type: ignore[no-untyped-def]
    """Write ``n`` retrying commands due in a day, as ``retry.lua`` leaves them."""
    now_ms = int(time.time() * 1000)
    due = now_ms + 86_400_000
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        command_id = f"parked{i:08d}"
        pipe.hset(
            keys.command(command_id),
            mapping={
                "id": command_id,
                "envelope": "{}",
                "state": "retrying",
                "lane": f"backd:acme:P-{i:08d}",
                "created_ms": now_ms,
                "updated_ms": now_ms,
                "next_ms": due,
                "attempts_n": 1,
                "deliveries": 0,
            },
        )
        pipe.zadd(keys.schedule(), {command_id: due})
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def parked_cost(bench: Stage, workers: Workers) -> tuple[int, int, int]:
    """RSS (KiB) 10 s before, at, and 10 s after parking ``PARKED`` retries."""
    from bench.stage import redis_of

    pid = workers.pids()[0]
    before = rss_kib(pid)
    time.sleep(10)
    at = rss_kib(pid)
    client = redis_of(bench.redis)
    park_retries(client, PARKED)
    assert client.zcard(keys.schedule()) >= PARKED
    client.close()
    time.sleep(10)  # twenty scheduler ticks over the parked set
    return before, at, rss_kib(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-s", type=float, default=RUN_S, help="seconds of commands each")
    run_s = parser.parse_args().run_s
    header(
        "P6 worker memory (RSS of the worker process, threads pool, concurrency 8)",
        f"part 1: Backd cancels for {run_s:.0f} s each, ordercmd then the bare task (baseline); "
        f"part 2: {PARKED:,} parked retries; targets: < {TARGET_GROWTH:.0%} growth per 100,000 "
        "commands, parked retries cost nothing",
    )
    curves = {}
    with stage("p6") as bench:
        settings = apply_env(bench.env())
        for system in ("ordercmd", "bare"):
            bench.reset()
            log = bench.directory / f"p6-{system}.log"
            workers = Workers(system, settings_env(), log, pool="threads", concurrency=8)
            workers.start()
            try:
                time.sleep(8)  # start-up: imports, connections, consumer ready
                curves[system] = run_commands(bench, system, settings, workers, run_s)
                if system == "ordercmd":
                    parked = parked_cost(bench, workers)
            finally:
                workers.stop()
    report(curves, parked)


def growth(points: list[tuple[int, int]]) -> tuple[float, float]:
    """``(growth measured from the warm-up, growth per 100,000 commands)``.

    The rate per command is the slope over the second half of the run (steady state, past
    the allocator's and the caches' settling), extrapolated linearly.
    """
    (n0, r0), (n1, r1) = points[1], points[-1]
    nh, rh = points[1 + (len(points) - 1) // 2]
    slope = (r1 - rh) / max(1, n1 - nh) if n1 > nh else (r1 - r0) / max(1, n1 - n0)
    return (r1 - r0) / r0, slope * 100_000 / r0


def report(curves: dict[str, list[tuple[int, int]]], parked: tuple[int, int, int]) -> None:
    rows = []
    for system, points in curves.items():
        measured, per_100k = growth(points)
        rows.append(
            [
                system,
                points[0][1] / 1024,
                points[1][1] / 1024,
                f"{points[-1][0]:,}",
                points[-1][1] / 1024,
                f"{measured:+.1%}",
                f"{per_100k:+.1%}",
            ]
        )
    print(
        table(
            ["worker", "start MiB", "warm MiB", "commands", "end MiB", "growth", "per 100k"], rows
        )
    )
    ours, bare = (growth(curves[s])[1] for s in ("ordercmd", "bare"))
    print(
        f"growth per 100,000 commands (second-half slope, extrapolated): ordercmd "
        f"{ours:+.1%}, bare task {bare:+.1%}; ordercmd's own {ours - bare:+.1%}  "
        f"{verdict(ours < TARGET_GROWTH)}"
    )
    print(
        "ordercmd RSS MiB by commands done: "
        + ", ".join(f"{n:,}: {kib / 1024:.1f}" for n, kib in curves["ordercmd"][::3])
    )
    before, at, after = parked
    drift, cost = at - before, after - at
    print(
        f"parked retries: idle drift over 10 s {drift:+,} KiB, over the 10 s after parking "
        f"{PARKED:,}: {cost:+,} KiB ({cost * 1024 / PARKED:+.1f} bytes each)  "
        f"{verdict(cost - drift < 1024)}"
    )


if __name__ == "__main__":
    main()
