"""A worker's log has one format: Celery's, kombu's and ordercmd's lines are the same JSON."""

from __future__ import annotations

import json
import sys

from schemas import CommandState
from tests.integration.test_pipeline import command, new_order

INFO_WORKER = (sys.executable, "-m", "cli", "worker", "--loglevel=INFO")
FIELDS = {"timestamp", "level", "logger", "event"}


def test_every_line_of_a_worker_log_is_one_json_object_with_the_same_fields(
    sandbox, producer, start_worker, settled
):
    order_id = new_order(sandbox, "backd", "order_placed")
    worker = start_worker(pool="threads", concurrency=2, command=INFO_WORKER)

    record = settled(producer.submit(command("backd", "cancel", order_id)).command_id)
    worker.stop()

    assert record.state is CommandState.SUCCEEDED
    # Celery's signal handler prints "worker: Warm shutdown (MainProcess)" straight to stdout
    text = [line for line in worker.log().splitlines() if line.strip()]
    lines = [json.loads(line) for line in text if not line.startswith("worker: ")]
    assert len(lines) >= len(text) - 1
    assert all(set(line) >= FIELDS for line in lines), [x for x in lines if FIELDS - set(x)][:3]
    loggers = {line["logger"] for line in lines}
    assert {"celery.worker.consumer.connection", "ordercmd.worker"} <= loggers, loggers
    # one line per attempt: Celery's "received" and "succeeded in" lines only come at DEBUG
    assert not loggers & {"celery.worker.strategy", "celery.app.trace"}, loggers
    assert not [line for line in lines if line["logger"].startswith(("httpx", "httpcore"))]
    assert sandbox.backd_url.split("//")[1] not in worker.log()  # no provider URL per call
