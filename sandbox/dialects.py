"""Dialects: each open detail of providers.md that a client can see, as one sandbox option.

The real providers leave these details open (providers.md marks them INFERRED or ASSUMPTION),
so the sandbox can speak every reading; a client must reach the same outcome in each. Options
are set at start (``SandboxConfig`` / ``python -m sandbox`` flags), changed while running
(``POST /_admin/settings``) and put back by ``POST /_admin/reset``. First value = default.

- ``backd_refusal_status`` 200 | 400 | 409 | 422: HTTP status of a Backd business refusal
  (wrong status, over a limit); the envelope always says ``error: true``. providers.md 1.7:
  "INFERRED: ... some business errors come back with HTTP 200 and ``error: true``" and
  "ASSUMPTION ... 4. HTTP 400/409/422, or 2xx with ``error: true`` -> business rule".
- ``backd_time`` chicago | utc | offset: how Backd writes ``create_date`` and ``locked_at``:
  zone-less America/Chicago wall clock, zone-less UTC, or ISO 8601 with an offset.
  providers.md 1.4: "``create_date`` "2026-04-16 10:30:00" (no time zone)"; 1.6 "Locking
  (times in America/Chicago)".
- ``backd_cancelled`` order_cancelled | cancelled | canceled: the status a Backd cancel sets.
  providers.md 1.5: "cancelled ... Exact string NOT FOUND. ASSUMPTION: treat any status
  containing ``cancel`` (e.g. ``order_cancelled``, ``cancelled``) as cancelled".
- ``backd_replaced_refund`` declined | removed: what becomes of the open refund request a new
  POST replaces (or a DELETE withdraws): kept as ``declined``, or gone from ``refunds[]``.
  providers.md 1.6: "``declined`` is INFERRED (replaced/deleted requests are described as
  declined)".
- ``shoplazza_state_refusal`` 406 | 400 | 422: the status of a Shoplazza refusal for the
  order's state (cancel of a finished order, refund of an unpaid one). providers.md 2.6
  "ASSUMPTION: ... a second cancel or a cancel of a finished order is rejected with 4xx"; 2.7
  "406 (operation not allowed in the order's current state ...)", "2025-06 and 2026-01
  collapse errors into ... 400".
- ``shoplazza_retry_after`` true | false: whether a Shoplazza 429 carries ``Retry-After``.
  providers.md 2.8 "A rate-limit response header is mentioned but its name is cut off ...
  NOT FOUND"; 6 "whether ``Retry-After`` is sent".
- ``shoplazza_refund_list`` refund_orders | records | bare_list: the body of
  ``GET .../orders/{id}/refund``: ``{order_financial_status, order_status, records[]}`` of
  2022-01 refund-order objects (money under ``refunds.refund_price``), the same envelope with
  flat 2025-06-style records (``refund_total``), or a bare list of refund-order objects.
  providers.md 2.6: "List: ``GET /openapi/2022-01/orders/{id}/refund``" (shape not shown) and
  "List: ``GET /openapi/{v}/orders/{order_id}/refund`` -> ``{order_financial_status,
  order_status, records[]}``"; the adapter's payloads note "the 2022-01 list shape is not
  documented".
- ``shoplazza_refund_status`` finished | pending: the status a new Shoplazza refund record
  has (``pending`` also makes the order's financial_status ``refunding``). providers.md 2.5:
  "refund record status ``pending``, ``finished``, ``failed``"; when a refund finishes is not
  documented.
- ``fastpod_errors`` mixed | laravel | status_false | ok_false: FastPOD's refusal body:
  422 ``{"status": false, "message", "errors"}``, 422 ``{"message", "errors"}``, 422
  ``{"status": false, "message"}``, or HTTP 200 ``{"status": false, "message"}``. A 401 is
  always ``{"message": "Unauthenticated."}``. providers.md 3.6: "INFERRED: ... a 422 body is
  most likely ``{"message": "...", "errors": {...}}`` or ``{"status": false, "message":
  "..."}``, and an unauthenticated call likely returns 401 ``{"message":
  "Unauthenticated."}``. ASSUMPTION."; "CONFIRMED: 200 bodies carry ``status: true|false``".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

BackdRefusalStatus = Literal[200, 400, 409, 422]
BackdTime = Literal["chicago", "utc", "offset"]
BackdCancelled = Literal["order_cancelled", "cancelled", "canceled"]
BackdReplacedRefund = Literal["declined", "removed"]
ShoplazzaStateRefusal = Literal[406, 400, 422]
ShoplazzaRefundList = Literal["refund_orders", "records", "bare_list"]
ShoplazzaRefundStatus = Literal["finished", "pending"]
FastpodErrors = Literal["mixed", "laravel", "status_false", "ok_false"]

CHICAGO = ZoneInfo("America/Chicago")
BACKD_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DIALECT_FIELDS = (
    "backd_refusal_status",
    "backd_time",
    "backd_cancelled",
    "backd_replaced_refund",
    "shoplazza_state_refusal",
    "shoplazza_retry_after",
    "shoplazza_refund_list",
    "shoplazza_refund_status",
    "fastpod_errors",
)

# Named sets of options that together use every value of every option at least once; the
# test suites run their provider scenarios in each.
NAMED: dict[str, dict[str, Any]] = {
    "documented": {},
    "utc": {
        "backd_refusal_status": 400,
        "backd_time": "utc",
        "backd_cancelled": "cancelled",
        "backd_replaced_refund": "removed",
        "shoplazza_state_refusal": 400,
        "shoplazza_retry_after": False,
        "shoplazza_refund_list": "records",
        "shoplazza_refund_status": "pending",
        "fastpod_errors": "laravel",
    },
    "offset": {
        "backd_refusal_status": 422,
        "backd_time": "offset",
        "backd_cancelled": "canceled",
        "shoplazza_state_refusal": 422,
        "shoplazza_refund_list": "bare_list",
        "fastpod_errors": "status_false",
    },
    "conflict": {
        "backd_refusal_status": 409,
        "backd_time": "utc",
        "backd_cancelled": "order_cancelled",
        "shoplazza_refund_status": "pending",
        "fastpod_errors": "ok_false",
    },
}


def backd_time(at: datetime, style: BackdTime) -> str:
    """``at`` as Backd writes it in ``style`` (``2026-04-16 10:30:00`` or with an offset)."""
    if style == "utc":
        return at.astimezone(UTC).strftime(BACKD_TIME_FORMAT)
    local = at.astimezone(CHICAGO)
    if style == "offset":
        return local.isoformat(timespec="seconds")
    return local.strftime(BACKD_TIME_FORMAT)


def parse_backd_time(text: str, style: BackdTime) -> datetime:
    """A Backd time the sandbox wrote in ``style``, as an aware datetime."""
    when = datetime.fromisoformat(text)
    if when.tzinfo is not None:
        return when
    return when.replace(tzinfo=UTC if style == "utc" else CHICAGO)
