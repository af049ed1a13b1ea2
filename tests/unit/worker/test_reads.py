"""An attempt's one read: what it settles, and what it keeps, from Backd's zone-less refunds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from providers import BackdAccount, build_client, build_provider
from providers.backd.reconcile import REFUNDS
from providers.reconcile import fingerprint
from schemas import DeadReason, ReadPurpose, ReadShowed, RefundOrder
from worker.reads import AttemptRead

SINCE = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)
OLD = {"amount": 7.5, "create_date": "2026-12-05 16:00:00", "status": "approved"}  # 2 h (UTC)
NEW = {"amount": 7.5, "create_date": "2026-12-05 18:00:05", "status": "draft"}  # ours (UTC)
COMMAND = RefundOrder(provider="backd", account="acme", order_id="BO-1", amount="7.50")


def read_of(*refunds: dict[str, object], doubt: bool, kept=None) -> AttemptRead:
    data = {"backd_order_id": "BO-1", "status": "order_confirmed", "order_total": 100}
    body = {"data": data | {"refunds": list(refunds)}, "error": False, "message": "ok"}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    account = BackdAccount(
        provider="backd", base_url="http://backd.test", public_key="pk", secret_key="sk"
    )
    provider = build_provider(account, build_client(account, transport=transport))
    return AttemptRead(provider, COMMAND, SINCE, doubt=doubt, kept=kept)


def test_before_the_first_send_an_older_refund_of_the_same_amount_is_not_this_one():
    read = read_of(OLD, doubt=False)
    found = read.read(ReadPurpose.BEFORE_SEND)
    assert (read.settled(), read.note and read.note.showed) == (None, ReadShowed.PENDING)
    assert found.message
    assert read.fingerprint == fingerprint([OLD], REFUNDS)  # kept with this attempt


def test_after_doubt_a_record_beside_the_fingerprint_is_this_refund():
    read = read_of(OLD, NEW, doubt=True, kept=fingerprint([OLD], REFUNDS))
    read.read(ReadPurpose.AFTER_DOUBT)
    settled = read.settled()
    assert settled is not None
    assert (settled.state, read.note and read.note.showed) == ("already_done", ReadShowed.DONE)


def test_after_doubt_with_only_the_held_records_the_refund_is_still_to_send():
    read = read_of(OLD, doubt=True, kept=fingerprint([OLD], REFUNDS))
    read.read(ReadPurpose.AFTER_DOUBT)
    assert read.settled() is None


@pytest.mark.parametrize("refunds", [(NEW,), (OLD,)], ids=["landed", "older"])
def test_without_a_fingerprint_a_zone_less_record_of_that_amount_is_ambiguous(refunds):
    # the worker died before writing its attempt: the date alone cannot place the record
    read = read_of(*refunds, doubt=True)
    read.read(ReadPurpose.AFTER_DOUBT)
    settled = read.settled()
    assert settled is not None
    assert (settled.reason, read.note and read.note.showed) == (
        DeadReason.AMBIGUOUS,
        ReadShowed.AMBIGUOUS,
    )
    assert refunds[0]["create_date"] in settled.message


def test_without_a_fingerprint_a_record_older_than_any_zone_allows_is_ruled_out():
    long_ago = OLD | {"create_date": (SINCE - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")}
    read = read_of(long_ago, doubt=True)
    read.read(ReadPurpose.AFTER_DOUBT)
    assert read.settled() is None


def test_an_attempt_reads_once():
    read = read_of(doubt=False)
    read.read(ReadPurpose.BEFORE_SEND)
    with pytest.raises(RuntimeError):
        read.read(ReadPurpose.AFTER_REFUSAL)
