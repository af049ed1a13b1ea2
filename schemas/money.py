"""Money is ``Decimal`` with exactly two places, so equal amounts serialize (and hash) alike."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> Decimal:
    """``Decimal("10.5")`` becomes ``Decimal("10.50")``; the schema already refused more places."""
    return amount.quantize(CENT)
