"""``ordercmd dlq list|show|replay|discard``: the dead-letter queue from the shell."""

from __future__ import annotations

import getpass

import click

from cli.context import opened_store, readable_errors
from cli.output import console, json_option, print_json, record_detail, records_table
from schemas import CommandState, DeadReason, Provider
from worker.app import publish
from worker.deadletters import DeadLetterFilter, DeadLetters
from worker.records import read_record

actor_option = click.option(
    "--actor",
    default=getpass.getuser,
    show_default="your user name",
    help="Who is acting (audit log).",
)
why_option = click.option("--why", required=True, help="Why (kept in the audit log).")


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


@dlq.command()
@click.argument("command_id")
@why_option
@actor_option
@readable_errors
def replay(command_id: str, why: str, actor: str) -> None:
    """Replay a dead letter: same key, fresh budgets, the order is read before anything is sent."""
    with opened_store() as (_, store):
        state = DeadLetters(store).replay(command_id, actor=actor, why=why)
        if state is CommandState.QUEUED:
            publish([command_id])
        record = read_record(store.client, command_id)
    click.echo(f"replayed {command_id}: {record.state if record else state}")


@dlq.command()
@click.argument("command_id")
@why_option
@actor_option
@readable_errors
def discard(command_id: str, why: str, actor: str) -> None:
    """Discard a dead letter for good."""
    with opened_store() as (_, store):
        DeadLetters(store).discard(command_id, actor=actor, why=why)
    click.echo(f"discarded {command_id}")
