"""The seeded order book of every provider: predictable ids and states, same for every seed.

Seeded order ``n`` runs from 1 to ``orders_per_provider`` (default 24); its state is
``CYCLE[(n - 1) % len(CYCLE)]`` and its content depends only on ``n`` and the state.

- Backd ``BO-{n:06d}``: order_placed, order_confirmed, order_placed, order_confirmed,
  terms_selected, order_cancelled.
- Shoplazza ``1001-{n:08d}`` (status / financial_status): placed/paid, placed/paid,
  opened/waiting, finished/paid, cancelled/paid, placed/paid.
- FastPOD ``F237-{n:06d}``: new_order, draft, new_order, on_hold, in_production, shipped,
  cancelled, rejected.

A cancelled Backd order carries the ``backd_cancelled`` dialect's spelling.
So ``BO-000001`` is order_placed, ``BO-000002`` order_confirmed, ``1001-00000001`` placed and
paid, ``1001-00000003`` opened, ``F237-000001`` new_order, ``F237-000002`` draft.
"""

from __future__ import annotations

from sandbox.dialects import BackdTime
from sandbox.orders import Order, make_order, order_id
from schemas import Provider

BACKD_CYCLE = (
    "order_placed",
    "order_confirmed",
    "order_placed",
    "order_confirmed",
    "terms_selected",
    "order_cancelled",
)
SHOPLAZZA_CYCLE = ("placed", "placed", "opened", "finished", "cancelled", "placed")
FASTPOD_CYCLE = (
    "new_order",
    "draft",
    "new_order",
    "on_hold",
    "in_production",
    "shipped",
    "cancelled",
    "rejected",
)
CYCLES = {
    Provider.BACKD: BACKD_CYCLE,
    Provider.SHOPLAZZA: SHOPLAZZA_CYCLE,
    Provider.FASTPOD: FASTPOD_CYCLE,
}
STATES = {
    Provider.BACKD: frozenset(BACKD_CYCLE) | {"refund", "cancelled", "canceled"},
    Provider.SHOPLAZZA: frozenset(SHOPLAZZA_CYCLE),
    Provider.FASTPOD: frozenset(FASTPOD_CYCLE),
}
STATE_FIELD = {
    Provider.BACKD: "status",
    Provider.SHOPLAZZA: "status",
    Provider.FASTPOD: "order_status",
}


def seeded_state(provider: Provider, n: int) -> str:
    """State of seeded order ``n`` (1-based)."""
    cycle = CYCLES[provider]
    return cycle[(n - 1) % len(cycle)]


def seed_orders(
    provider: Provider, count: int, backd_style: BackdTime = "chicago"
) -> dict[str, Order]:
    """The seeded order book of ``provider``: ids 1..``count`` in their cycle states."""
    return {
        order_id(provider, n): make_order(
            provider, n, seeded_state(provider, n), backd_style=backd_style
        )
        for n in range(1, count + 1)
    }
