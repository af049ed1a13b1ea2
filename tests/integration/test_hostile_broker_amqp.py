"""The broker is untrusted input on RabbitMQ too: the same task corpus through a real AMQP broker.

The Redis transport's envelope cases do not exist on AMQP (frames are parsed by py-amqp); the
task cases do, and reach the same consumer screen. A compressed body that does not decompress
takes Celery's decode-error path, which is quarantined as well.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from kombu import Connection

from config.settings import Settings
from producer import Producer
from schemas import CommandState
from schemas.quarantine import QuarantineReason
from store.command_store import CommandStore
from store.quarantine import Quarantine
from store.records import read_record
from tests.hostile_corpus import Case, marker, task_cases
from tests.integration.harness import order_command, wait_for, warm_up
from tests.integration.test_hostile_broker import DEBUG_WORKER, RECEIVED
from tests.integration.test_scale_out import amqp_url  # noqa: F401  (a private vhost)
from worker.app import EXECUTE_TASK, publisher
from worker.queues import LIVE_QUEUE

pytestmark = pytest.mark.integration


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str], amqp_url: str) -> dict[str, str]:  # noqa: F811
    """RabbitMQ as the broker; the scheduler leaves an unpublished command alone."""
    return ordercmd_env | {"ORDERCMD_BROKER_URL": amqp_url, "ORDERCMD_DISPATCH_GUARD_S": "600"}


@pytest.fixture
def producer(settings: Settings, store: CommandStore, amqp_url: str) -> Iterator[Producer]:  # noqa: F811
    celery_app = Celery("ordercmd-test-producer", broker=amqp_url, set_as_current=False)
    yield Producer(settings, store, publisher(celery_app))
    celery_app.close()


def amqp_message(case: Case) -> dict[str, Any]:
    """``case``'s Redis envelope as AMQP publish arguments, with the marker in a header."""
    payload = json.loads(case.raw)
    return {
        "body": base64.b64decode(payload["body"]),
        "headers": payload["headers"] | {"case": case.marker},
        "content_type": payload["content-type"],
        "content_encoding": payload["content-encoding"],
    }


def amqp_cases(victim: str) -> list[tuple[Case, dict[str, Any]]]:
    """The task corpus, plus messages only AMQP can carry as such."""
    cases = [(case, amqp_message(case)) for case in task_cases(victim)]
    extra = [
        ("no-headers", QuarantineReason.NOT_TASK, b"\xff\xfe garbage", {}, "application/data"),
        ("gzip-garbage", QuarantineReason.BAD_BODY, b"not gzip",
         {"task": EXECUTE_TASK, "id": victim, "compression": "application/x-gzip"},
         "application/json"),
    ]  # fmt: skip
    for name, reason, body, headers, content_type in extra:
        message = {"body": body, "headers": headers | {"case": marker(name)},
                   "content_type": content_type, "content_encoding": "binary"}  # fmt: skip
        cases.append((Case(name, b"", reason), message))
    return cases


def test_hostile_messages_on_rabbitmq_are_quarantined_and_none_runs(
    sandbox,
    store,
    producer,
    start_worker,
    settled,
    amqp_url,  # noqa: F811
):
    order_id = sandbox.admin.create_orders("fastpod", "new_order", 1)[0]
    silent = Producer(producer.settings, store, lambda ids: None)
    victim = silent.submit(order_command("fastpod", "cancel", order_id)).command_id
    worker = start_worker(pool="threads", concurrency=2, command=DEBUG_WORKER)
    warm_up(sandbox, producer, store)

    cases = amqp_cases(victim)
    with Connection(amqp_url) as conn, conn.Producer() as amqp:
        for _, message in cases:
            amqp.publish(message.pop("body"), routing_key=LIVE_QUEUE, exchange="", **message)
    quarantine = Quarantine(store.client)
    wait_for(
        lambda: quarantine.count() >= len(cases) or worker.process.poll() is not None,
        timeout_s=60,
        what=f"{len(cases)} messages quarantined",
    )

    assert worker.process.poll() is None, "the worker died"
    entries = quarantine.page(limit=len(cases) + 10)
    assert len(entries) == len(cases)
    reasons = {}
    for case, _ in cases:
        found = [e for e in entries if case.marker in e.raw_text()]
        assert len(found) == 1, case.name
        reasons[case.name] = found[0].reason
    assert reasons == {case.name: case.reason for case, _ in cases}
    assert sandbox.admin.mutations(order_id=order_id) == []
    record = read_record(store.client, victim)
    assert record is not None
    assert record.state is CommandState.QUEUED
    assert {name for name, _ in RECEIVED.findall(worker.log())} == {EXECUTE_TASK}

    good_order = sandbox.admin.create_orders("fastpod", "new_order", 1)[0]
    good = producer.submit(order_command("fastpod", "cancel", good_order), idempotency_key="good")
    assert settled(good.command_id).state is CommandState.SUCCEEDED
    assert [m["idempotency_key"] for m in sandbox.admin.mutations(order_id=good_order)] == ["good"]
