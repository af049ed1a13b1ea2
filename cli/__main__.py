"""``python -m cli``: the same as the ``ordercmd`` command."""

from cli.main import cli

cli()
