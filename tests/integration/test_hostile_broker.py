"""The broker is untrusted input: a corpus of hostile messages against a real worker on Redis.

Each message is pushed raw onto the ``ordercmd`` list, as anyone who can write to the broker
could. The worker must stay up, quarantine every one with its reason, execute none of them
(many would run a real, unpublished command or a Celery built-in), and still run good commands.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from kombu import Connection

from producer import Producer
from schemas import CommandState
from schemas.quarantine import QuarantinedMessage, QuarantineReason
from store.quarantine import Quarantine, QuarantineLimits
from store.records import read_record
from tests.hostile_corpus import Case, call, corpus, envelope
from tests.integration.harness import order_command, wait_for, warm_up
from worker.app import EXECUTE_TASK
from worker.quarantining import MessageScreen
from worker.queues import LIVE_QUEUE
from worker.redis_transport import GuardedTransport

pytestmark = pytest.mark.integration
DEBUG_WORKER = (sys.executable, "-m", "cli", "worker", "--loglevel=DEBUG")

# Celery's line for a task it accepted (DEBUG only): none may name anything but good commands.
RECEIVED = re.compile(r"Task ([\w.]+)\[([^\]]*)\] received")


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    """The scheduler leaves an unpublished command alone for the whole test."""
    return ordercmd_env | {"ORDERCMD_DISPATCH_GUARD_S": "600"}


def entry_of(case: Case, entries: list[QuarantinedMessage]) -> QuarantinedMessage:
    """The one quarantine entry of ``case``: by its marker, else by its (cut) raw bytes."""
    found = [
        e for e in entries if case.marker in e.raw_text() or (e.raw and case.raw.startswith(e.raw))
    ]
    assert len(found) == 1, f"{case.name}: {len(found)} quarantine entries"
    return found[0]


def test_hostile_messages_are_quarantined_and_the_worker_keeps_running(
    sandbox, store, producer, start_worker, settled
):
    order_id = sandbox.admin.create_orders("fastpod", "new_order", 1)[0]
    silent = Producer(producer.settings, store, lambda ids: None)  # admitted, never published
    victim = silent.submit(order_command("fastpod", "cancel", order_id)).command_id
    worker = start_worker(pool="threads", concurrency=2, command=DEBUG_WORKER)
    warm_up(sandbox, producer, store)

    cases = corpus(victim)
    assert len(cases) >= 20
    for case in cases:
        store.client.lpush(LIVE_QUEUE, case.raw)
    quarantine = Quarantine(store.client, QuarantineLimits())
    wait_for(
        lambda: quarantine.count() >= len(cases) or worker.process.poll() is not None,
        timeout_s=60,
        what=f"{len(cases)} messages quarantined",
    )

    assert worker.process.poll() is None, "the worker died"
    assert quarantine.count() == len(cases)
    entries = quarantine.page(limit=len(cases) + 10)
    reasons = {case.name: entry_of(case, entries).reason for case in cases}
    assert reasons == {case.name: case.reason for case in cases}
    assert int(store.client.llen(LIVE_QUEUE)) == 0
    assert sum(quarantine.totals().values()) == len(cases)

    assert sandbox.admin.mutations(order_id=order_id) == []
    record = read_record(store.client, victim)
    assert record is not None
    assert record.state is CommandState.QUEUED
    assert not record.attempts
    accepted = {name for name, _ in RECEIVED.findall(worker.log())}
    assert accepted == {"ordercmd.execute_command"}, accepted

    good_order = sandbox.admin.create_orders("fastpod", "new_order", 1)[0]
    good = producer.submit(order_command("fastpod", "cancel", good_order), idempotency_key="good")
    assert settled(good.command_id).state is CommandState.SUCCEEDED
    mutations = sandbox.admin.mutations(order_id=good_order)
    assert [m["idempotency_key"] for m in mutations] == ["good"]
    assert worker.process.poll() is None


def test_the_redis_channel_quarantines_on_every_path_it_decodes(redis_url, redis_client):
    refused: list[QuarantinedMessage] = []
    screen = MessageScreen(frozenset({EXECUTE_TASK}), 64 * 1024, refused.append)
    options = {"ordercmd_screen": screen}
    with Connection(redis_url, transport=GuardedTransport, transport_options=options) as conn:
        channel = conn.default_channel
        good = envelope("good", call(["c1"]), task_id="c1")
        redis_client.lpush("q1", b"[1, 2, 3]", json.dumps(good))
        assert channel.basic_get("q1") is None  # RPOP: the list, quarantined
        message = channel.basic_get("q1")
        assert message.headers["task"] == EXECUTE_TASK
        assert channel._deliver_fanout_message(["not", "an", "envelope"], "celeryev") is True
    assert [(e.reason, e.queue) for e in refused] == [
        (QuarantineReason.NOT_OBJECT, "q1"),
        (QuarantineReason.NOT_OBJECT, "celeryev"),
    ]
    assert refused[0].raw == b"[1, 2, 3]"
