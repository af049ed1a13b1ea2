"""P2: admission rate of ``Producer.submit_many`` against a ``delay()`` loop of the bare task.

No worker runs. Two ordercmd figures: live ``submit_many`` (admits each command into the store
and publishes its message at once) and bulk ``submit_many`` (a ``bulk:`` source: admitted to the
outbox, the workers' schedulers publish later). Rounds alternate between the three, and each
figure is the median of its rounds. Target: submit_many >= 10x the delay() loop.
"""

from __future__ import annotations

import statistics
import time
import uuid

from bench.report import header, table, verdict
from bench.runs import command, ordercmd_producer, submit_all
from bench.stage import apply_env, stage

N = 5000
ROUNDS = 3
TARGET = 10.0
LIVE = "api"


def admit_rate(producer, n: int, source: str) -> float:  # type: ignore[no-untyped-def]
    commands = [command("backd", "cancel", f"BO-{uuid.uuid4().hex[:12]}") for _ in range(n)]
    started = time.perf_counter()
    submit_all(producer, commands, source=source)
    return n / (time.perf_counter() - started)


def delay_rate(n: int) -> float:
    from bench.bare_app import bare_cancel

    order_ids = [f"BO-{uuid.uuid4().hex[:12]}" for _ in range(n)]
    started = time.perf_counter()
    for order_id in order_ids:
        bare_cancel.delay(order_id, uuid.uuid4().hex)
    return n / (time.perf_counter() - started)


def main() -> None:
    header(
        "P2 admission: submit_many (live, bulk outbox) vs delay() loop (commands/s, higher is "
        "better)",
        f"{N} Backd cancels per round (submit_many in chunks of 500), {ROUNDS} rounds "
        f"alternating, medians; same Redis (AOF on); target >= {TARGET:.0f}x",
    )
    bulk = f"bulk:p2-{uuid.uuid4().hex[:8]}"
    with stage("p2") as bench:
        settings = apply_env(bench.env())
        producer = ordercmd_producer(settings)
        admit_rate(producer, 200, LIVE)  # warm-up: scripts loaded, connections open
        delay_rate(200)
        live, outbox, bare = [], [], []
        for _ in range(ROUNDS):
            live.append(admit_rate(producer, N, LIVE))
            outbox.append(admit_rate(producer, N, bulk))
            bare.append(delay_rate(N))
    bare_rate = statistics.median(bare)
    rounds = " / ".join(
        f"{a:,.0f}, {b:,.0f} vs {c:,.0f}" for a, b, c in zip(live, outbox, bare, strict=True)
    )
    print(f"rounds (live, bulk submit_many vs delay): {rounds}")
    print(
        table(
            ["producer", "commands/s"],
            [
                ["ordercmd submit_many, live (publish now)", statistics.median(live)],
                ["ordercmd submit_many, bulk (outbox)", statistics.median(outbox)],
                ["bare delay()", bare_rate],
            ],
        )
    )
    for name, rates in (("live", live), ("bulk", outbox)):
        ratio = statistics.median(rates) / bare_rate
        print(f"{name}: ratio {ratio:.2f}x  {verdict(ratio >= TARGET)}")


if __name__ == "__main__":
    main()
