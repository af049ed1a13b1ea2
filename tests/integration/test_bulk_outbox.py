"""The outbox: a bulk batch admitted with the broker down is sent by the workers' schedulers.

Admission writes only to the store; no message is on the broker until a worker's scheduler
sends the due lane heads, and each command still reaches its provider exactly once.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from celery import Celery

from config.settings import Settings
from producer import Producer
from producer.batches import Admission, Batches
from producer.bulk import BulkRun
from producer.bulk_progress import ProgressReader
from producer.bulk_rows import BulkFormat
from store.command_store import CommandStore
from tests.integration.harness import mutations_per_key, unthrottled, wait_for
from worker.app import QUEUES, publisher

pytestmark = pytest.mark.integration

COMMANDS = 300
HEADER = "kind,provider,account,order_id,reason,amount,changes,line_items,idempotency_key\n"
NO_BROKER = "redis://127.0.0.1:1/0"  # nothing listens there


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    """No client-side rate limit; a lost message would only be re-sent after the test."""
    return unthrottled(ordercmd_env, DISPATCH_GUARD_S="300")


@pytest.fixture
def brokerless_producer(settings: Settings, store: CommandStore) -> Iterator[Producer]:
    """A producer whose broker cannot be reached: any publish would fail."""
    celery_app = Celery("ordercmd-test-brokerless", broker=NO_BROKER, set_as_current=False)
    celery_app.conf.broker_connection_max_retries = 0
    yield Producer(settings, store, publisher(celery_app))
    celery_app.close()


def test_a_batch_admitted_without_a_broker_runs_exactly_once(
    sandbox, brokerless_producer, store, start_worker
):
    # Given a bulk file of cancels, admitted while the producer's broker is unreachable
    orders = sandbox.admin.create_orders("backd", "order_placed", COMMANDS)
    text = HEADER + "".join(f"cancel,backd,acme,{o},,,,,\n" for o in orders)
    with BulkRun(brokerless_producer, file_name="o.csv", fmt=BulkFormat.CSV) as run:
        run.check(io.BytesIO(text.encode()))
        result = run.admit(Batches(store), actor="test")
    assert result.rows == {Admission.NEW: COMMANDS}
    assert [store.client.llen(queue) for queue in QUEUES] == [0] * len(QUEUES), "none was sent"
    # When two workers start (each runs a scheduler)
    start_worker(pool="threads", concurrency=4)
    start_worker(pool="threads", concurrency=4)
    # Then every command succeeds, and each reached the provider exactly once
    reader = ProgressReader(Batches(store), result.batch_id)
    progress = wait_for(lambda: (p := reader.read()).done and p, timeout_s=90, what="the batch")
    assert progress.counts == {"succeeded": COMMANDS}
    per_key = mutations_per_key(sandbox.admin.mutations())
    assert len(per_key) == COMMANDS
    assert set(per_key.values()) == {1}
