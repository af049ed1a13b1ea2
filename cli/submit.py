"""``ordercmd submit cancel|update|refund``: one command from the shell."""

from __future__ import annotations

import json
from typing import Any

import click

from cli.context import opened_store, readable_errors
from cli.output import json_option, print_json
from providers.errors import InvalidSubmission
from schemas import Provider

common = [
    click.option("--provider", required=True, type=click.Choice([p.value for p in Provider])),
    click.option("--account", required=True, help="Account name from the settings."),
    click.option("--order", "order_id", required=True, help="The provider's order id."),
    click.option("--key", "idempotency_key", help="Idempotency key (default: from content)."),
    json_option,
]


def with_common(func: Any) -> Any:
    """Add the options every kind of command takes."""
    for option in reversed(common):
        func = option(func)
    return func


@click.group()
def submit() -> None:
    """Submit one order command."""


def _submit(data: dict[str, Any], idempotency_key: str | None, as_json: bool) -> None:
    from producer import Producer  # they load Celery: imported to submit, not for --help
    from worker.app import publish

    with opened_store() as (settings, store):
        submission = Producer(settings, store, publish).submit(
            {k: v for k, v in data.items() if v is not None}, idempotency_key=idempotency_key
        )
    if as_json:
        print_json(
            {
                "command_id": submission.command_id,
                "admitted": submission.admitted,
                "idempotency_key": submission.idempotency_key,
            }
        )
        return
    verb = "admitted" if submission.admitted == "new" else "already admitted as"
    click.echo(f"{verb} {submission.command_id} (key {submission.idempotency_key})")
    click.echo(f"follow it with: ordercmd status {submission.command_id}")


@submit.command()
@with_common
@click.option("--reason", help="Why the order is cancelled.")
@readable_errors
def cancel(
    provider: str,
    account: str,
    order_id: str,
    idempotency_key: str | None,
    as_json: bool,
    reason: str | None,
) -> None:
    """Cancel an order."""
    data = {
        "kind": "cancel",
        "provider": provider,
        "account": account,
        "order_id": order_id,
        "reason": reason,
    }
    _submit(data, idempotency_key, as_json)


@submit.command()
@with_common
@click.option("--changes", required=True, help='The fields to change, as JSON: \'{"note": "x"}\'.')
@readable_errors
def update(
    provider: str,
    account: str,
    order_id: str,
    idempotency_key: str | None,
    as_json: bool,
    changes: str,
) -> None:
    """Change some fields of an order."""
    try:
        patch = json.loads(changes)
    except json.JSONDecodeError as exc:
        raise InvalidSubmission([("changes", f"not valid JSON: {exc.msg}")]) from None
    data = {
        "kind": "update",
        "provider": provider,
        "account": account,
        "order_id": order_id,
        "changes": patch,
    }
    _submit(data, idempotency_key, as_json)


@submit.command()
@with_common
@click.option("--amount", help="Amount to refund (default: the whole order).")
@click.option(
    "--line-item",
    "line_items",
    multiple=True,
    metavar="ID:QTY",
    help="Shoplazza partial refund line (repeatable).",
)
@click.option("--reason", help="Why the order is refunded.")
@readable_errors
def refund(
    provider: str,
    account: str,
    order_id: str,
    idempotency_key: str | None,
    as_json: bool,
    amount: str | None,
    line_items: tuple[str, ...],
    reason: str | None,
) -> None:
    """Refund an order in full or in part."""
    data = {
        "kind": "refund",
        "provider": provider,
        "account": account,
        "order_id": order_id,
        "amount": amount,
        "reason": reason,
        "line_items": [_line_item(item) for item in line_items] or None,
    }
    _submit(data, idempotency_key, as_json)


def _line_item(text: str) -> dict[str, object]:
    item_id, sep, quantity = text.rpartition(":")
    if not sep or not quantity.isdigit():
        raise InvalidSubmission([("line_items", f"{text!r} is not ID:QUANTITY")])
    return {"id": item_id, "quantity": int(quantity)}
