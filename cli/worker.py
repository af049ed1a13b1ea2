"""``ordercmd worker``: a Celery worker for ordercmd, with settings checked before it starts."""

from __future__ import annotations

import sys

import click

from cli.context import readable_errors, settings_with_redis
from worker.queues import BULK_QUEUE, LIVE_QUEUE, RESEND_QUEUE, WEBHOOK_QUEUE


@click.command()
@click.option("--concurrency", "-c", type=click.IntRange(1), help="Worker processes or threads.")
@click.option(
    "--pool",
    type=click.Choice(["prefork", "threads", "solo"]),
    default="prefork",
    show_default=True,
)
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.option("--hostname", "-n", help="Celery node name (default: ordercmd@<host>).")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice([LIVE_QUEUE, BULK_QUEUE, RESEND_QUEUE, WEBHOOK_QUEUE]),
    help="Consume only these queues (repeatable; default all): e.g. webhook deliveries apart. "
    f"A worker consuming commands (either queue) consumes their re-sends ({RESEND_QUEUE}) too.",
)
@readable_errors
def worker(
    concurrency: int | None, pool: str, loglevel: str, hostname: str | None, queues: tuple[str, ...]
) -> None:
    """Run a worker: execute commands, retry, dead-letter."""
    from worker.app import QUEUES, app  # Celery loads when the worker runs, not for --help
    from worker.logs import configure_logging

    configure_logging(loglevel)  # now: Celery warns (running as root) before it sets up logging

    settings = settings_with_redis()
    if not settings.accounts:
        click.secho("no accounts configured: every command will be refused", fg="yellow", err=True)
    consumed = ",".join(with_resends(queues) or QUEUES)
    argv = ["worker", f"--pool={pool}", f"--loglevel={loglevel}", f"--queues={consumed}"]
    argv += [f"--concurrency={concurrency}"] if concurrency else []
    argv += [f"--hostname={hostname}"] if hostname else ["--hostname=ordercmd@%h"]
    # the banner is for people: a service's log (not a terminal) stays one JSON line per record
    argv = argv if sys.stderr.isatty() else ["--quiet", *argv]
    app.worker_main(argv=argv)


def with_resends(queues: tuple[str, ...]) -> tuple[str, ...]:
    """``queues``, with the re-send queue first when it consumes commands: never stranded."""
    if RESEND_QUEUE in queues or not {LIVE_QUEUE, BULK_QUEUE} & set(queues):
        return queues
    return (RESEND_QUEUE, *queues)
