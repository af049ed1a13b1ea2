"""HTTP intake over real HTTP: uvicorn on a pre-bound loopback socket, a real worker, the sandbox.

``examples/publish_events.py`` publishes order events; each becomes one command that a worker
executes at the sandbox; publishing the same events again makes nothing new.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from celery import Celery
from click.testing import CliRunner

from cli.main import cli
from config.settings import Settings
from store.command_store import CommandStore
from tests.integration.harness import ROOT, wait_for
from web import create_app
from worker.app import publisher

pytestmark = pytest.mark.integration

KEY = "oc_0a1b2c3d4e5f6071_integration-events-0123456789"
LIMIT = 2048


@pytest.fixture
def intake_url(settings: Settings, store: CommandStore, redis_url: str) -> Iterator[str]:
    """The web app with one producer (its hash made by ``ordercmd hash-secret``), served."""
    key_hash = CliRunner().invoke(cli, ["hash-secret", "--stdin"], input=KEY + "\n").stdout.strip()
    web = {"producers": {"shop": {"key_hash": key_hash}}, "max_body_bytes": LIMIT}
    web_settings = settings.model_copy(update={"web": settings.web.model_validate(web)})
    celery_app = Celery("ordercmd-test-intake", broker=redis_url, set_as_current=False)
    app = create_app(web_settings, store, publisher(celery_app))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout_s=10, what="uvicorn to start")
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()
    celery_app.close()


def publish_events(url: str, events: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "publish_events.py"), str(events), "--url", url],
        env={**os.environ, "ORDERCMD_API_KEY": KEY},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done.stdout.splitlines()


def test_published_events_run_once_each_and_a_republish_is_a_no_op(
    sandbox, intake_url, start_worker, tmp_path
):
    # Given three orders and an events file naming them
    orders = {
        "backd": sandbox.admin.create_order("backd", "order_confirmed")["backd_order_id"],
        "fastpod": sandbox.admin.create_order("fastpod", "new_order")["id"],
        "shoplazza": sandbox.admin.create_order("shoplazza", "placed")["id"],
    }
    accounts = {"backd": "acme", "fastpod": "pod", "shoplazza": "store"}
    kinds = {
        "backd": {"kind": "refund", "amount": "5.00"},
        "fastpod": {"kind": "cancel"},
        "shoplazza": {"kind": "cancel"},
    }
    events = tmp_path / "events.jsonl"
    events.write_text(
        "".join(
            json.dumps(
                {
                    "event_id": f"evt-{p}",
                    "command": {
                        "provider": p,
                        "account": accounts[p],
                        "order_id": orders[p],
                        **kinds[p],
                    },
                }
            )
            + "\n"
            for p in sorted(orders)
        )
    )
    start_worker(pool="threads", concurrency=4)
    # When the producer script publishes them
    lines = publish_events(intake_url, events)
    assert [line.split()[1] for line in lines] == ["new", "new", "new"], lines
    # Then each command succeeds, read through its status URL
    headers = {"X-API-Key": KEY}
    with httpx.Client(base_url=intake_url, headers=headers) as client:
        for line in lines:
            command_id = line.split()[-1]

            def finished(command_id: str = command_id) -> dict | None:
                body = client.get(f"/v1/commands/{command_id}").json()
                return body if body["state"] in ("succeeded", "dead") else None

            body = wait_for(finished, timeout_s=30, what=f"command {command_id}")
            assert body["state"] == "succeeded", body
            assert len(body["attempts"]) == 1
    # And publishing the same events again changes nothing
    again = publish_events(intake_url, events)
    assert [line.split()[1] for line in again] == ["existing"] * 3
    keys = sorted(m["idempotency_key"] for m in sandbox.admin.mutations())
    assert keys == ["evt-backd", "evt-fastpod", "evt-shoplazza"]


def test_real_http_refusals_401_413_and_a_chunked_body_over_the_limit(intake_url):
    body = {"kind": "cancel", "provider": "fastpod", "account": "pod", "order_id": "F-1"}
    with httpx.Client(base_url=intake_url, timeout=10) as client:
        assert client.post("/v1/commands", json=body).status_code == 401
        big = json.dumps(body | {"reason": "x" * LIMIT}).encode()
        auth = {"Authorization": f"Bearer {KEY}"}
        assert client.post("/v1/commands", content=big, headers=auth).status_code == 413

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(big), 256):
                time.sleep(0.001)
                yield big[start : start + 256]

        chunked = client.post("/v1/commands", content=chunks(), headers=auth)
        assert chunked.status_code == 413
        assert chunked.json()["errors"][0]["field"] == "body"
        assert client.post("/v1/commands", json=body, headers=auth).status_code == 202
