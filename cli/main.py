"""The ``ordercmd`` command: one click group; a subcommand's module is imported when it is used."""

from __future__ import annotations

import importlib
import json
from typing import Any

import click

# name -> "module:attribute". Importing every subcommand up front cost each invocation ~1 s
# (the web app, uvicorn, Celery); now `ordercmd submit` loads only what `submit` needs.
SUBCOMMANDS = {
    "batch": "cli.batch:batch",
    "bulk": "cli.bulk:bulk",
    "demo": "cli.demo.command:demo",
    "dlq": "cli.dlq:dlq",
    "hash-secret": "cli.secrets:hash_secret",
    "health": "cli.health:health",
    "intake": "cli.intake:intake",
    "pause": "cli.pause:pause",
    "quarantine": "cli.quarantine:quarantine",
    "resume": "cli.pause:resume",
    "sandbox": "cli.sandbox:sandbox_command",
    "serve": "cli.serve:serve",
    "status": "cli.status:status",
    "submit": "cli.submit:submit",
    "webhooks": "cli.webhooks:webhooks",
    "worker": "cli.worker:worker",
}


class LazyGroup(click.Group):
    """A click group that imports each subcommand from `SUBCOMMANDS` on first lookup."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every subcommand's name, sorted, without importing any of them."""
        return sorted({*super().list_commands(ctx), *SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand called ``cmd_name``, importing its module now; None if unknown."""
        if cmd_name not in self.commands and cmd_name in SUBCOMMANDS:
            module_name, attribute = SUBCOMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            self.add_command(command, name=cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; with ``--json`` among its arguments, errors are JSON too.

        The error goes to stdout as ``{"error": {"type": ..., "message": ...}}`` with the exit
        code click would have used (2 for usage errors, 1 otherwise).
        """
        wants_json = "--json" in ctx.args
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if not wants_json:
                raise
            error = {"type": type(exc).__name__, "message": exc.format_message()}
            click.echo(json.dumps({"error": error}))
            raise click.exceptions.Exit(exc.exit_code) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ordercmd")
def cli() -> None:
    """Exactly-once order commands (cancel, update, refund) at Backd, Shoplazza and FastPOD."""
