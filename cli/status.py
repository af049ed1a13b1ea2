"""``ordercmd status``: one command's record, or every command of one order."""

from __future__ import annotations

import click

from cli.context import opened_store, readable_errors
from cli.output import console, json_option, print_json, record_detail, records_table
from providers.errors import OrderCmdError
from worker.records import read_record, read_records


@click.command()
@click.argument("command_id", required=False)
@click.option(
    "--order",
    "order",
    metavar="PROVIDER:ACCOUNT:ORDER_ID",
    help="Show every command of one order, oldest first.",
)
@json_option
@readable_errors
def status(command_id: str | None, order: str | None, as_json: bool) -> None:
    """Show a command's state and attempts, or an order's command history."""
    if bool(command_id) == bool(order):
        raise click.UsageError("give a COMMAND_ID or --order PROVIDER:ACCOUNT:ORDER_ID")
    with opened_store() as (_, store):
        if command_id:
            record = read_record(store.client, command_id)
            if record is None:
                raise OrderCmdError(f"no command {command_id} (unknown, or expired)")
            records = [record]
        else:
            if (order or "").count(":") < 2:
                raise click.BadParameter("use PROVIDER:ACCOUNT:ORDER_ID", param_hint="--order")
            records = [r for r in read_records(store.client, store.order_ids(order or "")) if r]
    if as_json:
        data = [r.model_dump(mode="json") for r in records]
        print_json(data[0] if command_id else data)
    elif command_id:
        record_detail(records[0])
    else:
        console.print(records_table(records, title=f"commands for {order}"))
