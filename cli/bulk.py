"""``ordercmd bulk FILE``: a CSV or JSONL file of commands, checked whole, admitted as a batch."""

from __future__ import annotations

import getpass
import json
import sys
from contextlib import AbstractContextManager, ExitStack, nullcontext
from pathlib import Path
from typing import IO, Any

import click
import redis
from rich.table import Table

from cli.batch import watch_batch
from cli.context import opened_store, readable_errors
from cli.output import console, json_option, print_json
from producer import Producer
from producer.batches import Batches
from producer.bulk import BulkCheck, BulkResult, BulkRun, preview_data
from producer.bulk_export import problem_lines
from producer.bulk_rows import COLUMNS, DEFAULT_MAX_BYTES, BulkFileError, detect_format
from providers.errors import StoreUnavailable
from worker.app import publish

SHOWN_PROBLEMS = 50
BULK_HELP = f"""Submit every command of a CSV or JSONL FILE ('-' reads standard input) as one batch.

Every row is checked before anything is admitted; with an invalid row nothing is admitted
unless --skip-invalid. Re-running a file is safe: rows already admitted return their command.

Columns / fields: {", ".join(COLUMNS)} (see the README, "Bulk actions and HTTP intake").
"""


@click.command(help=BULK_HELP)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="Default: extension.")
@click.option("--dry-run", is_flag=True, help="Check and show what would be submitted; admit none.")
@click.option("--skip-invalid", is_flag=True, help="Admit the valid rows even if some are not.")
@click.option(
    "--max-bytes",
    type=click.IntRange(1),
    default=DEFAULT_MAX_BYTES,
    show_default=True,
    envvar="ORDERCMD_BULK_MAX_BYTES",
    help="Refuse bigger files.",
)
@click.option(
    "--errors",
    "errors_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every problem (row, field, reason) to this CSV file.",
)
@click.option("--watch", is_flag=True, help="Follow the batch until every command has ended.")
@click.option("--actor", default=getpass.getuser, show_default="your user name")
@json_option
@readable_errors
def bulk(
    file: Path,
    fmt: str | None,
    dry_run: bool,
    skip_invalid: bool,
    max_bytes: int,
    errors_file: Path | None,
    watch: bool,
    actor: str,
    as_json: bool,
) -> None:
    """Submit a file of commands as one batch."""
    name = "stdin" if str(file) == "-" else file.name
    bulk_format = detect_format(name, fmt or ("csv" if str(file) == "-" else None))
    with opened_store() as (settings, store), ExitStack() as stack:
        source = stack.enter_context(_open(file, max_bytes))
        run = stack.enter_context(
            BulkRun(
                Producer(settings, store, publish),
                file_name=name,
                fmt=bulk_format,
                max_bytes=max_bytes,
            )
        )
        report = run.check(source)
        if errors_file:
            _write_problems(report, errors_file)
        result = None
        if not dry_run and (skip_invalid or not report.invalid):
            result = _admit(run, Batches(store), actor=actor, skip_invalid=skip_invalid)
    _show(report, result, as_json=as_json, dry_run=dry_run)
    if report.invalid and not skip_invalid:
        raise click.ClickException(
            f"{report.invalid} of {report.rows} rows are invalid: nothing was admitted "
            "(fix them, or use --skip-invalid)"
        )
    if watch and result is not None:
        watch_batch(result.batch_id, interval_s=1.0)


def _admit(run: BulkRun, batches: Batches, *, actor: str, skip_invalid: bool) -> BulkResult:
    """``run.admit``; a store failure half-way says what became of the rows and what to do."""
    try:
        return run.admit(batches, actor=actor, skip_invalid=skip_invalid)
    except (StoreUnavailable, redis.RedisError) as exc:
        raise click.ClickException(
            f"the command store failed while admitting the batch ({type(exc).__name__}: "
            f"{str(exc)[:300]}). Rows admitted so far stay admitted and will run; some may have "
            "been admitted without an answer. Run the same file again: each row's idempotency "
            "key returns the command admitted before, so nothing is doubled."
        ) from None


def _open(file: Path, max_bytes: int) -> AbstractContextManager[IO[bytes]]:
    """The file to read (its size checked first), or standard input (checked as it is read)."""
    if str(file) == "-":
        return nullcontext(sys.stdin.buffer)
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise BulkFileError(
                f"{file}: {size} bytes, over the limit of {max_bytes} (see --max-bytes)"
            )
        return file.open("rb")
    except OSError as exc:
        raise BulkFileError(f"{file}: {exc.strerror}") from None


def _write_problems(report: BulkCheck, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        out.writelines(problem_lines(report.problems))


def _show(report: BulkCheck, result: BulkResult | None, *, as_json: bool, dry_run: bool) -> None:
    if as_json:
        print_json(_as_json(report, result, dry_run))
        return
    console.print(
        f"[bold]{report.file_name}[/]: {report.rows} rows, {report.valid} valid, "
        f"[red]{report.invalid} invalid[/], {report.duplicates} duplicate, "
        f"{report.existing} already admitted"
    )
    if report.problems:
        console.print(_problems_table(report))
    if dry_run:
        console.print(_groups_table(report))
        for row, envelope in report.preview:
            line = json.dumps(preview_data(envelope))
            console.print(f"row {row}: {line}", markup=False, highlight=False, soft_wrap=True)
        console.print("[dim]dry run: nothing was admitted[/]")
    if result is not None:
        counts = ", ".join(f"{n} {a}" for a, n in sorted(result.rows.items()))
        console.print(f"batch [bold]{result.batch_id}[/]: {counts}")
        if result.cancelled:
            console.print("[yellow]the batch was cancelled while it was being admitted[/]")
        console.print(f"follow it with: ordercmd batch watch {result.batch_id}")


def _problems_table(report: BulkCheck) -> Table:
    table = Table(title="invalid rows", title_justify="left")
    for column in ("row", "field", "reason"):
        table.add_column(column, overflow="fold")
    for problem in report.problems[:SHOWN_PROBLEMS]:
        table.add_row(str(problem.row), problem.field, problem.reason)
    hidden = len(report.problems) - SHOWN_PROBLEMS
    if hidden > 0:
        table.caption = f"and {hidden} more problems: write them all with --errors FILE"
    return table


def _groups_table(report: BulkCheck) -> Table:
    table = Table(title="commands by provider, account and kind", title_justify="left")
    for column in ("provider", "account", "kind", "commands"):
        table.add_column(column)
    for (provider, account, kind), n in sorted(report.by_group.items()):
        table.add_row(provider, account, kind, str(n))
    return table


def _as_json(report: BulkCheck, result: BulkResult | None, dry_run: bool) -> dict[str, Any]:
    return {
        "file": report.file_name,
        "dry_run": dry_run,
        "rows": report.rows,
        "valid": report.valid,
        "invalid": report.invalid,
        "duplicates": report.duplicates,
        "existing": report.existing,
        "by_group": [
            {"provider": p, "account": a, "kind": k, "commands": n}
            for (p, a, k), n in sorted(report.by_group.items())
        ],
        "problems": [{"row": p.row, "field": p.field, "reason": p.reason} for p in report.problems],
        "preview": [{"row": row, **preview_data(e)} for row, e in report.preview],
        "batch_id": result.batch_id if result else None,
        "admitted": {str(a): n for a, n in result.rows.items()} if result else None,
        "cancelled": result.cancelled if result else False,
    }
