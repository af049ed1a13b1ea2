"""``ordercmd serve``: the web app (intake, operator API, dashboard) under uvicorn."""

from __future__ import annotations

import click

from cli.context import readable_errors, settings_with_redis


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@readable_errors
def serve(host: str, port: int) -> None:
    """Serve the HTTP intake, the operator API and the dashboard."""
    import uvicorn  # the web stack and Celery load when serving, not for every `ordercmd`

    from web import create_app
    from worker.app import build_store, publish
    from worker.logs import configure_logging

    settings = settings_with_redis()
    app = create_app(settings, build_store(settings), publish)
    click.echo(f"ordercmd web on http://{host}:{port}/", err=True)
    configure_logging()
    # log_config=None: uvicorn installs no handler; its records go through ours
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)
