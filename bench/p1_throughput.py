"""P1: end-to-end commands/s of ordercmd against a bare Celery task doing the same HTTP call.

Both drain a queue of N pre-loaded Backd cancels through one worker with the same pool and
concurrency, on the same Redis (store and broker) and the same in-process sandbox. The rate
is provider mutations per second between the 10% and 90% marks (start-up and tail left out).

Each case runs in pairs: ordercmd and the bare task drained back to back, the order swapped
from one pair to the next. A pair's ratio compares two drains seconds apart; the case's ratio
is the median of its pairs. On a shared machine whose speed changes by a quarter within
minutes, a ratio of means over a few long rounds reads a change of phase between two drains
as a change in ordercmd; the median of many short pairs does not.
Target: ordercmd >= 0.8x the bare task.
"""

from __future__ import annotations

import statistics

from bench.report import header, table, verdict
from bench.runs import drain
from bench.stage import apply_env, stage

CONCURRENCY = 8
# long enough that a prefork child's first task (its runtime built, scripts loaded) falls in the
# 10% left out: with 600 at 0 ms the window was ~2 s and rounds of one case read 0.40x-0.63x
# (latency ms, pool, N, pairs): at 50 ms the provider's latency sets both rates and pairs agree
CASES = [
    (0, "threads", 3000, 6),
    (0, "prefork", 3000, 6),
    (50, "threads", 1200, 2),
    (50, "prefork", 1200, 2),
]
SYSTEMS = ("ordercmd", "bare")
TARGET = 0.8
HEADERS = [
    "latency",
    "pool",
    "N",
    "ordercmd/s",
    "bare/s",
    "ratio",
    "pairs",
    "cpu ms",
    "bare cpu ms",
    "cpu ratio",
    "",
]


def main() -> None:
    header(
        "P1 throughput: ordercmd vs bare Celery task (commands/s, higher is better)",
        f"one worker, concurrency {CONCURRENCY}, Backd cancels pre-loaded, AOF on, "
        f"ratio = median of back-to-back pairs; target >= {TARGET}x",
    )
    rows = []
    with stage("p1") as bench:
        settings = apply_env(bench.env())
        for latency_ms, pool, n, pairs in CASES:
            rates: dict[str, list[float]] = {"ordercmd": [], "bare": []}
            cpu: dict[str, list[float]] = {"ordercmd": [], "bare": []}
            for pair in range(pairs):
                for system in SYSTEMS if pair % 2 == 0 else SYSTEMS[::-1]:
                    bench.reset(latency_ms=latency_ms)
                    run = drain(bench, system, settings, pool=pool, concurrency=CONCURRENCY, n=n)
                    rates[system].append(run.rate_per_s)
                    cpu[system].append(run.worker_cpu_ms + run.redis_cpu_ms)
            ours, bare = statistics.mean(rates["ordercmd"]), statistics.mean(rates["bare"])
            each = [o / b for o, b in zip(rates["ordercmd"], rates["bare"], strict=True)]
            ratio = statistics.median(each)
            cpu_ours, cpu_bare = statistics.mean(cpu["ordercmd"]), statistics.mean(cpu["bare"])
            rows.append(
                [
                    f"{latency_ms} ms",
                    pool,
                    n,
                    ours,
                    bare,
                    f"{ratio:.2f}x",
                    " ".join(f"{r:.2f}" for r in each),
                    cpu_ours,
                    cpu_bare,
                    f"{cpu_bare / cpu_ours:.2f}x",
                    verdict(ratio >= TARGET),
                ]
            )
            print(table(HEADERS, rows).splitlines()[-1], flush=True)
    print()
    print(table(HEADERS, rows))
    print("ratio = median of the pairs' ordercmd/s over bare/s (drained back to back, the order")
    print("swapped each pair); ordercmd/s and bare/s are means; cpu ms = worker + redis-server")
    print("CPU per command between the 10% and 90% marks; cpu ratio = bare over ordercmd, the")
    print("throughput ratio a machine with no other load and no waiting would approach")


if __name__ == "__main__":
    main()
