"""The baseline: a bare Celery task making the same single HTTP call as an ordercmd cancel.

Same Celery settings as ordercmd (``worker.app.celery_config``: JSON, late acks, prefetch 1,
events), same broker, same httpx client and auth (``providers.build_client``), its own queue.
No command store, no claim, no flow control, no record: what ordercmd is measured against.

Run: ``celery -A bench.bare_app worker --queues=bench.bare``.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import httpx
from celery import Celery
from kombu import Queue  # type: ignore[attr-defined]

from config.settings import get_settings
from providers import build_client
from worker.app import celery_config

QUEUE = "bench.bare"
TASK = "bench.bare_cancel"
ACCOUNT = "acme"  # the Backd account of bench/stage.py


def bare_config() -> dict[str, Any]:
    """The Celery settings of ordercmd, with the baseline's own queue."""
    config = celery_config(get_settings())
    config |= {"task_default_queue": QUEUE, "task_queues": [Queue(QUEUE)]}  # type: ignore[no-untyped-call]
    return config


app = Celery("bench-bare")
app.add_defaults(bare_config)

_clients: dict[int, httpx.Client] = {}
_lock = threading.Lock()


def _client() -> httpx.Client:
    """One client per process (shared by threads), built after a fork like ordercmd's."""
    pid = os.getpid()
    with _lock:
        if pid not in _clients:
            _clients.clear()
            _clients[pid] = build_client(get_settings().account(ACCOUNT))
        return _clients[pid]


@app.task(name=TASK, ignore_result=True, acks_late=True)  # type: ignore[untyped-decorator]
def bare_cancel(order_id: str, idempotency_key: str) -> int:
    """``POST /cancel_order`` once; raise on anything but a 2xx without ``error``."""
    response = _client().post(
        "/cancel_order",
        json={"backd_order_id": order_id},
        headers={"Idempotency-Key": idempotency_key},
    )
    response.raise_for_status()
    if response.json().get("error"):
        raise RuntimeError(f"refused: {response.text[:200]}")
    return response.status_code
