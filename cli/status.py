"""``ordercmd status``: the system at a glance, a command, an order, accounts, or the quarantine."""

from __future__ import annotations

import click

from cli.context import opened_store, readable_errors
from cli.output import (
    console,
    json_option,
    print_json,
    record_detail,
    records_table,
    summary_table,
)
from cli.providers_status import providers_table, read_provider_status
from cli.quarantine import entries_table, read_quarantine, summary_line
from cli.workers_status import queues_table, workers_table
from providers.errors import OrderCmdError
from store.flow import FlowControl
from store.quarantine import Quarantine
from store.records import read_record, read_records
from store.summary import read_summary
from worker.fleet import read_overview

QUARANTINE_LATEST = 10
USAGE = (
    "give at most one of COMMAND_ID, --order PROVIDER:ACCOUNT:ORDER_ID, --providers, "
    "--quarantine, --workers (none: a summary)"
)


@click.command()
@click.argument("command_id", required=False)
@click.option(
    "--order",
    "order",
    metavar="PROVIDER:ACCOUNT:ORDER_ID",
    help="Show every command of one order, oldest first.",
)
@click.option(
    "--providers",
    is_flag=True,
    help="Show each account's circuit breaker, 429 pause and rate limit.",
)
@click.option(
    "--quarantine",
    is_flag=True,
    help="Show how many broker messages the workers refused, and the latest ones.",
)
@click.option(
    "--workers",
    is_flag=True,
    help="Show the workers (pool, concurrency, what each runs) and the queues' depths.",
)
@json_option
@readable_errors
def status(
    command_id: str | None,
    order: str | None,
    providers: bool,
    quarantine: bool,
    workers: bool,
    as_json: bool,
) -> None:
    """Show the system at a glance; or a command, an order, accounts, quarantine, or workers."""
    if sum(map(bool, (command_id, order, providers, quarantine, workers))) > 1:
        raise click.UsageError(USAGE)
    if providers or quarantine or workers:
        view = show_providers if providers else show_quarantine if quarantine else show_workers
        view(as_json)
        return
    if not (command_id or order):
        show_summary(as_json)
        return
    with opened_store() as (settings, store):
        accounts = settings.accounts
        if command_id:
            record = read_record(store.client, command_id, accounts=accounts)
            if record is None:
                raise OrderCmdError(f"no command {command_id} (unknown, or expired)")
            records = [record]
        else:
            if (order or "").count(":") < 2:
                raise click.BadParameter("use PROVIDER:ACCOUNT:ORDER_ID", param_hint="--order")
            ids = store.order_ids(order or "")
            records = [r for r in read_records(store.client, ids, accounts=accounts) if r]
    if as_json:
        data = [r.model_dump(mode="json") for r in records]
        print_json(data[0] if command_id else data)
    elif command_id:
        record_detail(records[0])
    else:
        console.print(records_table(records, title=f"commands for {order}"))


def show_providers(as_json: bool) -> None:
    """Print the flow control of every configured account (read-only)."""
    with opened_store() as (settings, store):
        rows = read_provider_status(settings, FlowControl(store.client))
    if as_json:
        print_json([row.to_json() for row in rows])
    else:
        console.print(providers_table(rows))


def show_summary(as_json: bool) -> None:
    """Print commands by state, dead letters by reason, workers, and accounts' flow control."""
    with opened_store() as (settings, store):
        summary = read_summary(store.client)
        rows = read_provider_status(settings, FlowControl(store.client))
        refused = read_quarantine(Quarantine(store.client), limit=0)
    if as_json:
        print_json(
            summary.to_json()
            | {"providers": [row.to_json() for row in rows]}
            | {"quarantine": {k: refused[k] for k in ("kept", "all_time")}}
        )
        return
    console.print(summary_table(summary))
    console.print(providers_table(rows))
    console.print(
        summary_line(refused) + (" (ordercmd quarantine list)" if refused["kept"] else "")
    )


def show_workers(as_json: bool) -> None:
    """Print the workers and the queues (``/workers`` on the dashboard)."""
    with opened_store() as (settings, store):
        overview = read_overview(store.client, settings)
    if as_json:
        print_json(overview.to_json())
        return
    console.print(workers_table(overview))
    console.print(queues_table(overview))


def show_quarantine(as_json: bool) -> None:
    """Print the quarantine's counts and its latest entries (``ordercmd quarantine list``)."""
    with opened_store() as (_, store):
        summary = read_quarantine(Quarantine(store.client), limit=QUARANTINE_LATEST)
    if as_json:
        print_json(summary)
        return
    console.print(summary_line(summary))
    if summary["entries"]:
        console.print(entries_table(summary["entries"]))
        console.print("more: ordercmd quarantine list")
