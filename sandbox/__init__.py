"""Runnable stand-ins for the Backd, Shoplazza and FastPOD HTTP APIs, with fault injection.

One ASGI app serves ``/backd``, ``/shoplazza/{store}``, ``/fastpod`` and the ``/_admin`` API;
``SandboxServer`` runs it on a free loopback port, ``main`` is the command line. Imports
``schemas`` only (it stands in for the outside world).
"""

from sandbox.admin_client import SandboxAdmin
from sandbox.app import create_app
from sandbox.cli import main
from sandbox.config import (
    DEFAULT_BACKD_PUBLIC_KEY,
    DEFAULT_BACKD_SECRET_KEY,
    DEFAULT_FASTPOD_TOKEN,
    DEFAULT_SHOPLAZZA_TOKEN,
    SandboxConfig,
)
from sandbox.faults import BadResponse, FaultScope, FaultSettings
from sandbox.orders import order_id
from sandbox.seed import seeded_state
from sandbox.server import SandboxServer
from sandbox.state import Mutation, SandboxState

__all__ = [
    "DEFAULT_BACKD_PUBLIC_KEY",
    "DEFAULT_BACKD_SECRET_KEY",
    "DEFAULT_FASTPOD_TOKEN",
    "DEFAULT_SHOPLAZZA_TOKEN",
    "BadResponse",
    "FaultScope",
    "FaultSettings",
    "Mutation",
    "SandboxAdmin",
    "SandboxConfig",
    "SandboxServer",
    "SandboxState",
    "create_app",
    "main",
    "order_id",
    "seeded_state",
]
