"""The core path end to end: producer -> Redis -> a real Celery worker -> sandbox over HTTP."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from schemas import AttemptOutcome, CommandState, DeadReason
from store.records import read_record
from tests.integration.harness import wait_for

pytestmark = pytest.mark.integration

ACCOUNTS = {"backd": "acme", "shoplazza": "store", "fastpod": "pod"}
# provider -> kind -> (order state to start from, extra command fields)
CASES: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {
    "backd": {
        "cancel": ("order_placed", {}),
        "update": ("order_placed", {"changes": {"merchant_order_status": "packing"}}),
        "refund": ("order_confirmed", {"amount": "10.00"}),
    },
    "shoplazza": {
        "cancel": ("placed", {"reason": "customer asked"}),
        "update": ("placed", {"changes": {"note": "leave at the door"}}),
        "refund": ("placed", {"amount": "5.00"}),
    },
    "fastpod": {
        "cancel": ("new_order", {}),
        "update": ("draft", {"changes": {"gift_message": "Happy birthday"}}),
        "refund": ("draft", {}),
    },
}


def new_order(sandbox, provider: str, state: str) -> str:
    order = sandbox.admin.create_order(provider, state)
    return str(order.get("backd_order_id") or order["id"])


def command(provider: str, kind: str, order_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "provider": provider,
        "account": ACCOUNTS[provider],
        "order_id": order_id,
        **extra,
    }


@pytest.mark.parametrize("kind", ["cancel", "update", "refund"])
@pytest.mark.parametrize("provider", sorted(CASES))
def test_every_provider_and_kind_succeeds_with_one_mutation(
    provider, kind, sandbox, producer, start_worker, settled
):
    state, extra = CASES[provider][kind]
    order_id = new_order(sandbox, provider, state)
    start_worker(pool="threads", concurrency=2)
    submission = producer.submit(command(provider, kind, order_id, **extra), idempotency_key="k1")
    record = settled(submission.command_id)
    assert record.state is CommandState.SUCCEEDED, record.attempts
    mutations = sandbox.admin.mutations(provider=provider, order_id=order_id)
    assert [m["idempotency_key"] for m in mutations] == ["k1"], mutations


def test_a_5xx_then_success_makes_one_mutation(sandbox, producer, start_worker, settled):
    order_id = new_order(sandbox, "backd", "order_placed")
    sandbox.admin.set_faults(provider="backd", scope="mutations", script=["503", "503"])
    start_worker(pool="threads")
    record = settled(producer.submit(command("backd", "cancel", order_id)).command_id)
    assert record.state is CommandState.SUCCEEDED
    assert [a.http_status for a in record.attempts] == [503, 503, 200]
    assert len(sandbox.admin.mutations(order_id=order_id)) == 1


def test_422_is_retried_then_dead_lettered_with_its_history(
    sandbox, producer, start_worker, settled
):
    order_id = new_order(sandbox, "fastpod", "new_order")
    sandbox.admin.set_faults(provider="fastpod", scope="mutations", error_rates={"422": 1.0})
    start_worker(pool="threads")
    record = settled(producer.submit(command("fastpod", "cancel", order_id)).command_id)
    assert (record.state, record.dead_reason) == (CommandState.DEAD, DeadReason.EXHAUSTED)
    assert [a.http_status for a in record.attempts] == [422, 422, 422]
    assert all(a.reconciled for a in record.attempts), "each 422 is followed by a read"
    assert len(sandbox.admin.mutations(order_id=order_id)) == 0


def test_404_is_dead_lettered_at_once(sandbox, producer, start_worker, settled):
    start_worker(pool="threads")
    record = settled(producer.submit(command("shoplazza", "cancel", "9999-00000404")).command_id)
    assert (record.state, record.dead_reason) == (CommandState.DEAD, DeadReason.NOT_FOUND)
    assert [a.http_status for a in record.attempts] == [404]


def test_429_honours_retry_after_and_spends_no_attempt(sandbox, producer, start_worker, settled):
    sandbox.admin.update_settings(shoplazza_bucket_size=1, shoplazza_leak_per_s=1.0)
    orders = [new_order(sandbox, "shoplazza", "placed") for _ in range(3)]
    start_worker(pool="threads", concurrency=3)
    ids = [producer.submit(command("shoplazza", "cancel", o)).command_id for o in orders]
    records = [settled(i) for i in ids]
    assert all(r.state is CommandState.SUCCEEDED for r in records)
    limited = [a for r in records for a in r.attempts if a.outcome is AttemptOutcome.RATE_LIMITED]
    assert limited, "three cancels at once on a 1-request bucket hit 429"
    assert all(a.http_status == 429 and a.retry_in_s and a.retry_in_s >= 1 for a in limited)
    for record in records:
        times = [a.started_at for a in record.attempts]
        for before, after, attempt in zip(times, times[1:], record.attempts, strict=False):
            if attempt.outcome is AttemptOutcome.RATE_LIMITED:
                assert (after - before).total_seconds() >= attempt.retry_in_s * 0.95


def test_a_reply_lost_after_the_refund_applied_is_already_done(
    sandbox, producer, start_worker, settled
):
    order_id = new_order(sandbox, "backd", "order_confirmed")
    sandbox.admin.set_faults(provider="backd", scope="mutations", script=["reply_lost"])
    start_worker(pool="threads")
    record = settled(
        producer.submit(command("backd", "refund", order_id, amount="7.50")).command_id
    )
    assert record.state is CommandState.ALREADY_DONE, record.attempts
    refunds = sandbox.admin.mutations(order_id=order_id, operation="refund")
    assert len(refunds) == 1, "exactly one refund reached the provider"


def test_a_key_submitted_1000_times_concurrently_executes_once(
    sandbox, producer, start_worker, settled
):
    order_id = new_order(sandbox, "fastpod", "new_order")
    ids: set[str] = set()
    lock = threading.Lock()

    def submit_many_times() -> None:
        for _ in range(125):
            sid = producer.submit(command("fastpod", "cancel", order_id), idempotency_key="dup")
            with lock:
                ids.add(sid.command_id)

    threads = [threading.Thread(target=submit_many_times) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 1, f"1000 submissions gave {len(ids)} commands"
    start_worker(pool="threads", concurrency=4)
    assert settled(ids.pop()).state is CommandState.SUCCEEDED
    assert len(sandbox.admin.mutations(order_id=order_id)) == 1


def test_an_update_then_a_cancel_of_one_order_apply_in_that_order(
    sandbox, producer, start_worker, settled
):
    order_id = new_order(sandbox, "backd", "order_placed")
    start_worker(pool="threads", concurrency=4)
    update = producer.submit(
        command("backd", "update", order_id, changes={"merchant_order_status": "held"})
    )
    cancel = producer.submit(command("backd", "cancel", order_id))
    assert settled(cancel.command_id).state is CommandState.SUCCEEDED
    assert settled(update.command_id).state is CommandState.SUCCEEDED
    operations = [m["operation"] for m in sandbox.admin.mutations(order_id=order_id)]
    assert operations == ["update", "cancel"], operations


def test_kill_9_mid_call_completes_after_restart_with_one_mutation(
    sandbox, producer, store, start_worker, settled
):
    order_id = new_order(sandbox, "backd", "order_confirmed")
    sandbox.admin.set_faults(provider="backd", scope="mutations", latency_ms=2000)
    worker = start_worker(pool="prefork", concurrency=1)
    command_id = producer.submit(command("backd", "refund", order_id, amount="3.00")).command_id

    def in_flight() -> bool:
        record = read_record(store.client, command_id)
        finds = sandbox.admin.requests().get("backd", {}).get("total", 0)  # the refund's read
        return record is not None and record.state is CommandState.RUNNING and finds >= 1

    wait_for(in_flight, timeout_s=30, what="the refund to be in flight")
    worker.kill9()
    sandbox.admin.clear_faults()
    start_worker(pool="prefork", concurrency=1)
    record = settled(command_id, timeout_s=60)
    assert record.state in {CommandState.SUCCEEDED, CommandState.ALREADY_DONE}, record.attempts
    assert len(sandbox.admin.mutations(order_id=order_id, operation="refund")) == 1
