"""``ordercmd demo``: a self-contained demo of ordercmd, torn down when it ends."""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import readable_errors

HELP = "Run a self-contained demo: sandboxes with faults, a worker and a mixed batch of commands."


@click.command(help=HELP)
@click.option(
    "--commands",
    "count",
    default=300,
    show_default=True,
    type=click.IntRange(1, 5000),
    help="How many commands to submit.",
)
@click.option("--keep-running", is_flag=True, help="Leave sandbox and worker up until Ctrl-C.")
@click.option("--seed", type=int, help="Seed of the command mix and the sandbox's faults.")
@click.option(
    "--stop-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Stop as on Ctrl-C when this file is deleted (make deletes it on SIGINT or SIGTERM).",
)
@click.pass_context
@readable_errors
def demo(
    ctx: click.Context, count: int, keep_running: bool, seed: int | None, stop_file: Path | None
) -> None:
    """Run the demo; exit 0 when every command finished, 130 on Ctrl-C."""
    from cli.demo.run import run_demo  # the sandbox, web app and Celery: loaded to run, not --help

    ctx.exit(run_demo(count, keep_running=keep_running, seed=seed, stop_file=stop_file))
