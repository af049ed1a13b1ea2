"""The one ASGI app serving all three providers, the admin API and the fault pipeline."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from sandbox import admin, backd, fastpod, shoplazza
from sandbox.config import SandboxConfig
from sandbox.pipeline import FaultPipeline
from sandbox.state import SandboxState


def create_app(
    config: SandboxConfig | None = None, *, state: SandboxState | None = None
) -> Starlette:
    """Build the sandbox app; its state is at ``app.state.sandbox``.

    Args:
        config: start configuration (ignored when ``state`` is given).
        state: an existing state to serve, e.g. one built with a fake clock.

    Returns:
        A Starlette app with ``/backd``, ``/shoplazza/{store}``, ``/fastpod`` and ``/_admin``.
    """
    state = state or SandboxState(config)
    app = Starlette(
        routes=[
            Mount("/backd", routes=backd.ROUTES),
            Mount("/shoplazza/{store}", routes=shoplazza.ROUTES),
            Mount("/fastpod", routes=fastpod.ROUTES),
            Mount("/_admin", routes=admin.ROUTES),
        ],
        middleware=[Middleware(FaultPipeline, state=state)],
    )
    app.state.sandbox = state
    return app
