"""``ordercmd webhooks ...``: subscriptions, their delivery state, dead deliveries and replay."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import click

from cli.context import opened_store, readable_errors
from cli.dlq import actor_option
from cli.output import json_option, print_json
from config.webhooks import EVENT_KINDS
from runs.bulk_runs import Run
from runs.delivery_runs import DeliveryRunDriver, DeliveryRuns
from store.search import Search
from store.webhooks.deliveries import DeadFilter, Deliveries
from store.webhooks.gaps import Gaps
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
@click.option("--event-id", help="One delivery: its event id (with --subscription).")
@click.option("--dry-run", is_flag=True, help="Only plan and count what would be replayed.")
@click.option("--rate", type=click.FloatRange(0.01, 10_000), default=50.0, show_default=True,
              help="Deliveries replayed per second (shared by every driver).")  # fmt: skip
@click.option("--yes", is_flag=True, help="Do not ask first.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Drive the run here until it ends, or leave it to the workers.")  # fmt: skip
@click.option("--why", default="", help="Why (kept in the audit log); needed unless --dry-run.")
@actor_option
@json_option
@readable_errors
def replay(
    subscription_id: str | None, event: str | None, command_id: str | None,
    event_id: str | None, dry_run: bool, rate: float, yes: bool, wait: bool, why: str,
    actor: str, as_json: bool,
) -> None:  # fmt: skip
    """Deliver dead deliveries again, each once: a planned run at --rate, Ctrl-C cancels it."""
    if not dry_run and not why.strip():
        raise click.UsageError("--why is needed to replay (the audit log keeps it)")
    where = DeadFilter(subscription_id, event, command_id, event_id)
    with opened_store() as (_, store):
        driver = DeliveryRunDriver(store.client)
        runs = driver.runs
        run = driver.drive(runs.plan_deliveries(where, within=None, actor=actor, why=why).id)
        if not as_json:
            click.echo(f"replay plan {run.id}: {run.total} dead deliveries {where}")
            for group, count in sorted(run.counts.items()):
                click.echo(f"  {count:6d}  {group.replace('|', '  ')}")
        if not run.total or dry_run:
            if not run.total:
                runs.cancel(run.id, actor=actor)  # an empty plan is left for no one to start
            _done(as_json, run, dry_run=True)
            return
        if not yes:
            click.confirm(f"replay {run.total} dead deliveries at {rate:g}/s?", abort=True)
        runs.start(run.id, actor=actor, rate_per_s=rate)
        if wait:
            try:
                run = driver.drive(run.id, progress=None if as_json else _progress)
            except KeyboardInterrupt:
                runs.cancel(run.id, actor=actor)
        _done(as_json, runs.require(run.id), dry_run=False)


def _progress(run: Run) -> None:
    click.echo(f"  {run.processed} of {run.total}", err=True)


def _done(as_json: bool, run: Run, *, dry_run: bool) -> None:
    count = run.total if dry_run else run.results.get("queued", 0)
    if as_json:
        print_json({"dry_run": dry_run, "count": count, "run": run.id, "status": run.status})
        return
    if dry_run:
        click.echo(f"would replay {count} deliveries (plan {run.id} is {run.status})")
        return
    skipped = run.results.get("skipped", 0)
    click.echo(f"run {run.id} {run.status}: replayed {count} of {run.total}"
               + (f" ({skipped} replayed elsewhere first)" if skipped else ""))  # fmt: skip


@webhooks.command()
@json_option
@readable_errors
def runs(as_json: bool) -> None:
    """Delivery-replay runs, newest first: status, rate, progress."""
    with opened_store() as (_, store):
        recent = DeliveryRuns(store.client).recent()
    if as_json:
        print_json([asdict(r) for r in recent])
        return
    for r in recent:
        click.echo(f"{r.id}  {r.status}  {r.processed} of {r.total} at {r.rate_per_s:g}/s  "
                   f"by {r.actor}: {r.filter}")  # fmt: skip


@webhooks.command()
@click.argument("run_id")
@actor_option
@readable_errors
def cancel(run_id: str, actor: str) -> None:
    """Cancel a delivery-replay run: what it has not handed out is not replayed."""
    with opened_store() as (_, store):
        runs = DeliveryRuns(store.client)
        if not runs.cancel(run_id, actor=actor):
            raise click.ClickException(f"run {run_id} is {runs.require(run_id).status}")
        run = runs.require(run_id)
    click.echo(f"cancelled {run_id}: {run.processed} replayed, {run.left} left undone")


@webhooks.command()
@click.argument("subscription_id")
@json_option
@readable_errors
def gaps(subscription_id: str, as_json: bool) -> None:
    """The subscription's gaps: events the stream's bound trimmed before it read them."""
    with opened_store() as (settings, store):
        Subscriptions(store.client, settings).get(subscription_id)
        found = Gaps(store.client).of(subscription_id)
    if as_json:
        print_json([asdict(g) for g in found])
        return
    for number, gap in enumerate(found):
        filled = "not filled" if gap.filled is None else f"filled: {gap.filled} rebuilt"
        click.echo(f"{number}  after {gap.after} before {gap.before}  ({filled})")


@webhooks.command("fill-gap")
@click.argument("subscription_id")
@click.option("--gap", "number", type=click.IntRange(0, 99), default=0, show_default=True,
              help="Which gap (0: the newest; see ordercmd webhooks gaps).")  # fmt: skip
@click.option("--why", required=True, help="Why (kept in the audit log).")
@actor_option
@readable_errors
def fill_gap(subscription_id: str, number: int, why: str, actor: str) -> None:
    """Rebuild a gap's final events from the command records and deliver them (once)."""
    with opened_store() as (settings, store):
        sub = Subscriptions(store.client, settings).get(subscription_id)
        search = Search.of(store.client, settings)
        filled = Gaps(store.client).fill(sub, search, number, actor=actor, why=why)
    click.echo(f"gap {number} of {subscription_id}: {filled} final events rebuilt and queued")


@webhooks.command("new-secret")
def new_secret_command() -> None:
    """Print a fresh secret for a subscription in the settings (``webhooks.<name>.secret``)."""
    click.echo(new_secret())
