"""Exactly one final outcome event per command while workers are killed with ``kill -9``.

The event is written by the script that ends the command, fenced by the claim's token: a
delivery that lost its lease to a killed worker's successor cannot end it a second time.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from store.outcomes import FINAL_EVENTS, Outcomes
from tests.integration.harness import order_command, roomy, running_claims, settle_all

pytestmark = pytest.mark.integration


@pytest.mark.timeout(240)
def test_kill_9_mid_call_leaves_one_final_event_per_command(sandbox, store, producer, start_worker):
    # Given slow provider calls and three workers
    roomy(sandbox).admin.set_faults(latency_ms=400, jitter_ms=100)
    fleet = [start_worker(pool="threads", concurrency=4) for _ in range(3)]
    orders = sandbox.admin.create_orders("fastpod", "new_order", 80)
    ids = [s.command_id for s in producer.submit_many(
        [order_command("fastpod", "cancel", o) for o in orders]
    )]  # fmt: skip
    # When two workers are killed while they hold claims, and replaced
    kills = 0
    deadline = time.monotonic() + 60
    while kills < 2 and time.monotonic() < deadline:
        if running_claims(store.client):
            fleet.pop(0).kill9()
            fleet.append(start_worker(pool="threads", concurrency=4))
            kills += 1
            time.sleep(0.5)
        time.sleep(0.02)
    assert kills == 2
    records = settle_all(store.client, ids, timeout_s=120)
    # Then each command has exactly one final event, naming the state it ended in
    events = Outcomes(store.client).read("0-0", count=100_000)
    finals = [e for e in events if e.event in FINAL_EVENTS]
    assert Counter(e.command_id for e in finals) == Counter(ids)
    assert {e.command_id: e.state for e in finals} == {i: str(r.state) for i, r in records.items()}
    # and a retry event only for a retry that recorded an attempt
    retries = Counter(e.command_id for e in events if e.event == "retry_scheduled")
    assert all(n < len(records[i].attempts) for i, n in retries.items())
