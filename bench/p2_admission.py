"""P2: admission rate of ``Producer.submit_many`` against a ``delay()`` loop of the bare task.

No worker runs: both only put commands on the broker (ordercmd also admits each into the
store: idempotency key, record, order lane). Rounds alternate between the two, and each
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


def admit_rate(producer, n: int) -> float:  # type: ignore[no-untyped-def]
    commands = [command("backd", "cancel", f"BO-{uuid.uuid4().hex[:12]}") for _ in range(n)]
    started = time.perf_counter()
    submit_all(producer, commands)
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
        "P2 admission: submit_many vs delay() loop (commands/s, higher is better)",
        f"{N} Backd cancels per round (submit_many in chunks of 500), {ROUNDS} rounds "
        f"alternating, medians; same Redis (AOF on); target >= {TARGET:.0f}x",
    )
    with stage("p2") as bench:
        settings = apply_env(bench.env())
        producer = ordercmd_producer(settings)
        admit_rate(producer, 200)  # warm-up: scripts loaded, connections open
        delay_rate(200)
        ours, bare = [], []
        for _ in range(ROUNDS):
            ours.append(admit_rate(producer, N))
            bare.append(delay_rate(N))
    ratio = statistics.median(ours) / statistics.median(bare)
    rounds = " / ".join(f"{o:,.0f} vs {b:,.0f}" for o, b in zip(ours, bare, strict=True))
    print(f"rounds (submit_many vs delay): {rounds}")
    print(
        table(
            ["producer", "commands/s"],
            [
                ["ordercmd submit_many", statistics.median(ours)],
                ["bare delay()", statistics.median(bare)],
            ],
        )
    )
    print(f"ratio {ratio:.2f}x  {verdict(ratio >= TARGET)}")


if __name__ == "__main__":
    main()
