"""How the CLI shows things: rich tables for people, ``--json`` for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from schemas import WAIT_TEXT, CommandRecord
from store.summary import Summary

PIPED_WIDTH = 4096  # piped output: tables as wide as their rows, so ids are never wrapped or cut


def _console() -> Console:
    """Rich's console sized to the terminal, or wide enough for any row when piped."""
    terminal = Console()
    return terminal if terminal.is_terminal else Console(width=PIPED_WIDTH)


console = _console()

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")

STATE_STYLES = {
    "succeeded": "green",
    "already_done": "green",
    "retrying": "yellow",
    "running": "cyan",
    "queued": "cyan",
    "waiting": "dim",
    "dead": "red",
    "discarded": "dim",
}


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    click.echo(json.dumps(data, indent=2, default=str))


def state_label(record: CommandRecord) -> str:
    """The state, with why it ended dead or what it waits for: ``waiting (rate)``."""
    why = record.dead_reason or record.waiting_for
    return str(record.state) + (f" ({why})" if why else "")


def wait_line(record: CommandRecord) -> str:
    """What a waiting command waits for, its place in a backlog, and until when if known."""
    if record.waiting_for is None:
        return ""
    line = WAIT_TEXT[record.waiting_for]
    if record.backlog_place:
        line += f", place {record.backlog_place}"
    if record.waiting_until:
        until = "ETA about" if record.backlog_place else "until"
        line += f", {until} {record.waiting_until:%Y-%m-%d %H:%M:%S}"
    return line + " (no attempt spent)"


def records_table(records: Sequence[CommandRecord], *, title: str) -> Table:
    """One row per command: id, kind, order, state, attempts, last message."""
    table = Table(title=title, title_justify="left")
    for column in (
        "command id",
        "kind",
        "provider:account:order",
        "state",
        "attempts",
        "updated",
        "last",
    ):
        table.add_column(column, overflow="fold")
    for record in records:
        command = record.envelope.command
        state = state_label(record)
        table.add_row(
            record.id,
            command.kind,
            command.lane,
            f"[{STATE_STYLES.get(record.state, '')}]{state}[/]",
            str(len(record.attempts)),
            record.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            record.last_message[:80],
        )
    return table


def record_detail(record: CommandRecord) -> None:
    """The whole record: envelope, state and every attempt."""
    command = record.envelope.command
    style = STATE_STYLES.get(record.state, "")
    console.print(
        f"[bold]command[/] {record.id}  [{style}]{record.state}[/]"
        + (f"  reason [red]{record.dead_reason}[/]" if record.dead_reason else "")
        + (f"  for [{style}]{record.waiting_for}[/]" if record.waiting_for else "")
    )
    console.print(f"  {command.kind} at {command.lane}   key {record.envelope.idempotency_key}")
    console.print(
        f"  submitted {record.envelope.submitted_at:%Y-%m-%d %H:%M:%S} "
        f"from {record.envelope.source}"
    )
    if record.running_on and record.running_since and record.lease_until:
        console.print(
            f"  running on {record.running_on} since {record.running_since:%Y-%m-%d %H:%M:%S}, "
            f"lease until {record.lease_until:%H:%M:%S}",
            markup=False,
            soft_wrap=True,
        )
    if record.waiting_for:
        console.print(f"  {wait_line(record)}")
    elif record.next_attempt_at:
        console.print(f"  next attempt at {record.next_attempt_at:%Y-%m-%d %H:%M:%S}")
    if record.lane_position:
        console.print(f"  waiting behind {record.lane_position} command(s) of the same order")
    if record.last_message:
        console.print(f"  last message: {record.last_message}")
    table = Table(title="attempts", title_justify="left")
    for column in ("#", "started", "ms", "outcome", "http", "error", "message", "order read"):
        table.add_column(column, overflow="fold")
    for a in record.attempts:
        table.add_row(
            str(a.number),
            f"{a.started_at:%H:%M:%S}",
            str(a.duration_ms),
            a.outcome,
            str(a.http_status or ""),
            a.error or "",
            a.message[:80],
            f"{a.read.purpose}: {a.read.showed}" if a.read else a.reconciled or "",
        )
    console.print(table)
    for a in record.attempts:
        if a.read:
            console.print(
                f"  attempt {a.number} read the order, {a.read.headline}: {a.read.message}"
            )


def summary_table(summary: Summary) -> Table:
    """Commands per state, dead letters per reason (those with any), and the workers seen."""
    table = Table(title="ordercmd", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for state, count in summary.states.items():
        table.add_row(f"[{STATE_STYLES.get(state, '')}]{state}[/]", str(count))
        if state == "waiting":
            for what, waiting in summary.waiting_for.items():
                if waiting:
                    table.add_row(f"  waiting for: {what}", str(waiting))
    for reason, count in summary.dead_by_reason.items():
        if count:
            table.add_row(f"  dead: {reason}", str(count))
    table.add_row("workers seen in the last minute", str(len(summary.workers)))
    for worker in summary.workers:
        table.add_row(f"  {worker}", "")
    return table
