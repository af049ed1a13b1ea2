"""``reconcile`` per provider, kind and order state, and the value matching it relies on."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers import OrderProvider, build_client, build_provider
from providers.backd.reconcile import REFUNDS as BACKD_REFUNDS
from providers.reconcile import fingerprint
from schemas import (
    AnyCommand,
    CancelOrder,
    DeadReason,
    Fingerprint,
    OrderSnapshot,
    RefundOrder,
    UpdateOrder,
    Verdict,
)
from tests.contract.cases import CASES

DONE, PENDING, IMPOSSIBLE = Verdict.DONE, Verdict.PENDING, Verdict.IMPOSSIBLE
UNSUPPORTED, AMBIGUOUS = DeadReason.UNSUPPORTED, DeadReason.AMBIGUOUS
SINCE = datetime(2026, 4, 18, 16, 20, tzinfo=UTC)


@functools.cache
def adapter(name: str) -> OrderProvider:
    """The adapter for ``name``; its client fails any request, proving reconcile is pure."""

    def no_network(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"reconcile made a request: {request.method} {request.url}")

    account = CASES[name].account
    return build_provider(account, build_client(account, transport=httpx.MockTransport(no_network)))


def cancel(name: str) -> CancelOrder:
    return CancelOrder(provider=name, account="a", order_id="O-1")


def update(name: str, **changes) -> UpdateOrder:
    return UpdateOrder(provider=name, account="a", order_id="O-1", changes=changes)


def refund(name: str, amount: str | None = None) -> RefundOrder:
    return RefundOrder(provider=name, account="a", order_id="O-1", amount=amount)


def order(status: str, **raw) -> OrderSnapshot:
    return OrderSnapshot(order_id="O-1", status=status, raw=raw)


class Row(NamedTuple):
    command: AnyCommand
    order: OrderSnapshot
    verdict: Verdict
    since: datetime | None = None
    reason: DeadReason | None = None
    before: Fingerprint | None = None


def backd_refund(amount, status="draft", created="2026-04-18 11:15:00"):
    return {"amount": amount, "create_date": created, "status": status, "locked_at": ""}


def backd_confirmed(*refunds, status="order_confirmed"):
    return order(status, order_total=9150, refunds=list(refunds))


def held(*refunds) -> Fingerprint | None:
    """The fingerprint of Backd refund entries held before the first send."""
    return fingerprint(list(refunds), BACKD_REFUNDS)


SINCE_AMBIGUOUS = (IMPOSSIBLE, SINCE, AMBIGUOUS)
OLD = backd_refund(81, "approved", created="2026-04-18 09:15:00")  # 2 h before (if UTC)
NEW = backd_refund(81, "draft", created="2026-04-18 11:15:00")
# Backd dates have no zone: 11:15 may be 16:15 UTC (Chicago) or 11:15 UTC, 5 h before SINCE.
# Without a fingerprint such a record can be neither counted nor ruled out: ambiguous.
BACKD = {
    "cancel-cancelled": Row(cancel("backd"), order("order_cancelled"), DONE),
    "cancel-any-cancel-word": Row(cancel("backd"), order("cancelled"), DONE),
    "cancel-placed": Row(cancel("backd"), order("order_placed"), PENDING),
    "cancel-confirmed": Row(cancel("backd"), order("order_confirmed"), IMPOSSIBLE),
    "cancel-terms-selected": Row(cancel("backd"), order("terms_selected"), IMPOSSIBLE),
    "update-amount-equal": Row(
        update("backd", shipping_amount="50.00"), order("order_confirmed", shipping_amount=50), DONE
    ),
    "update-nested-equal": Row(
        update("backd", shipping={"address": {"line1": "1 Main"}}),
        order("x", shipping={"address": {"line1": "1 Main", "city": "Austin"}}),
        DONE,
    ),
    "update-placed": Row(update("backd", tax_amount="5"), order("order_placed"), PENDING),
    "update-confirmed": Row(update("backd", tax_amount="5"), order("order_confirmed"), IMPOSSIBLE),
    "refund-recorded": Row(refund("backd", "81.00"), backd_confirmed(backd_refund(81)), DONE),
    "refund-zoneless-no-fingerprint": Row(
        refund("backd", "81"), backd_confirmed(OLD), IMPOSSIBLE, SINCE, AMBIGUOUS
    ),
    "refund-new-beside-fingerprint": Row(
        refund("backd", "81"), backd_confirmed(OLD, NEW), DONE, SINCE, None, held(OLD)
    ),
    "refund-only-what-was-held": Row(
        refund("backd", "81"), backd_confirmed(OLD), PENDING, SINCE, None, held(OLD)
    ),
    "refund-held-draft-now-declined": Row(
        refund("backd", "81"),
        backd_confirmed(backd_refund(81, "declined")),
        PENDING,
        SINCE,
        None,
        held(backd_refund(81, "draft")),
    ),
    "refund-held-draft-removed-by-ours": Row(
        refund("backd", "81"),
        backd_confirmed(NEW),
        DONE,
        SINCE,
        None,
        held(backd_refund(81, "draft", created="2026-04-18 09:15:00")),
    ),
    "refund-new-with-offset-no-fingerprint": Row(
        refund("backd", "81"),
        backd_confirmed(backd_refund(81, created="2026-04-18T11:15:00-05:00")),
        DONE,
        SINCE,
    ),
    "refund-older-than-any-zone": Row(
        refund("backd", "81"),
        backd_confirmed(backd_refund(81, created="2026-04-17 01:00:00")),
        PENDING,
        SINCE,
    ),
    "refund-full-is-order-total": Row(refund("backd"), backd_confirmed(backd_refund(9150)), DONE),
    "refund-declined": Row(
        refund("backd", "81"), backd_confirmed(backd_refund(81, "declined")), PENDING
    ),
    "refund-declined-any-case": Row(
        refund("backd", "81"), backd_confirmed(backd_refund(81, "Declined")), PENDING
    ),
    "refund-other-amount": Row(refund("backd", "81"), backd_confirmed(backd_refund(80)), PENDING),
    "refund-offset-before-margin": Row(
        refund("backd", "81"),
        backd_confirmed(backd_refund(81, created="2026-04-18T11:05:00-05:00")),
        PENDING,
        SINCE,
    ),
    "refund-unreadable-date": Row(
        refund("backd", "81"), backd_confirmed(backd_refund(81, created="?")), *SINCE_AMBIGUOUS
    ),
    "refund-placed": Row(refund("backd", "81"), backd_confirmed(status="order_placed"), IMPOSSIBLE),
    "refund-status-refund": Row(
        refund("backd", "81"), backd_confirmed(backd_refund(50), status="refund"), IMPOSSIBLE
    ),
}


def shop(status="placed", financial="paid", records=(), **raw):
    records = None if records is None else list(records)
    return order(status, financial_status=financial, refund_records=records, **raw)


def record(amount="81.00", status="finished", created="2026-04-18T16:15:00Z"):
    return {"id": "rf", "status": status, "amount": amount, "created_at": created}


SHOPLAZZA = {
    "cancel-cancelled": Row(cancel("shoplazza"), shop("cancelled"), DONE),
    "cancel-opened": Row(cancel("shoplazza"), shop("opened"), PENDING),
    "cancel-placed": Row(cancel("shoplazza"), shop("placed"), PENDING),
    "cancel-finished": Row(cancel("shoplazza"), shop("finished"), IMPOSSIBLE),
    "update-tags-any-order": Row(
        update("shoplazza", tags=["vip", "priority"]), shop(tags="priority, vip"), DONE
    ),
    "update-address-subset": Row(
        update("shoplazza", shipping_address={"zip": "95110"}),
        shop("cancelled", shipping_address={"zip": "95110", "city": "San Jose"}),
        DONE,
    ),
    "update-finished": Row(update("shoplazza", note="new"), shop("finished", note="old"), PENDING),
    "update-cancelled": Row(update("shoplazza", note="new"), shop("cancelled"), IMPOSSIBLE),
    "full-refunded": Row(refund("shoplazza"), shop(financial="refunded"), DONE),
    "full-refunding": Row(refund("shoplazza"), shop(financial="refunding"), DONE),
    "full-paid": Row(refund("shoplazza"), shop(financial="paid"), PENDING),
    "full-partially-refunded": Row(
        refund("shoplazza"), shop(financial="partially_refunded"), PENDING
    ),
    "full-partially-paid": Row(refund("shoplazza"), shop(financial="partially_paid"), PENDING),
    "full-waiting": Row(refund("shoplazza"), shop(financial="waiting"), IMPOSSIBLE),
    "partial-recorded": Row(refund("shoplazza", "81"), shop(records=[record()]), DONE, SINCE),
    "partial-other-zone": Row(
        refund("shoplazza", "81"),
        shop(records=[record(created="2026-04-19T00:15:00+08:00")]),
        DONE,
        SINCE,
    ),
    "partial-pending-record": Row(
        refund("shoplazza", "81"), shop(records=[record(status="pending")]), DONE
    ),
    "partial-failed-record": Row(
        refund("shoplazza", "81"), shop(records=[record(status="failed")]), PENDING
    ),
    "partial-failed-record-any-case": Row(
        refund("shoplazza", "81"), shop(records=[record(status="FAILED")]), PENDING
    ),
    "partial-other-amount": Row(refund("shoplazza", "81"), shop(records=[record("80")]), PENDING),
    "partial-before-margin": Row(
        refund("shoplazza", "81"),
        shop(records=[record(created="2026-04-18T16:09:59Z")]),
        PENDING,
        SINCE,
    ),
    "partial-at-margin": Row(
        refund("shoplazza", "81"),
        shop(records=[record(created="2026-04-18T16:10:00Z")]),
        DONE,
        SINCE,
    ),
    "partial-refunded-elsewhere": Row(
        refund("shoplazza", "81"), shop(financial="refunded"), IMPOSSIBLE
    ),
    "partial-zoneless-no-fingerprint": Row(
        refund("shoplazza", "81"),
        shop(records=[record(created="2026-04-18T16:15:00")]),
        IMPOSSIBLE,
        SINCE,
        AMBIGUOUS,
    ),
    "partial-records-unknown": Row(
        refund("shoplazza", "81"), shop(records=None), IMPOSSIBLE, SINCE, AMBIGUOUS
    ),
}

LINE = {"sku": "S1", "quantity": 2, "print_areas": {"front": "u"}}
FASTPOD = {
    "cancel-cancelled": Row(cancel("fastpod"), order("cancelled"), DONE),
    "cancel-draft": Row(cancel("fastpod"), order("draft"), PENDING),
    "cancel-new-order": Row(cancel("fastpod"), order("new_order"), PENDING),
    "cancel-on-hold": Row(cancel("fastpod"), order("on_hold"), PENDING),
    "cancel-in-production": Row(cancel("fastpod"), order("in_production"), IMPOSSIBLE),
    "cancel-rejected": Row(cancel("fastpod"), order("rejected"), IMPOSSIBLE),
    "update-method-as-string": Row(
        update("fastpod", shipping_method=2), order("shipped", shipping_method="2"), DONE
    ),
    "update-rush-old-name": Row(
        update("fastpod", rush_production=True), order("shipped", boost_production=True), DONE
    ),
    "update-line-items": Row(
        update("fastpod", line_items=[LINE]), order("on_hold", line_items=[{**LINE, "id": 9}]), DONE
    ),
    "update-draft": Row(update("fastpod", gift_message="hi"), order("draft"), PENDING),
    "update-shipped": Row(update("fastpod", gift_message="hi"), order("shipped"), IMPOSSIBLE),
    "refund-cancelled": Row(refund("fastpod"), order("cancelled"), DONE),
    "refund-full": Row(refund("fastpod"), order("new_order"), PENDING),
    "refund-amount-is-total": Row(
        refund("fastpod", "38.40"), order("draft", order_total=38.4), PENDING
    ),
    "refund-partial": Row(
        refund("fastpod", "10"), order("on_hold", order_total=38.4), IMPOSSIBLE, None, UNSUPPORTED
    ),
    "refund-in-production": Row(
        refund("fastpod"), order("in_production"), IMPOSSIBLE, None, UNSUPPORTED
    ),
}

ROWS = {
    f"{provider}-{name}": row
    for provider, table in (("backd", BACKD), ("shoplazza", SHOPLAZZA), ("fastpod", FASTPOD))
    for name, row in table.items()
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_reconcile(row):
    result = adapter(row.command.provider).reconcile(
        row.command, row.order, since=row.since, before=row.before
    )

    assert (result.verdict, result.reason) == (row.verdict, row.reason)
    assert result.order_status == row.order.status
    assert result.message


def test_backd_cancel_of_a_confirmed_order_says_a_refund_is_needed():
    result = adapter("backd").reconcile(cancel("backd"), order("order_confirmed"))

    assert "Backd cancels only order_placed orders" in result.message
    assert "refund" in result.message


@pytest.mark.parametrize("name", ["refund-partial", "refund-in-production"])
def test_fastpod_impossible_refunds_need_support(name):
    row = FASTPOD[name]

    assert "needs FastPOD support" in adapter("fastpod").reconcile(row.command, row.order).message


@given(st.text(max_size=30))
def test_backd_cancel_verdict_for_any_status(status):
    result = adapter("backd").reconcile(cancel("backd"), order(status))

    done, placed = "cancel" in status.lower(), status == "order_placed"
    assert result.verdict is (DONE if done else PENDING if placed else IMPOSSIBLE)


AMOUNTS = st.decimals(min_value=1, max_value=10_000, places=2)


@given(
    wanted=AMOUNTS, recorded=st.lists(st.tuples(AMOUNTS, st.sampled_from(["draft", "declined"])))
)
def test_backd_refund_is_done_exactly_when_a_live_entry_has_the_amount(wanted, recorded):
    snapshot = backd_confirmed(*(backd_refund(float(a), s) for a, s in recorded))

    result = adapter("backd").reconcile(refund("backd", str(wanted)), snapshot)

    live = any(Decimal(str(float(a))) == wanted and s != "declined" for a, s in recorded)
    assert result.verdict is (DONE if live else PENDING)


@pytest.mark.parametrize("name", sorted(CASES))
@given(status=st.text(max_size=20), kind=st.sampled_from(["cancel", "update", "refund"]))
def test_reconcile_never_raises_and_reports_the_status(name, status, kind):
    patches = {
        "backd": {"tax_amount": "1"},
        "shoplazza": {"note": "n"},
        "fastpod": {"gift_message": "g"},
    }
    command = {
        "cancel": cancel(name),
        "update": update(name, **patches[name]),
        "refund": refund(name),
    }

    result = adapter(name).reconcile(command[kind], order(status), since=SINCE)

    assert result.order_status == status
