"""Values on the wire: ``Retry-After``, money, and patch-vs-order matching."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime

import httpx

RECORD_MARGIN = timedelta(minutes=10)  # clock skew allowed for a record dated with a zone
_SECONDS = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")
_CENT = Decimal("0.01")


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value.

    Args:
        value: The header: delay-seconds (``"120"``) or an HTTP-date.
        now: The time an HTTP-date is measured from (aware).

    Returns:
        The delay, at least 0; ``None`` when the header is absent or garbage.
    """
    if value is None:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def retry_after_s(response: httpx.Response) -> float | None:
    """The ``Retry-After`` of ``response`` in seconds, ``None`` when absent or garbage."""
    return parse_retry_after(response.headers.get("Retry-After"), now=_server_now(response))


def _server_now(response: httpx.Response) -> datetime:
    # RFC 9110 measures an HTTP-date Retry-After from the reply's own Date header; our clock
    # is only the fallback (providers may not import store.clock).
    try:
        when = parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError, IndexError, OverflowError):
        return datetime.now(UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def decimal_of(value: object) -> Decimal | None:
    """A provider's amount (JSON number or decimal string) as a ``Decimal``; ``None`` if not one."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def json_number(amount: Decimal) -> int | float:
    """``amount`` as a JSON number with at most 2 decimals: ``81`` or ``81.5``, never a string."""
    cents = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    return int(cents) if cents == cents.to_integral_value() else float(cents)


def fields_match(want: object, have: object) -> bool:
    """Whether ``have`` (the provider's order) already holds every value of ``want`` (a patch).

    Objects match field by field (extra provider fields are ignored), lists item by item;
    a number and a numeric string match by value (``"81.00"`` and ``81``); an empty value
    (``""``, ``{}``, ``[]``) matches a missing or null one.
    """
    if have is None and want in ("", {}, []):
        return True
    if isinstance(want, dict):
        return isinstance(have, dict) and all(fields_match(v, have.get(k)) for k, v in want.items())
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return False
        return all(fields_match(w, h) for w, h in zip(want, have, strict=True))
    if isinstance(want, bool) or isinstance(have, bool) or type(want) is type(have):
        return type(want) is type(have) and want == have
    mine, theirs = decimal_of(want), decimal_of(have)
    return mine is not None and mine == theirs
