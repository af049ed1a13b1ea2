"""``ordercmd sandbox``: the provider stand-ins on one port (the flags of ``python -m sandbox``)."""

from __future__ import annotations

import click


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def sandbox_command(ctx: click.Context) -> None:
    """Serve stand-in Backd, Shoplazza and FastPOD APIs with fault injection."""
    import sandbox  # its web stack loads when it serves, not for every `ordercmd`

    ctx.exit(sandbox.main(list(ctx.args)))
