"""P8: live first under rate limits: live latency beside bulk, fairness across stores, bulk rate.

Shoplazza stores at their default limit (2/s, burst 4), the sandbox answering in 50 ms, real
worker processes (2 x 4 threads), production settings otherwise (scheduler tick 0.5 s).
(a) live cancels one after another while a 10,000-command bulk batch runs for the same store:
    p50/p99 submit -> succeeded, against the same live cancels with no batch (baseline);
(b) 20 stores, 20,000 bulk rows for one admitted ahead of 20 for each of the others in one
    batch: the light stores' time against the same light rows alone (baseline) and the ideal;
    provider 429s; the busiest second of any store;
(c) the batch alone afterwards: mutations/s against the limit;
(d) Redis commands (all, inside Lua too) and parks per bulk command in (c), against the same
    commands submitted live, which take today's path for bulk (each claimed and parked holding
    a reserved slot).
"""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from bench.redis_stats import delta, snapshot
from bench.report import header, percentile, table, verdict
from bench.runs import ordercmd_producer, settings_env, submit_all
from bench.stage import Stage, Workers, apply_env, redis_of, stage, wait_until
from config.settings import Settings
from producer import Producer
from sandbox import DEFAULT_SHOPLAZZA_TOKEN
from schemas import Provider
from store import keys
from store.records import read_record

LIMIT_PER_S, BURST = 2.0, 4
WORKERS, THREADS = 2, 4
LATENCY_MS = 50.0
BULK_A = 10_000
LIVE_N = 20
HEAVY_B, LIGHT_B, STORES_B = 20_000, 20, 20
WINDOW_C_S = 30.0
DRAIN_D = 60  # cancels drained in (d): 30 s at the limit
IDEAL_LIGHT_S = LIGHT_B / LIMIT_PER_S  # 10 s at the limit


def stores_env(bench: Stage, count: int) -> dict[str, str]:
    """``count`` Shoplazza stores ``s00``... at the default limit, beside the stage's accounts."""
    env = bench.env(throttle_shoplazza=True)
    for i in range(count):
        prefix = f"ORDERCMD_ACCOUNTS__S{i:02d}__"
        env |= {
            prefix + "PROVIDER": "shoplazza",
            prefix + "BASE_URL": bench.sandbox.shoplazza_url(f"s{i:02d}"),
            prefix + "ACCESS_TOKEN": DEFAULT_SHOPLAZZA_TOKEN,
            prefix + "TIMEOUT_S": "10",
        }
    return env


def cancel(account: str, order_id: str) -> dict[str, str]:
    return {"kind": "cancel", "provider": "shoplazza", "account": account, "order_id": order_id}


def start_workers(bench: Stage, tag: str) -> list[Workers]:
    """Start the workers and wait until each one's scheduler ticks (they consume by then)."""
    workers = [
        Workers(
            "ordercmd", settings_env(), bench.directory / f"p8-{tag}-{i}.log",
            pool="threads", concurrency=THREADS,
        ).start()
        for i in range(WORKERS)
    ]  # fmt: skip
    client = redis_of(bench.redis)
    try:
        seen = keys.workers_seen()
        wait_until(lambda: client.zcard(seen) >= WORKERS, timeout_s=60, what="the workers")
    finally:
        client.close()
    time.sleep(1.0)  # the consumers start right after the scheduler
    return workers


def stop(workers: list[Workers]) -> None:
    for worker in workers:
        worker.stop()


def parks(workers: list[Workers]) -> int:
    return sum(w.log().count("command parked") for w in workers)


def too_many(bench: Stage) -> int:
    return int(bench.sandbox.state.requests[Provider.SHOPLAZZA]["429"])


def live_latencies(producer: Producer, bench: Stage, account: str, count: int) -> list[float]:
    """Live cancels one after another, each awaited: seconds from submit to succeeded."""
    orders = bench.sandbox.admin.create_orders("shoplazza", "placed", count)
    latencies = []
    for order_id in orders:
        started = time.monotonic()
        command_id = producer.submit(cancel(account, order_id)).command_id

        def done(command_id: str = command_id) -> bool:
            record = read_record(producer.store.client, command_id)
            return record is not None and record.state == "succeeded"

        wait_until(done, timeout_s=600, what=f"live {command_id}")
        latencies.append(time.monotonic() - started)
        time.sleep(0.5)
    return latencies


