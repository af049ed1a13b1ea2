"""``ordercmd status --workers``: workers online or gone, what each runs, queue depths."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.table import Table

from worker.fleet import WorkersOverview


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def workers_table(overview: WorkersOverview) -> Table:
    """One row per worker seen in the last day: state, pool, concurrency, running commands."""
    table = Table(title="workers", title_justify="left")
    for column in ("worker", "state", "pool", "concurrency", "process", "running now"):
        table.add_column(column, overflow="fold")
    for worker in overview.workers:
        if not worker.alive:
            table.add_row(worker.name, f"[red]gone[/] (last seen {_when(worker.seen_ms)})")
            continue
        card = worker.card
        running = "\n".join(f"{r.id} {r.kind} {r.lane}" for r in worker.running) or "idle"
        table.add_row(
            worker.name,
            "[green]online[/]",
            card.pool if card else "?",
            str(card.concurrency) if card else "?",
            f"{card.host}:{card.pid}" if card else "?",
            running,
        )
    for orphan in overview.unattributed:
        table.add_row("(no live worker)", f"holds {orphan.id}", "", "", orphan.holder, orphan.lane)
    return table


def queues_table(overview: WorkersOverview) -> Table:
    """Broker queue depths, then where commands wait in the store and the oldest waits."""
    table = Table(title="queues", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    broker = overview.broker
    for name, depth in broker.queues.items():
        table.add_row(f"broker {name}", "unknown" if depth is None else str(depth))
    unacked = broker.unacked
    table.add_row(
        "broker: delivered, not yet acked", "unknown" if unacked is None else str(unacked)
    )
    store = overview.store
    for label, count in (
        ("outbox (due to be sent)", store.outbox),
        ("sent, not yet claimed", store.sent_unclaimed),
        ("running", store.running),
        ("retrying (after a failed attempt)", store.retrying),
        *((f"waiting for {what} (no attempt spent)", n) for what, n in store.waiting.items()),
        ("bulk backlog", store.bulk_backlog),
        ("quarantined broker messages", store.quarantined),
    ):
        table.add_row(label, str(count))
    for state, age_s in store.oldest_waiting_s.items():
        table.add_row(
            f"oldest {state} (since admission)", "none" if age_s is None else f"{age_s:.0f} s"
        )
    return table
