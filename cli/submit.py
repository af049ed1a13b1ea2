"""``ordercmd submit cancel|update|refund``: one command from the shell, ``--wait`` for its end.

With ``--wait [SECONDS]`` the command waits for the outcome and prints the final state; the exit
code says how it ended: 0 succeeded or already done, 3 dead, 4 timed out (still running; it goes
on without you), 5 discarded by an operator. 1 is an error (refused, conflict, Redis down).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from cli.context import opened_store, readable_errors
from cli.output import json_option, print_json
from providers.errors import InvalidSubmission
from schemas import CommandRecord, CommandState, Provider

if TYPE_CHECKING:
    from producer import Submission

DEFAULT_WAIT_S = 60.0  # --wait without a value
EXIT_CODES = {  # --wait: how the command ended -> the exit code
    CommandState.SUCCEEDED: 0,
    CommandState.ALREADY_DONE: 0,
    CommandState.DEAD: 3,
    CommandState.DISCARDED: 5,
}
EXIT_TIMED_OUT = 4
WAIT_HELP = (
    "Wait for the outcome (default 60 s) and print it. Exit code: 0 succeeded or already done, "
    "3 dead, 4 timed out, 5 discarded."
)

common = [
    click.option("--provider", required=True, type=click.Choice([p.value for p in Provider])),
    click.option("--account", required=True, help="Account name from the settings."),
    click.option("--order", "order_id", required=True, help="The provider's order id."),
    click.option("--key", "idempotency_key", help="Idempotency key (default: from content)."),
    json_option,
    click.option(
        "--wait",
        "wait_s",
        type=click.FloatRange(min=0),
        is_flag=False,
        flag_value=DEFAULT_WAIT_S,
        default=None,
        metavar="[SECONDS]",
        help=WAIT_HELP,
    ),
]


def with_common(func: Any) -> Any:
    """Add the options every kind of command takes."""
    for option in reversed(common):
        func = option(func)
    return func


@click.group()
def submit() -> None:
    """Submit one order command."""


def _submit(
    data: dict[str, Any], idempotency_key: str | None, as_json: bool, wait_s: float | None
) -> None:
    from producer import Producer  # they load Celery: imported to submit, not for --help
    from worker.app import publish

    with opened_store() as (settings, store):
        submission = Producer(settings, store, publish).submit(
            {k: v for k, v in data.items() if v is not None}, idempotency_key=idempotency_key
        )
        if wait_s is not None:
            _waited(submission, submission.wait(wait_s), as_json)
    _admitted(submission, as_json)


def _waited(submission: Submission, record: CommandRecord | None, as_json: bool) -> None:
    """Print how the command ended and exit with its code (never returns)."""
    if as_json:
        print_json({
            "command_id": submission.command_id,
            "admitted": submission.admitted,
            "idempotency_key": submission.idempotency_key,
            "state": record.state if record else None,
            "dead_reason": record.dead_reason if record else None,
            "last_message": record.last_message if record else None,
            "timed_out": record is None,
        })  # fmt: skip
    elif record is None:
        click.echo(f"timed out: {submission.command_id} has not ended yet (it goes on)")
    else:
        reason = f" ({record.dead_reason})" if record.dead_reason else ""
        click.echo(f"{record.state}{reason} {submission.command_id}: {record.last_message}")
    code = EXIT_TIMED_OUT if record is None else EXIT_CODES.get(record.state, EXIT_TIMED_OUT)
    raise SystemExit(code)


def _admitted(submission: Submission, as_json: bool) -> None:
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
    wait_s: float | None,
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
    _submit(data, idempotency_key, as_json, wait_s)


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
    wait_s: float | None,
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
    _submit(data, idempotency_key, as_json, wait_s)


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
    wait_s: float | None,
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
    _submit(data, idempotency_key, as_json, wait_s)


def _line_item(text: str) -> dict[str, object]:
    item_id, sep, quantity = text.rpartition(":")
    if not sep or not quantity.isdigit():
        raise InvalidSubmission([("line_items", f"{text!r} is not ID:QUANTITY")])
    return {"id": item_id, "quantity": int(quantity)}
