"""P3: Redis commands per successful command, from ``INFO commandstats`` deltas across a run.

A run counts everything from submission to the record: admission, the broker message and its
task-sent event, the worker's claim / flow control / finish, the broker's acks, and whatever
background the worker sends meanwhile (polling, scheduler ticks, heartbeats). The store and
the broker run on two servers so each can be counted; a last run puts both on one server to
show the sum matches. Commands run inside the store's Lua scripts are counted (Redis counts
them) and also shown apart from the ones clients send. Target: <= 15 per command.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import cast

from bench.redis_stats import delta, lua_commands, snapshot, split_lua
from bench.report import header, table, verdict
from bench.runs import command, ordercmd_producer, send_bare, settings_env, submit_all
from bench.stage import Stage, Workers, apply_env, redis_of, stage, wait_until
from store.tally import FLUSH_INTERVAL_S

N = 1000
WARM_UP = 40
IDLE_S = 3.0
CONCURRENCY = 8
TARGET = 15.0


def run(bench: Stage, system: str, *, split: bool, latency_ms: float) -> dict[str, Counter[str]]:
    """One counted run; calls per server (``store``, ``broker``) and the idle rate."""
    settings = apply_env(bench.env(split_broker=split))
    bench.reset(latency_ms=latency_ms)
    servers = {"store": redis_of(bench.redis)}
    if split:
        servers["broker"] = redis_of(bench.broker)  # type: ignore[arg-type]
    producer = ordercmd_producer(settings) if system == "ordercmd" else None
    order_ids = bench.sandbox.admin.create_orders("backd", "order_placed", N + WARM_UP)

    def send(ids: list[str]) -> None:
        if producer is None:
            send_bare(ids)
        else:
            submit_all(producer, [command("backd", "cancel", o) for o in ids])

    log = bench.directory / f"p3-{system}-{uuid.uuid4().hex[:6]}.log"
    workers = Workers(system, settings_env(), log, pool="threads", concurrency=CONCURRENCY)
    workers.start()
    try:
        send(order_ids[:WARM_UP])
        wait_until(
            lambda: bench.mutations() >= WARM_UP, timeout_s=90, what="warm-up", workers=workers
        )
        time.sleep(1.0)
        idle_before = {k: snapshot(c) for k, c in servers.items()}
        time.sleep(IDLE_S)
        before = {k: snapshot(c) for k, c in servers.items()}
        started = time.monotonic()
        send(order_ids[WARM_UP:])
        wait_until(
            lambda: bench.mutations() >= N + WARM_UP, timeout_s=300, what="run", workers=workers
        )
        time.sleep(FLUSH_INTERVAL_S + 0.5)  # the last finish scripts and counter flushes
        after = {k: snapshot(c) for k, c in servers.items()}
        seconds = time.monotonic() - started
    finally:
        workers.stop()
        for client in servers.values():
            client.close()
    counts = {k: delta(before[k], after[k]) for k in servers}
    idle = sum(sum(delta(idle_before[k], before[k]).values()) for k in servers)
    counts["idle"] = Counter({"per_run": round(idle / IDLE_S * seconds)})
    return counts


def describe(label: str, counts: dict[str, Counter[str]], inside: frozenset[str]) -> list[object]:
    total = sum(sum(c.values()) for k, c in counts.items() if k != "idle")
    store, broker = counts.get("store", Counter()), counts.get("broker", Counter())
    sent, in_lua = split_lua(store, inside)
    sent += sum(broker.values())
    split = bool(broker)  # on one server, broker and Lua commands cannot be told apart
    return [
        label,
        total / N,
        sum(broker.values()) / N if split else "-",
        sum(store.values()) / N if split else "-",
        sent / N if split else "-",
        in_lua / N if split else "-",
        counts["idle"]["per_run"] / N,
    ]


def top(counts: dict[str, Counter[str]], k: int = 12) -> str:
    merged: Counter[str] = Counter()
    for name, calls in counts.items():
        if name != "idle":
            merged.update({f"{name}:{c}": n for c, n in calls.items()})
    return ", ".join(f"{c} {n / N:.2f}" for c, n in merged.most_common(k))


def main() -> None:
    header(
        "P3 Redis commands per successful command (lower is better)",
        f"{N} Backd cancels submitted to a running worker (threads, concurrency {CONCURRENCY}); "
        f"target <= {TARGET:.0f}",
    )
    inside = lua_commands()
    rows, tops = [], []
    with stage("p3", split_broker=True) as bench:
        for latency_ms in (0, 50):
            for system in ("ordercmd", "bare"):
                counts = run(bench, system, split=True, latency_ms=latency_ms)
                rows.append(describe(f"{system} {latency_ms} ms", counts, inside))
                tops.append(f"{system} {latency_ms} ms: {top(counts)}")
        same = run(bench, "ordercmd", split=False, latency_ms=0)
        rows.append(describe("ordercmd 0 ms, one server", same, inside))
    headers = ["run", "all", "broker", "store", "sent", "in Lua", "idle bg"]
    print(table(headers, rows))
    print("per command; 'all' = broker + store incl. commands inside Lua; 'sent' = round trips;")
    print("'idle bg' = what the worker sends when idle, over the run's length (part of 'all')")
    print()
    print("top commands per command (server:command):")
    print("\n".join(tops))
    ours = [r for r in rows if str(r[0]).startswith("ordercmd")]
    bare = [r for r in rows if str(r[0]).startswith("bare")]
    for o, b in zip(ours, bare, strict=False):
        mine, theirs = cast(float, o[1]), cast(float, b[1])  # "all" is always a count
        print(
            f"{o[0]}: {mine:.1f} commands, {mine / theirs:.2f}x the bare task's {theirs:.1f}; "
            f"{verdict(mine <= TARGET)} (store only {o[3]:.1f})"
        )


if __name__ == "__main__":
    main()
