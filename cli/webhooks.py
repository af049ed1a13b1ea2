"""``ordercmd webhooks ...``: subscriptions, their delivery state, dead deliveries and replay."""

from __future__ import annotations

import time
from typing import Any

import click

from cli.context import opened_store, readable_errors
from cli.output import json_option, print_json
from config.webhooks import EVENT_KINDS
from store.webhooks.deliveries import DeadFilter, Deliveries
from store.webhooks.signing import new_secret
from store.webhooks.subscriptions import Subscriptions

SECRET_NOTE = "the secret is shown this once: store it where the receiver reads it"


@click.group()
def webhooks() -> None:
    """Webhook subscriptions: signed outcome events delivered to producers."""


@webhooks.command("list")
@json_option
@readable_errors
def list_(as_json: bool) -> None:
    """Every subscription with its delivery state (secrets never shown)."""
    with opened_store() as (settings, store):
        deliveries = Deliveries(store.client)
        rows = [
            sub.public() | {"state": deliveries.state(sub.id)}
            for sub in Subscriptions(store.client, settings).all()
        ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        state = row["state"]
        assert isinstance(state, dict)
        shown = "DISABLED " + state.get("disabled_why", "") if state.get("disabled") else "enabled"
        click.echo(f"{row['id']}  {row['url']}  {','.join(row['events'])}  {shown}")  # type: ignore[arg-type]
        if state.get("last_error"):
            click.echo(f"    last error: {state['last_error']}")


@webhooks.command()
@click.argument("url")
@click.option("--event", "events", multiple=True, type=click.Choice(EVENT_KINDS), required=True)
@click.option("--provider", help="Only this provider's commands.")
@click.option("--account", help="Only this account's commands.")
@click.option("--producer", help="Only the commands this producer submitted (default: all).")
@json_option
@readable_errors
def add(
    url: str,
    events: tuple[str, ...],
    provider: str | None,
    account: str | None,
    producer: str | None,
    as_json: bool,
) -> None:
    """Subscribe URL to outcome events; prints its id and its secret (once)."""
    with opened_store() as (settings, store):
        sub, secret = Subscriptions(store.client, settings).create(
            url, events, provider=provider, account=account, producer=producer
        )
    if as_json:
        print_json(sub.public() | {"secret": secret})
        return
    click.echo(f"subscribed {sub.id}\nsecret {secret}\n({SECRET_NOTE})")


@webhooks.command()
@click.argument("subscription_id")
@click.option("--overlap", "overlap_s", default=24 * 3600.0, show_default=True, type=float,
              help="Seconds the old secret keeps signing too.")  # fmt: skip
@readable_errors
def rotate(subscription_id: str, overlap_s: float) -> None:
    """Give a subscription a new secret; the old one signs too during the overlap."""
    with opened_store() as (settings, store):
        secret = Subscriptions(store.client, settings).rotate(subscription_id, overlap_s=overlap_s)
    click.echo(f"secret {secret}\n({SECRET_NOTE}; the old one signs {overlap_s:g} s more)")


@webhooks.command()
@click.argument("subscription_id")
@readable_errors
def remove(subscription_id: str) -> None:
    """Delete a subscription made through the API or this command."""
    with opened_store() as (settings, store):
        removed = Subscriptions(store.client, settings).delete(subscription_id)
    click.echo(f"removed {subscription_id}" if removed else f"no subscription {subscription_id}")


@webhooks.command()
@click.argument("subscription_id")
@readable_errors
def enable(subscription_id: str) -> None:
    """Resume a disabled subscription; what it missed is delivered."""
    with opened_store() as (settings, store):
        Subscriptions(store.client, settings).get(subscription_id)
        replayed = Deliveries(store.client).enable(subscription_id)
    click.echo(f"enabled {subscription_id}; {replayed} dead deliveries replayed")


@webhooks.command()
@click.argument("subscription_id")
@click.option("--why", required=True)
@readable_errors
def disable(subscription_id: str, why: str) -> None:
    """Stop delivering to a subscription (events wait in the stream)."""
    with opened_store() as (settings, store):
        Subscriptions(store.client, settings).get(subscription_id)
        Deliveries(store.client).disable(subscription_id, why)
    click.echo(f"disabled {subscription_id}")


filters = [
    click.option("--subscription", "subscription_id"),
    click.option("--event", type=click.Choice(EVENT_KINDS)),
    click.option("--command", "command_id"),
]


def with_filters(func: Any) -> Any:
    """Add the dead-delivery filter options."""
    for option in reversed(filters):
        func = option(func)
    return func


@webhooks.command()
@with_filters
@json_option
@readable_errors
def dead(
    subscription_id: str | None, event: str | None, command_id: str | None, as_json: bool
) -> None:
    """Dead deliveries, oldest first."""
    where = DeadFilter(subscription_id, event, command_id)
    with opened_store() as (_, store):
        found = [d for d in Deliveries(store.client).dead(limit=100_000) if where.matches(d)]
    rows = [
        {"subscription_id": d.subscription_id, "event": d.event.as_dict(), "attempts": d.attempts,
         "error": d.error, "dead_ms": d.dead_ms}
        for d in found
    ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    for d in found:
        died = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(d.dead_ms / 1000))
        click.echo(f"{d.subscription_id} {d.event.event_id} {d.event.event} {d.event.command_id} "
                   f"{died} after {d.attempts}: {d.error}")  # fmt: skip


@webhooks.command()
@with_filters
@click.option("--dry-run", is_flag=True, help="Only count what would be replayed.")
@json_option
@readable_errors
def replay(
    subscription_id: str | None, event: str | None, command_id: str | None, dry_run: bool,
    as_json: bool,
) -> None:  # fmt: skip
    """Deliver dead deliveries again (one by --command, or a filtered set); each once."""
    where = DeadFilter(subscription_id, event, command_id)
    with opened_store() as (_, store):
        chosen = Deliveries(store.client).replay_matching(where, dry_run=dry_run)
    if as_json:
        print_json({"dry_run": dry_run, "count": len(chosen)})
        return
    click.echo(f"{'would replay' if dry_run else 'replayed'} {len(chosen)} deliveries")


@webhooks.command("new-secret")
def new_secret_command() -> None:
    """Print a fresh secret for a subscription in the settings (``webhooks.<name>.secret``)."""
    click.echo(new_secret())