def case_a_and_c(bench: Stage, settings: Settings) -> tuple[list[list[object]], dict[str, float]]:
    """(a) live latency with and without the batch; (c)+(d) the batch alone afterwards."""
    bench.reset(latency_ms=LATENCY_MS)
    producer = ordercmd_producer(settings)
    workers = start_workers(bench, "a")
    try:
        live_latencies(producer, bench, "store", 1)  # warm-up: connections, first imports
        alone = live_latencies(producer, bench, "store", LIVE_N)
        orders = bench.sandbox.admin.create_orders("shoplazza", "placed", BULK_A)
        submit_all(producer, [cancel("store", o) for o in orders], source="bulk:p8a")
        begun = bench.mutations()
        wait_until(lambda: bench.mutations() >= begun + 10, timeout_s=60, what="the batch")
        beside = live_latencies(producer, bench, "store", LIVE_N)
        window = measure_window(bench)
    finally:
        stop(workers)
        producer.store.client.close()
    rows: list[list[object]] = []
    for name, values in (
        ("live alone (baseline)", alone),
        (f"live beside {BULK_A:,} bulk", beside),
    ):
        rows.append([name, percentile(values, 50), percentile(values, 99), max(values)])
    return rows, window


def measure_window(bench: Stage) -> dict[str, float]:
    """(c): mutations/s over ``WINDOW_C_S`` with the batch alone, and the 429s in it."""
    done, limited = bench.mutations(), too_many(bench)
    time.sleep(WINDOW_C_S)
    return {"rate": (bench.mutations() - done) / WINDOW_C_S, "429": too_many(bench) - limited}


def case_d(bench: Stage, settings: Settings, source: str) -> dict[str, float]:
    """(d) Redis commands and parks per command over the whole drain of ``DRAIN_D`` cancels.

    Submitted live (``api``) they take today's path for bulk: each is claimed at once and parked
    holding a reserved slot; submitted ``bulk:`` they wait in the backlog.
    """
    bench.reset(latency_ms=LATENCY_MS)
    producer = ordercmd_producer(settings)
    orders = bench.sandbox.admin.create_orders("shoplazza", "placed", DRAIN_D)
    workers = start_workers(bench, f"d-{source[:4]}")
    client = redis_of(bench.redis)
    try:
        before, started = snapshot(client), time.time()
        submit_all(producer, [cancel("store", o) for o in orders], source=source)
        wait_until(lambda: bench.mutations() >= DRAIN_D, timeout_s=300, what="the drain")
        calls = delta(before, snapshot(client))
        took = time.time() - started
        return {
            "rate": (DRAIN_D - 1) / (bench.mutation_times()[-1] - bench.mutation_times()[0]),
            "redis": sum(calls.values()) / DRAIN_D,
            "parks": parks(workers) / DRAIN_D,
            "429": too_many(bench),
            "took": took,
        }
    finally:
        stop(workers)
        client.close()
        producer.store.client.close()


def per_store(bench: Stage) -> tuple[dict[str, list[float]], int]:
    """Mutation times by store, and the most any store had within one calendar second."""
    times: dict[str, list[float]] = defaultdict(list)
    for m in bench.sandbox.state.mutations:
        times[str(m.account)].append(datetime.fromisoformat(m.at).timestamp())
    seconds = Counter((a, int(t)) for a, ts in times.items() for t in ts)
    return times, max(seconds.values(), default=0)


