"""The four observations of issue 17, each in the sandbox dialect that shows it.

1. A Backd refund whose POST never arrived is not taken for an older refund of the same amount.
2. Backd refusals answered with HTTP 400 are read before they are final.
3. The Backd adapter uses what it read: no call the docs rule out, one read per attempt.
4. Every read is recorded on its attempt.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox import DIALECTS
from schemas import CommandState, DeadReason, ReadPurpose, ReadShowed
from tests.integration.harness import order_command, settle_all, unthrottled

pytestmark = pytest.mark.integration


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    return unthrottled(ordercmd_env)


@pytest.fixture
def run(sandbox, store, producer, start_worker):
    """Submit commands and return their records once settled (one worker for the test)."""
    start_worker(pool="threads", concurrency=4)

    def submit(*commands):
        ids = [producer.submit(c).command_id for c in commands]
        records = settle_all(store.client, ids, timeout_s=30)
        return [records[i] for i in ids]

    return submit


def backd_requests(sandbox) -> int:
    return int(sandbox.admin.requests()["backd"]["total"])


@pytest.mark.timeout(60)
def test_a_refund_that_never_arrived_is_not_taken_for_an_older_one(sandbox, run):
    sandbox.admin.update_settings(**DIALECTS["utc"])  # Backd writes zone-less UTC dates
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    settled = {"amount": 7.5, "create_date": two_hours_ago, "status": "approved"}
    order = sandbox.admin.create_order(
        "backd", "order_confirmed", refunds=[settled | {"locked_at": two_hours_ago}]
    )
    order_id = order["backd_order_id"]
    sandbox.admin.set_faults("backd", scope="mutations", script=["503"])  # dropped, not applied

    (record,) = run(order_command("backd", "refund", order_id, amount="7.50"))

    refunds = sandbox.admin.mutations(order_id=order_id, operation="refund")
    assert (record.state, len(refunds)) == (CommandState.SUCCEEDED, 1), record.attempts


@pytest.mark.timeout(60)
def test_backd_400_refusals_are_read_before_they_are_final(sandbox, run):
    sandbox.admin.update_settings(**DIALECTS["utc"])  # refusals come as HTTP 400
    confirmed, placed, cancelled, confirmed_2 = (
        sandbox.admin.create_orders("backd", state, 1)[0]
        for state in ("order_confirmed", "order_placed", "order_cancelled", "order_confirmed")
    )
    records = run(
        order_command("backd", "cancel", confirmed),
        order_command("backd", "cancel", cancelled),
        order_command("backd", "refund", placed, amount="7.50"),
        order_command("backd", "update", confirmed_2, changes={"shipping_amount": "60"}),
    )
    outcomes = [(r.state, r.dead_reason) for r in records]
    assert outcomes == [
        (CommandState.DEAD, DeadReason.REJECTED),
        (CommandState.ALREADY_DONE, None),
        (CommandState.DEAD, DeadReason.REJECTED),
        (CommandState.DEAD, DeadReason.REJECTED),
    ], [r.last_message for r in records]
    cancel, _, refund, update = (r.last_message for r in records)
    assert "a refund is needed" in cancel
    assert "cancel it (full) or lower its totals" in refund
    assert "can no longer change" in update
    assert sandbox.admin.mutations(provider="backd") == []


@pytest.mark.timeout(60)
def test_the_backd_adapter_uses_what_it_read_and_reads_once_per_attempt(sandbox, run):
    placed, confirmed = (
        sandbox.admin.create_orders("backd", s, 1)[0] for s in ("order_placed", "order_confirmed")
    )
    (refused,) = run(order_command("backd", "refund", placed, amount="7.50"))
    assert (refused.state, backd_requests(sandbox)) == (CommandState.DEAD, 1)  # the read only

    sandbox.admin.set_faults("backd", scope="mutations", script=["503"])
    (record,) = run(order_command("backd", "refund", confirmed, amount="7.50"))

    # attempt 1: read + POST (503); attempt 2: one read (it also feeds the POST) + POST
    assert (record.state, backd_requests(sandbox) - 1) == (CommandState.SUCCEEDED, 4)


@pytest.mark.timeout(60)
def test_every_read_is_recorded_on_its_attempt(sandbox, run):
    order_id = sandbox.admin.create_orders("backd", "order_confirmed", 1)[0]
    sandbox.admin.set_faults("backd", scope="mutations", script=["503"] * 3)

    (record,) = run(order_command("backd", "refund", order_id, amount="7.50"))

    assert record.state is CommandState.SUCCEEDED
    assert len(record.attempts) == 4
    reads = [a.read for a in record.attempts]
    assert all(read is not None for read in reads), record.attempts
    assert [r.purpose for r in reads if r] == [ReadPurpose.BEFORE_SEND] + [
        ReadPurpose.AFTER_DOUBT
    ] * 3
    assert {r.showed for r in reads if r} == {ReadShowed.PENDING}
    assert all(a.reconciled for a in record.attempts[1:])
    assert record.attempts[0].fingerprint is not None
    assert all(a.fingerprint is None for a in record.attempts[1:])  # the first one is kept
