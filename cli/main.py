"""The ``ordercmd`` command: one click group, a subcommand per job."""

from __future__ import annotations

import click

from cli.batch import batch
from cli.bulk import bulk
from cli.demo import demo
from cli.dlq import dlq
from cli.intake import intake
from cli.sandbox import sandbox_command
from cli.secrets import hash_secret
from cli.serve import serve
from cli.status import status
from cli.submit import submit
from cli.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ordercmd")
def cli() -> None:
    """Exactly-once order commands (cancel, update, refund) at Backd, Shoplazza and FastPOD."""


cli.add_command(worker)
cli.add_command(submit)
cli.add_command(status)
cli.add_command(dlq)
cli.add_command(serve)
cli.add_command(sandbox_command, name="sandbox")
cli.add_command(demo)
cli.add_command(bulk)
cli.add_command(batch)
cli.add_command(intake)
cli.add_command(hash_secret)
