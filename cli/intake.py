"""``ordercmd intake stream``: turn order events on a Redis stream into commands."""

from __future__ import annotations

import signal
import socket
import threading
from types import FrameType

import click

from cli.context import opened_store, readable_errors
from producer import Producer
from producer.streams import StreamConfig, StreamIntake
from store import keys


@click.group()
def intake() -> None:
    """Intake of order events from outside ordercmd."""


@intake.command()
@click.option("--stream", default=keys.event_stream, show_default=True, help="Stream to read.")
@click.option("--group", default="ordercmd", show_default=True, help="Consumer group.")
@click.option(
    "--consumer",
    default=socket.gethostname,
    show_default="the host name",
    help="This consumer's name; keep it across restarts so its pending events are re-read.",
)
@click.option("--count", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--claim-idle-s",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0.01),
    help="Take over events another consumer has left unacknowledged this long.",
)
@readable_errors
def stream(stream: str, group: str, consumer: str, count: int, claim_idle_s: float) -> None:
    """Read events ({"command": "<json>", "idempotency_key"?, "event_id"?}) until stopped.

    Each event is acknowledged only after its command is admitted; an event that is not a valid
    command is acknowledged and recorded in {ordercmd}:dead-events:<stream> with the reason.
    """
    config = StreamConfig(
        stream=stream,
        group=group,
        consumer=consumer,
        count=count,
        claim_idle_ms=round(claim_idle_s * 1000),
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from worker.app import publish  # Celery loads when the command runs, not for --help
    from worker.logs import configure_logging

    configure_logging()
    with opened_store() as (settings, store):
        click.echo(f"reading {stream} as {group}/{consumer}; dead events to {config.dead_stream}")
        stats = StreamIntake(Producer(settings, store, publish), store.client, config).run(stop)
    click.echo(
        f"stopped: {stats.read} events read, {stats.new} new commands, {stats.existing} "
        f"already admitted, {stats.dead} refused, {stats.claimed} taken over"
    )