def light_run(bench: Stage, settings: Settings, heavy: int) -> list[object]:
    """One batch: ``heavy`` rows for s00, then 20 for each other store; the light stores' times."""
    bench.reset(latency_ms=LATENCY_MS)
    producer = ordercmd_producer(settings)
    rows = []
    if heavy:
        orders = bench.sandbox.admin.create_orders("shoplazza", "placed", heavy)
        rows = [cancel("s00", o) for o in orders]
    for i in range(1, STORES_B):
        orders = bench.sandbox.admin.create_orders("shoplazza", "placed", LIGHT_B)
        rows += [cancel(f"s{i:02d}", o) for o in orders]
    workers = start_workers(bench, f"b{heavy}")
    try:
        started = time.time()
        submit_all(producer, rows, source="bulk:p8b")
        admitted = time.time()
        light = [f"s{i:02d}" for i in range(1, STORES_B)]

        def lights_done() -> bool:
            times, _ = per_store(bench)
            return all(len(times.get(a, [])) >= LIGHT_B for a in light)

        wait_until(lights_done, timeout_s=600, what="the light stores", workers=workers[0])
        times, busiest = per_store(bench)
    finally:
        stop(workers)
        producer.store.client.close()
    took = [max(times[a]) - started for a in light]
    worst, since_admitted = max(took), max(took) - (admitted - started)
    return [
        f"{heavy:,} heavy rows first",
        min(took),
        worst,
        worst / IDEAL_LIGHT_S,
        admitted - started,
        since_admitted / IDEAL_LIGHT_S,
        too_many(bench),
        busiest,
    ]


def main() -> None:
    header(
        "P8 live first under rate limits",
        f"Shoplazza stores at {LIMIT_PER_S:g}/s burst {BURST}, sandbox latency {LATENCY_MS:g} ms, "
        f"{WORKERS} workers x {THREADS} threads, scheduler tick 0.5 s",
    )
    with stage("p8") as bench:
        settings = apply_env(stores_env(bench, STORES_B))
        if "b" not in sys.argv[1:]:  # ``python -m bench.p8_live_first b``: (b) alone
            rows_a, window = case_a_and_c(bench, settings)
            report_a(rows_a)
            report_c(window)
            report_d(case_d(bench, settings, "bulk:p8d"), case_d(bench, settings, "api"))
        report_b([light_run(bench, settings, 0), light_run(bench, settings, HEAVY_B)])


def report_a(rows: Sequence[Sequence[object]]) -> None:
    """(a): live latency beside the batch against live alone."""
    alone, beside = float(str(rows[0][2])), float(str(rows[1][2]))
    print("(a) live latency, s")
    print(table(["", "p50", "p99", "max"], rows))
    print(
        f"p99 beside the batch / alone: {beside / alone:.2f}x; p99 <= 2 s: {verdict(beside <= 2)}"
    )
    print(flush=True)


def report_b(rows: Sequence[Sequence[object]]) -> None:
    """(b): the light stores with and without the heavy store's rows ahead of theirs."""
    print("(b) light stores (19 x 20 rows), s from admission to their last mutation")
    columns = ["batch", "fastest", "slowest", "vs ideal", "admission", "after it vs ideal"]
    print(table([*columns, "429s", "busiest store-second"], rows))
    ratio = float(str(rows[1][2])) / float(str(rows[0][2]))
    ok = float(str(rows[1][5])) <= 1.2 and rows[1][6] == 0
    print(f"slowest light store, heavy rows first / alone: {ratio:.2f}x; within 1.2x of the ideal")
    print(f"and 0 x 429: {verdict(ok)}", flush=True)
    print()


def report_c(window: dict[str, float]) -> None:
    """(c): the batch alone after the live commands, against the limit."""
    share = window["rate"] / LIMIT_PER_S
    print(f"(c) the {BULK_A:,}-command batch alone over {WINDOW_C_S:g} s: {window['rate']:.2f}/s")
    print(f"= {share:.1%} of the limit, {window['429']:g} x 429: {verdict(share >= 0.95)}")
    print(flush=True)


def report_d(bulk: dict[str, float], today: dict[str, float]) -> None:
    """(d): Redis commands and parks per command, the backlog against today's bulk path."""
    print(f"(d) a drain of {DRAIN_D} cancels from submission to the last mutation")
    rows = [
        ["bulk (backlog, this change)", *cost_cells(bulk)],
        ["same cancels live (today's bulk path)", *cost_cells(today)],
    ]
    print(table(["", "per s", "redis cmds/cmd", "parks/cmd", "429s", "s"], rows))
    ratio = bulk["redis"] / today["redis"]
    print(f"Redis commands per command vs today's path: {ratio:.2f}x: {verdict(ratio <= 1.0)}")
    print(flush=True)


def cost_cells(run: dict[str, float]) -> list[object]:
    return [run["rate"], run["redis"], run["parks"], run["429"], run["took"]]


if __name__ == "__main__":
    main()
