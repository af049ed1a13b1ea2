"""Runnable stand-ins for the Backd, Shoplazza and FastPOD HTTP APIs, with fault injection.

One ASGI app serves ``/backd``, ``/shoplazza/{store}``, ``/fastpod`` and the ``/_admin`` API;
``SandboxServer`` runs it on a free loopback port, ``main`` is the command line. Imports
``schemas`` only (it stands in for the outside world).

Dialects (``sandbox.dialects``, set at start, by ``POST /_admin/settings``, back at reset):
each INFERRED/ASSUMPTION line of providers.md that changes what a client sees is an option.

- ``backd_refusal_status`` 200|400|409|422 — 1.7 "some business errors come back with HTTP 200
  and ``error: true``" / rule 4 "HTTP 400/409/422, or 2xx with ``error: true``".
- ``backd_time`` chicago|utc|offset — 1.4 "``create_date`` "2026-04-16 10:30:00" (no time
  zone)", 1.6 "Locking (times in America/Chicago)".
- ``backd_cancelled`` order_cancelled|cancelled|canceled — 1.5 "Exact string NOT FOUND.
  ASSUMPTION: ... (e.g. ``order_cancelled``, ``cancelled``)".
- ``backd_replaced_refund`` declined|removed — 1.6 "``declined`` is INFERRED (replaced/deleted
  requests are described as declined)".
- ``shoplazza_state_refusal`` 406|400|422 — 2.6 "ASSUMPTION: ... a cancel of a finished order is
  rejected with 4xx"; 2.7 "406 (operation not allowed in the order's current state)", 2025-06+
  "400 (store, token or validation problem)".
- ``shoplazza_retry_after`` true|false — 2.8 rate-limit header "NOT FOUND"; 6 "whether
  ``Retry-After`` is sent".
- ``shoplazza_refund_list`` refund_orders|records|bare_list — 2.6 "List: ``GET
  /openapi/2022-01/orders/{id}/refund``" (shape not shown) and "``{order_financial_status,
  order_status, records[]}``" (2025-06).
- ``shoplazza_refund_status`` finished|pending — 2.5 "refund record status ``pending``,
  ``finished``, ``failed``".
- ``fastpod_errors`` mixed|laravel|status_false|ok_false — 3.6 "a 422 body is most likely
  ``{"message": "...", "errors": {...}}`` or ``{"status": false, "message": "..."}``, and an
  unauthenticated call likely returns 401 ``{"message": "Unauthenticated."}``"; "200 bodies
  carry ``status: true|false``".
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
from sandbox.dialects import NAMED as DIALECTS
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
    "DIALECTS",
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
