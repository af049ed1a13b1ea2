"""P7: achieved throughput against a Shoplazza store limited to 2 requests/s, with 4 workers.

The sandbox's store bucket is at its documented defaults (size 40, leaking 2/s) and ordercmd's
limiter at its Shoplazza default (2/s, burst 4), shared by four worker processes through
Redis. A backlog of cancels is submitted at once; after a warm-up, the provider mutations per
second over a fixed window are compared with the limit, and the sandbox's 429 answers are
counted. Targets: >= 95% of the limit, no 429 after the warm-up.
"""

from __future__ import annotations

import time

from bench.report import header, table, verdict
from bench.runs import command, ordercmd_producer, settings_env, submit_all
from bench.stage import Stage, Workers, apply_env, stage, wait_until
from schemas import Provider

LIMIT_PER_S = 2.0
WORKERS = 4
WARM_UP_S = 10.0
WINDOW_S = 60.0
BACKLOG = 170  # more than the warm-up and the window can take at the limit
TARGET = 0.95


def too_many(bench: Stage) -> int:
    """429 answers the sandbox gave to Shoplazza requests so far."""
    return bench.sandbox.state.requests[Provider.SHOPLAZZA]["429"]


def main() -> None:
    header(
        "P7 rate limit: achieved throughput on a Shoplazza store limited to 2/s",
        f"{WORKERS} worker processes (threads, 2 each); sandbox bucket 40, leak 2/s; limiter "
        f"2/s burst 4; {BACKLOG} cancels at once; warm-up {WARM_UP_S:.0f} s, window "
        f"{WINDOW_S:.0f} s; target >= {TARGET:.0%} of the limit, 0 429s after warm-up",
    )
    with stage("p7") as bench:
        settings = apply_env(bench.env(throttle_shoplazza=True))
        bench.reset()
        workers = [
            Workers(
                "ordercmd",
                settings_env(),
                bench.directory / f"p7-w{i}.log",
                pool="threads",
                concurrency=2,
            ).start()
            for i in range(WORKERS)
        ]
        try:
            orders = bench.sandbox.admin.create_orders("shoplazza", "placed", BACKLOG)
            producer = ordercmd_producer(settings)
            submit_all(producer, [command("shoplazza", "cancel", o) for o in orders])
            producer.store.client.close()
            wait_until(lambda: bench.mutations() > 0, timeout_s=120, what="first cancel")
            first = bench.mutation_times()[0]
            time.sleep(max(0.0, first + WARM_UP_S - time.time()))
            early_429 = too_many(bench)
            time.sleep(max(0.0, first + WARM_UP_S + WINDOW_S - time.time()))
            late_429 = too_many(bench) - early_429
            times = bench.mutation_times()
        finally:
            for worker in workers:
                worker.stop()
    start, end = first + WARM_UP_S, first + WARM_UP_S + WINDOW_S
    in_window = sum(1 for t in times if start <= t < end)
    rate = in_window / WINDOW_S
    share = rate / LIMIT_PER_S
    rows = [
        ["limit", LIMIT_PER_S, "", ""],
        ["achieved (window)", rate, f"{share:.1%}", verdict(share >= TARGET)],
        ["429s during warm-up", early_429, "", ""],
        ["429s after warm-up", late_429, "", verdict(late_429 == 0)],
        ["cancels done by the end", len(times), "", ""],
    ]
    print(table(["", "value", "of limit", ""], rows))


if __name__ == "__main__":
    main()
