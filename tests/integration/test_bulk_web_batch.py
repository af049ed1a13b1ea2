"""Bulk files through the web app on a real Redis: a batch run by a real worker, and 100,000 rows.

The browser's part is in ``tests/e2e/test_bulk_upload.py``; here the same routes are driven
with a test client, so a double start can be two requests at the same moment.
"""

from __future__ import annotations

import json
import re
import resource
import threading
import time

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from config.settings import Settings
from config.web import BulkUploads, Operator, WebSettings
from producer.batches import Batches
from store import keys
from store.command_store import CommandStore
from store.records import read_record
from tests.integration.harness import mutations_per_key, wait_for
from web import create_app

pytestmark = pytest.mark.integration
FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
LARGE_ROWS = 100_000


@pytest.fixture
def client(settings: Settings, store: CommandStore, tmp_path) -> TestClient:
    operators = {"olivia": Operator(role="operator", password_hash=FAST.hash("pw"))}
    web = WebSettings(secure_cookies=False, operators=operators,
                      bulk=BulkUploads(drafts_dir=tmp_path / "drafts"))  # fmt: skip
    app = create_app(settings.model_copy(update={"web": web}), store, lambda ids: None)
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"name": "olivia", "password": "pw", "csrf_token": token})
    return client


def csrf(client: TestClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/bulk").text).group(1)


def upload(client: TestClient, name: str, body: bytes) -> str:
    reply = client.post("/bulk", data={"csrf_token": csrf(client)}, files={"file": (name, body)})
    assert reply.status_code == 303, reply.text[:1000]
    return reply.headers["location"].removeprefix("/bulk/drafts/")


def test_a_batch_started_twice_at_once_runs_once_through_a_real_worker(
    client, store, sandbox, start_worker
):
    orders = sandbox.admin.create_orders("backd", "order_placed", 6)
    lines = [{"kind": "cancel", "provider": "backd", "account": "acme", "order_id": o}
             for o in orders]  # fmt: skip
    lines.append(lines[0])  # a duplicate row: the same command as row 1
    lines.append({"kind": "cancel", "provider": "shoplazza", "account": "store",
                  "order_id": "9999-00000777"})  # fmt: skip  # unknown there: dead, not_found
    draft_id = upload(client, "orders.jsonl", "".join(json.dumps(x) + "\n" for x in lines).encode())
    token = csrf(client)
    replies = []

    def start() -> None:
        other = TestClient(client.app, follow_redirects=False, cookies=client.cookies)
        replies.append(other.post(f"/bulk/drafts/{draft_id}/start", data={"csrf_token": token}))

    starts = [threading.Thread(target=start) for _ in range(2)]
    for thread in starts:
        thread.start()
    for thread in starts:
        thread.join(60)
    assert [r.headers["location"] for r in replies] == [f"/bulk/{draft_id}"] * 2
    assert store.client.llen(keys.batch_rows(draft_id)) == 8, "the rows were admitted once"
    audited = [f for _, f in store.client.xrange(keys.audit()) if f["action"] == "bulk_start"]
    assert [f["batch"] for f in audited] == [draft_id]
    start_worker(pool="threads", concurrency=4)
    progress = wait_for(
        lambda: (p := client.get(f"/bulk/{draft_id}/progress").json())["done"] and p,
        timeout_s=60,
        what="the batch to end",
    )
    assert progress["admitted"] == {"new": 7, "existing": 0, "duplicate": 1, "conflict": 0,
                                    "invalid": 0}  # fmt: skip
    assert progress["counts"]["succeeded"] + progress["counts"]["already_done"] == 6
    assert progress["dead_reasons"] == {"not_found": 1}
    results = [
        json.loads(x) for x in client.get(f"/bulk/{draft_id}/results.jsonl").text.splitlines()
    ]
    assert [r["row"] for r in results] == list(range(1, 9))
    for result in results:
        assert result["state"] == str(read_record(store.client, result["command_id"]).state)
    assert results[6]["reason"] == "same as row 1"
    assert results[7]["reason"].startswith("not_found")
    mutations = [m for m in sandbox.admin.mutations() if m["order_id"] in orders]
    assert sorted(m["order_id"] for m in mutations) == sorted(orders)
    assert set(mutations_per_key(mutations).values()) == {1}


@pytest.mark.timeout(900)  # its result file is read whole: minutes on a loaded machine
def test_100000_rows_upload_and_start_in_bounded_time_and_memory(client, store):
    header = "kind,provider,account,order_id,reason,amount,changes,line_items,idempotency_key\n"
    rows = "".join(f"cancel,backd,acme,BO-L-{i:06d},bulk,,,,large-{i}\n" for i in range(LARGE_ROWS))
    body = (header + rows).encode()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    draft_id = upload(client, "large.csv", body)
    checked_s = time.monotonic() - started
    preview = client.get(f"/bulk/drafts/{draft_id}").text
    assert f"{LARGE_ROWS} rows: {LARGE_ROWS} valid," in preview
    assert ">0 invalid</span>" in preview
    reply = client.post(f"/bulk/drafts/{draft_id}/start", data={"csrf_token": csrf(client)})
    assert reply.headers["location"] == f"/bulk/{draft_id}"
    admitted_s = time.monotonic() - started - checked_s
    progress = client.get(f"/bulk/{draft_id}/progress").json()
    assert (progress["commands"], progress["admitted"]["new"]) == (LARGE_ROWS, LARGE_ROWS)
    download = client.get(f"/bulk/{draft_id}/results.csv")
    assert download.text.count("\n") == LARGE_ROWS + 1
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    print(f"{LARGE_ROWS} rows ({len(body) / 2**20:.1f} MiB): checked in {checked_s:.1f} s, "
          f"started (checked again, admitted) in {admitted_s:.1f} s; peak RSS grew "
          f"{grown_mib:.0f} MiB")  # fmt: skip
    assert checked_s + admitted_s < 120
    assert Batches(store).meta(draft_id).rows == LARGE_ROWS
    # the file (7 MiB), its checked spool and the download's text are all held by this test's
    # process too; the app's own part stays flat (chunks of 1,000 rows)
    assert grown_mib < 150
