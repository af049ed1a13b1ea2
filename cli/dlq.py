"""``ordercmd dlq list|show|replay|discard``: dead letters from the shell, one or a filtered set."""

from __future__ import annotations

import getpass
from typing import Any

import click
from rich.table import Table

from cli.context import opened_store, readable_errors
from cli.output import console, json_option, print_json, record_detail, records_table
from runs.bulk_runs import Run, RunAction, RunStatus
from runs.driver import run_driver
from schemas import CommandState, DeadReason, Provider
from store.deadletters import DeadLetterFilter, DeadLetters
from store.records import read_record
from store.search import parse_filter
from worker.app import publish

actor_option = click.option(
    "--actor",
    default=getpass.getuser,
    show_default="your user name",
    help="Who is acting (audit log).",
)
why_option = click.option("--why", required=True, help="Why (kept in the audit log).")


def bulk_action_options(func: Any) -> Any:
    """The options replay and discard share: one id, or a --filter run with its controls."""
    for option in (
        actor_option,
        why_option,
        yes_option,
        wait_option,
        rate_option,
        dry_run_option,
        filter_option,
    ):
        func = option(func)
    return func


@click.group()
def dlq() -> None:
    """Inspect and act on dead-lettered commands."""


@dlq.command("list")
@click.option("--reason", type=click.Choice([r.value for r in DeadReason]))
@click.option("--provider", type=click.Choice([p.value for p in Provider]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--offset", default=0, type=click.IntRange(0))
@json_option
@readable_errors
def list_(reason: str | None, provider: str | None, limit: int, offset: int, as_json: bool) -> None:
    """List dead letters, newest first."""
    where = DeadLetterFilter(reason=reason, provider=provider)
    with opened_store() as (_, store):
        letters = DeadLetters(store)
        total, records = letters.count(where), letters.page(where, offset=offset, limit=limit)
    if as_json:
        print_json({"total": total, "items": [r.model_dump(mode="json") for r in records]})
        return
    console.print(records_table(records, title=f"dead letters: {len(records)} of {total}"))


@dlq.command()
@click.argument("command_id")
@json_option
@readable_errors
def show(command_id: str, as_json: bool) -> None:
    """Show one dead letter with its full attempt history."""
    with opened_store() as (_, store):
        record = DeadLetters(store).get(command_id)
    if as_json:
        print_json(record.model_dump(mode="json"))
    else:
        record_detail(record)


FILTER_HELP = (
    "Act on every dead letter matching NAME=VALUE pairs, comma-separated: reason, provider, "
    "account, kind, order (id), since, until (ISO 8601 with zone). A plan with counts comes first."
)
filter_option = click.option("--filter", "filter_text", metavar="NAME=VALUE,...", help=FILTER_HELP)
dry_run_option = click.option(
    "--dry-run", is_flag=True, help="With --filter: only show what would be done, by group."
)
rate_option = click.option(
    "--rate",
    type=click.FloatRange(0.01, 1000),
    default=10.0,
    show_default=True,
    help="With --filter: commands per second.",
)
yes_option = click.option("--yes", is_flag=True, help="With --filter: do not ask first.")
wait_option = click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="With --filter: drive the run here until it ends (beside any workers, which share its "
    "rate), or start it and leave it to the workers.",
)


@dlq.command()
@click.argument("command_id", required=False)
@bulk_action_options
@readable_errors
def replay(
    command_id: str | None,
    filter_text: str | None,
    dry_run: bool,
    rate: float,
    yes: bool,
    wait: bool,
    why: str,
    actor: str,
) -> None:
    """Replay a dead letter (or --filter a set): same key, fresh budgets, order read first."""
    if _bulk_wanted(command_id, filter_text):
        bulk_run(RunAction.REPLAY, str(filter_text), dry_run=dry_run, rate=rate, yes=yes,
                 wait=wait, why=why, actor=actor)  # fmt: skip
        return
    with opened_store() as (_, store):
        state = DeadLetters(store).replay(str(command_id), actor=actor, why=why)
        if state is CommandState.QUEUED:
            publish([str(command_id)])
        record = read_record(store.client, str(command_id))
    click.echo(f"replayed {command_id}: {record.state if record else state}")


@dlq.command()
@click.argument("command_id", required=False)
@bulk_action_options
@readable_errors
def discard(
    command_id: str | None,
    filter_text: str | None,
    dry_run: bool,
    rate: float,
    yes: bool,
    wait: bool,
    why: str,
    actor: str,
) -> None:
    """Discard a dead letter (or --filter a set) for good."""
    if _bulk_wanted(command_id, filter_text):
        bulk_run(RunAction.DISCARD, str(filter_text), dry_run=dry_run, rate=rate, yes=yes,
                 wait=wait, why=why, actor=actor)  # fmt: skip
        return
    with opened_store() as (_, store):
        DeadLetters(store).discard(str(command_id), actor=actor, why=why)
    click.echo(f"discarded {command_id}")


def _bulk_wanted(command_id: str | None, filter_text: str | None) -> bool:
    if (command_id is None) == (filter_text is None):
        raise click.UsageError("give a COMMAND_ID or --filter NAME=VALUE,... (not both)")
    return filter_text is not None


def bulk_run(
    action: RunAction, filter_text: str, *, dry_run: bool, rate: float, yes: bool, wait: bool,
    why: str, actor: str,
) -> None:  # fmt: skip
    """Plan a bulk run here, show its counts, then (unless a dry run) start it at ``rate``.

    Planning and, with ``wait``, the run itself are driven by this process beside any workers:
    the run's script hands each id out once and keeps the rate, so nothing is done twice, and
    the command works when no worker runs (the messages then wait for one).
    """
    where = parse_filter(filter_text)
    with opened_store() as (settings, store):
        driver = run_driver(settings, store, publish)
        runs = driver.runs
        run = driver.drive(runs.plan(where, action=action, actor=actor, why=why).id)
        click.echo(f"{action} plan {run.id}: {run.total} dead letters")
        if not run.total:
            runs.cancel(run.id, actor=actor)  # an empty plan is not left for anyone to start
            click.echo(f"no dead letter matches {where.describe()}: nothing to {action}")
            return
        console.print(plan_table(run))
        if dry_run or run.status is not RunStatus.PLANNED:
            click.echo(
                f"dry run: nothing changed (plan {run.id} is {run.status}; "
                "a planned run can be started from the dashboard)"
            )
            return
        if not yes:
            click.confirm(f"{action} {run.total} dead letters at {rate:g}/s?", abort=True)
        runs.start(run.id, actor=actor, rate_per_s=rate)
        if not wait:
            click.echo(f"run {run.id} started at {rate:g}/s: the workers act on it")
            return
        try:
            run = driver.drive(run.id, progress=_progress)
        except KeyboardInterrupt:
            runs.cancel(run.id, actor=actor)
            run = runs.require(run.id)
    results = ", ".join(f"{k} {v}" for k, v in sorted(run.results.items())) or "nothing"
    click.echo(f"run {run.id} {run.status}: {run.processed} of {run.total} ({results})")


def _progress(run: Run) -> None:
    if run.processed % 100 == 0:
        click.echo(f"  {run.processed} of {run.total}", err=True)


def plan_table(run: Run) -> Table:
    """The run's snapshot counted by provider, kind and reason."""
    table = Table()
    for column in ("provider", "kind", "reason", "count"):
        table.add_column(column)
    for group, count in sorted(run.counts.items()):
        table.add_row(*group.split("|"), str(count))
    return table
