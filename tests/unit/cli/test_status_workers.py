"""``ordercmd status --workers``: workers online or gone with what they run, and queue depths."""

from __future__ import annotations

import json
import time

from store import keys
from store.command_store import Claim
from store.workers import WorkerCard, write_card
from tests.factories import make_envelope


def test_workers_and_queues_as_tables_and_json(run, store):
    now_ms = int(time.time() * 1000)
    write_card(store.client, WorkerCard("ordercmd@h1", "h1", 100, "prefork", 4, ["ordercmd"],
                                        now_ms, pids=[101]))  # fmt: skip
    seen = {"ordercmd@h1": now_ms, "ordercmd@old": now_ms - 3_600_000}
    store.client.zadd(keys.workers_seen(), seen)
    command_id = store.admit(make_envelope("k1", order_id="o-9")).command_id
    assert isinstance(store.claim(command_id), Claim)
    store.client.hset(keys.command(command_id), "worker", "h1:101")
    store.client.rpush("ordercmd", "m1")

    result = run("status", "--workers")
    assert result.exit_code == 0, result.output
    h1 = next(line for line in result.output.splitlines() if "ordercmd@h1" in line)
    assert "online" in h1
    assert "prefork" in h1
    assert command_id in h1
    assert "gone (last seen" in result.output
    assert "broker ordercmd " in result.output
    assert "oldest queued (since admission)" in result.output

    body = json.loads(run("status", "--workers", "--json").output)
    assert body["workers"][0]["running"][0]["id"] == command_id
    assert body["broker"]["queues"]["ordercmd"] == 1
    assert run("status", "--workers", "--providers").exit_code == 2
