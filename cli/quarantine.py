"""``ordercmd quarantine list``: broker messages the workers refused, and why (never executed)."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from cli.context import opened_store, readable_errors
from cli.output import console, json_option, print_json
from schemas.quarantine import QuarantinedMessage
from store.quarantine import Quarantine

PREVIEW_CHARS = 24


@click.group()
def quarantine() -> None:
    """Inspect broker messages the workers refused to execute."""


@quarantine.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--offset", default=0, type=click.IntRange(0))
@json_option
@readable_errors
def list_(limit: int, offset: int, as_json: bool) -> None:
    """List quarantined broker messages, newest first (``--json`` has the raw bytes, base64)."""
    with opened_store() as (_, store):
        summary = read_quarantine(Quarantine(store.client), offset=offset, limit=limit)
    if as_json:
        print_json(summary)
        return
    console.print(summary_line(summary))
    console.print(entries_table(summary["entries"]))


def read_quarantine(quarantine: Quarantine, *, offset: int = 0, limit: int = 50) -> dict[str, Any]:
    """How many are kept, how many ever by reason, and a page of entries (JSON-ready)."""
    return {
        "kept": quarantine.count(),
        "all_time": {str(reason): n for reason, n in sorted(quarantine.totals().items())},
        "entries": [
            entry.model_dump(mode="json") | {"raw_text": entry.raw_text()}
            for entry in quarantine.page(offset=offset, limit=limit)
        ],
    }


def summary_line(summary: dict[str, Any]) -> str:
    """``quarantined broker messages: 3 kept, 5 all time (not_json 2, ...)``."""
    by_reason = ", ".join(f"{reason} {n}" for reason, n in summary["all_time"].items())
    total = sum(summary["all_time"].values())
    line = f"quarantined broker messages: {summary['kept']} kept, {total} all time"
    return f"{line} ({by_reason})" if by_reason else line


def entries_table(entries: list[dict[str, Any]]) -> Table:
    """One row per quarantined message: when, reason, size, detail and the raw bytes' start."""
    table = Table(title_justify="left")
    for column in ("received (UTC)", "reason", "bytes"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail")
    table.add_column("raw", no_wrap=True, overflow="ellipsis", max_width=PREVIEW_CHARS)
    for data in entries:
        entry = QuarantinedMessage.model_validate(data)
        table.add_row(
            entry.received_at.strftime("%m-%d %H:%M:%S"),
            entry.reason.value,
            str(entry.size_bytes),
            entry.detail,
            entry.raw_text()[:200],
            style="red",
        )
    return table
