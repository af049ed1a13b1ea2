"""``ordercmd pause|resume PROVIDER[:ACCOUNT] --why ...``: an operator's pause, audited.

A pause holds every command of a provider, or of one account, at its claim for every worker
until resumed (no call, no attempt spent); on resume the held commands go out in admission
order at the account's rate. ``ordercmd status --providers`` shows pauses and held commands.
"""

from __future__ import annotations

import getpass

import click

from cli.context import opened_store, readable_errors
from cli.output import json_option, print_json
from store.pauses import Pauses

target_argument = click.argument("target", metavar="PROVIDER[:ACCOUNT]")
actor_option = click.option(
    "--actor", default=getpass.getuser, show_default="your user name", help="Who is acting."
)
why_option = click.option("--why", required=True, help="Why (required; kept in the audit log).")


@click.command()
@target_argument
@why_option
@actor_option
@json_option
@readable_errors
def pause(target: str, why: str, actor: str, as_json: bool) -> None:
    """Pause a provider, or one of its accounts, for every worker until resumed."""
    with opened_store() as (settings, store):
        pauses = Pauses(store.client, settings.accounts)
        parsed = pauses.target(target)
        held = pauses.pause(parsed, actor=actor, why=why)
    _done(as_json, parsed.field, "paused", held, f"{held} command(s) held")


@click.command()
@target_argument
@why_option
@actor_option
@json_option
@readable_errors
def resume(target: str, why: str, actor: str, as_json: bool) -> None:
    """Lift a pause: held commands go out in admission order at the account's rate."""
    with opened_store() as (settings, store):
        pauses = Pauses(store.client, settings.accounts)
        parsed = pauses.target(target)
        held = pauses.resume(parsed, actor=actor, why=why)
    _done(as_json, parsed.field, "resumed", held, f"{held} held command(s) to release in order")


def _done(as_json: bool, target: str, state: str, held: int, detail: str) -> None:
    if as_json:
        print_json({"target": target, "state": state, "held": held})
    else:
        click.echo(f"{target} {state}: {detail}")
