"""The workers page and ``/api/workers``: workers online or gone, what they run, queue depths."""

from __future__ import annotations

import time

from store import keys
from store.command_store import Claim
from store.workers import WorkerCard, write_card
from tests.factories import make_envelope
from tests.unit.web.test_web_app import bearer, client, published, sign_in  # noqa: F401


def a_busy_worker(store) -> str:
    now_ms = int(time.time() * 1000)
    write_card(store.client, WorkerCard("ordercmd@h1", "h1", 100, "threads", 4,
                                        ["ordercmd", "ordercmd.bulk"], now_ms - 5_000))  # fmt: skip
    seen = {"ordercmd@h1": now_ms, "ordercmd@gone": now_ms - 600_000}
    store.client.zadd(keys.workers_seen(), seen)
    command_id = store.admit(make_envelope("k1", order_id="o-77")).command_id
    assert isinstance(store.claim(command_id), Claim)
    store.client.hset(keys.command(command_id), "worker", "h1:100")
    store.client.rpush("ordercmd.bulk", "m1", "m2")
    return command_id


def test_the_page_lists_workers_what_they_run_and_queue_depths(client, store):  # noqa: F811
    command_id = a_busy_worker(store)
    assert client.get("/workers").status_code == 303
    sign_in(client, "vic")
    page = client.get("/workers").text
    row = page[page.index('data-worker="ordercmd@h1"') :].split("</tr>")[0]
    assert "online" in row
    assert "<td>threads</td>" in row
    assert '<td class="n">4</td>' in row
    assert f'href="/commands/{command_id}"' in row
    assert "o-77" in row
    gone = page[page.index('data-worker="ordercmd@gone"') :].split("</tr>")[0]
    assert "gone" in gone
    assert "last seen" in gone
    assert '<th><code>ordercmd.bulk</code></th><td class="n">2</td>' in page
    assert "Oldest queued command" in page


def test_the_api_gives_the_same_as_json_to_operators_only(client, store):  # noqa: F811
    command_id = a_busy_worker(store)
    assert client.get("/api/workers").status_code == 401
    body = client.get("/api/workers", headers=bearer("vic")).json()
    first = body["workers"][0]
    assert (first["name"], first["alive"], first["card"]["concurrency"]) == ("ordercmd@h1", True, 4)
    assert [r["id"] for r in first["running"]] == [command_id]
    assert body["workers"][1]["alive"] is False
    assert body["broker"]["queues"]["ordercmd.bulk"] == 2
    assert body["store"]["running"] == 1
    assert body["store"]["quarantined"] == 0
    assert body["store"]["oldest_waiting_s"]["queued"] is None
