"""``ordercmd batch list|status|watch|cancel|export``: bulk batches from the shell."""

from __future__ import annotations

import getpass
import sys
import time
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.context import opened_store, readable_errors
from cli.output import STATE_STYLES, console, json_option, print_json
from producer.batches import Batches
from producer.bulk_export import ExportFormat, export
from producer.bulk_progress import MISSING, BatchProgress, ProgressReader
from schemas import CommandState

SHOWN_STATES = [*CommandState, MISSING]


@click.group()
def batch() -> None:
    """Follow, cancel and export bulk batches."""


@batch.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@json_option
@readable_errors
def list_(limit: int, as_json: bool) -> None:
    """The newest batches."""
    with opened_store() as (_, store):
        metas = Batches(store).recent(limit)
    if as_json:
        print_json(
            [{"batch_id": m.batch_id, "file_name": m.file_name, "rows": m.rows} for m in metas]
        )
        return
    table = Table(title="batches", title_justify="left")
    table.add_column("batch id", no_wrap=True)
    for column in ("file", "rows", "created", "actor", "admission", "cancelled by"):
        table.add_column(column, overflow="fold")
    for m in metas:
        table.add_row(
            m.batch_id,
            m.file_name,
            str(m.rows),
            f"{m.created_at:%Y-%m-%d %H:%M:%S}",
            m.actor,
            m.state,
            m.cancelled_by or "",
        )
    console.print(table)


@batch.command()
@click.argument("batch_id")
@json_option
@readable_errors
def status(batch_id: str, as_json: bool) -> None:
    """A batch's commands counted by state."""
    with opened_store() as (_, store):
        progress = ProgressReader(Batches(store), batch_id).read()
    if as_json:
        print_json(progress.as_json())
    else:
        console.print(summary_table(progress))


@batch.command()
@click.argument("batch_id")
@click.option("--interval", "interval_s", default=1.0, show_default=True, type=float)
@readable_errors
def watch(batch_id: str, interval_s: float) -> None:
    """A live progress bar until every command of the batch has ended (Ctrl-C stops watching)."""
    watch_batch(batch_id, interval_s=interval_s)


def watch_batch(batch_id: str, *, interval_s: float) -> None:
    """Show the batch's progress until it is done, then its summary."""
    with opened_store() as (_, store):
        reader = ProgressReader(Batches(store), batch_id)
        progress = reader.read()
        columns = (
            TextColumn(f"batch {batch_id}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
        )
        try:
            with Progress(*columns, console=console, transient=False) as bar:
                task = bar.add_task(counts_line(progress), total=progress.total or None)
                while not progress.done:
                    time.sleep(interval_s)
                    progress = reader.read()
                    bar.update(
                        task,
                        completed=progress.finished,
                        total=progress.total or None,
                        description=counts_line(progress),
                    )
                bar.update(task, completed=progress.finished, total=progress.total)
        except KeyboardInterrupt:
            console.print("stopped watching; the batch goes on")
            return
    console.print(summary_table(progress))


def counts_line(progress: BatchProgress) -> str:
    """``queued 10  running 8  succeeded 900 ...``, the states present only."""
    parts = []
    for state in SHOWN_STATES:
        n = progress.counts.get(state, 0)
        if n:
            style = STATE_STYLES.get(state, "")
            parts.append(f"[{style}]{state} {n}[/]" if style else f"{state} {n}")
    return "  ".join(parts) or "nothing admitted yet"


def summary_table(progress: BatchProgress) -> Table:
    """The batch's meta and its commands by state."""
    meta = progress.meta
    admitted = ", ".join(f"{n} {a}" for a, n in meta.admitted.items() if n)
    table = Table(
        title=f"batch {meta.batch_id}: {meta.file_name}, {meta.rows} rows ({admitted})",
        title_justify="left",
        caption=f"admission {meta.state}"
        + (f"; cancelled by {meta.cancelled_by}: {meta.cancel_why}" if meta.cancelled_by else "")
        + ("; done" if progress.done else ""),
    )
    table.add_column("state")
    table.add_column("commands", justify="right")
    for state in SHOWN_STATES:
        table.add_row(state, str(progress.counts.get(state, 0)))
    table.add_row("[bold]total[/]", str(progress.total))
    return table


@batch.command()
@click.argument("batch_id")
@click.option("--why", required=True, help="Why (kept in the audit log).")
@click.option("--actor", default=getpass.getuser, show_default="your user name")
@json_option
@readable_errors
def cancel(batch_id: str, why: str, actor: str, as_json: bool) -> None:
    """Discard every command of the batch that has not started; the rest run to their end."""
    with opened_store() as (_, store):
        summary = Batches(store).cancel(batch_id, actor=actor, why=why)
    if as_json:
        print_json({"discarded": summary.discarded, "untouched": summary.untouched})
        return
    click.echo(
        f"batch {batch_id}: {summary.discarded} commands discarded before they started, "
        f"{summary.untouched} already started or finished (left alone)"
    )


@batch.command("export")
@click.argument("batch_id")
@click.option("--format", "fmt", type=click.Choice([f.value for f in ExportFormat]), default="csv")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
@readable_errors
def export_(batch_id: str, fmt: str, output: Path | None) -> None:
    """One line per row of the batch's file: row, command id, admission, state, reason."""
    with opened_store() as (_, store):
        if output is None:
            export(Batches(store), batch_id, sys.stdout, ExportFormat(fmt))
            return
        with output.open("w", encoding="utf-8", newline="") as out:
            written = export(Batches(store), batch_id, out, ExportFormat(fmt))
    click.echo(f"{written} rows written to {output}", err=True)
