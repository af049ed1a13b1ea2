"""Fault suite: ``kill -9`` of a whole worker mid-call; its commands resume within 30 s.

The lease is the product's default (a heartbeat renews it while a worker works), not a test's:
a dead worker's commands come back after about one lease instead of 300 s.
"""

from __future__ import annotations

import time

import pytest

from schemas import CommandState
from store.records import read_record
from tests.integration.harness import mutations_per_key, order_command, settle_all, wait_for

pytestmark = pytest.mark.integration

RESUME_BOUND_S = 30.0


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    """The integration settings with the default lease."""
    return {name: value for name, value in ordercmd_env.items() if name != "ORDERCMD_LEASE_S"}


@pytest.mark.timeout(180)
def test_a_killed_workers_commands_resume_within_30_s(sandbox, store, producer, start_worker):
    # Given a worker whose provider calls are in flight (every request takes 1 s)
    sandbox.admin.set_faults(latency_ms=1000)
    orders = sandbox.admin.create_orders("fastpod", "new_order", 2)
    victim = start_worker(concurrency=2)
    ids = [producer.submit(order_command("fastpod", "cancel", o)).command_id for o in orders]

    def holders() -> dict[str, tuple[object, object]] | None:
        records = [read_record(store.client, i) for i in ids]
        if not all(r and r.state is CommandState.RUNNING for r in records):
            return None
        return {r.id: (r.running_on, r.running_since) for r in records if r}

    held = wait_for(holders, timeout_s=60, what="both commands to be in flight")
    # When the whole worker is killed mid-call and another one starts
    victim.kill9()
    killed = time.monotonic()
    start_worker(concurrency=2)

    # Then another worker takes each command within 30 s, and each ends done exactly once
    def resumed() -> bool:
        records = [read_record(store.client, i) for i in ids]
        return all(
            r and (r.terminal or (r.running_on, r.running_since) != held[r.id]) for r in records
        )

    wait_for(resumed, timeout_s=RESUME_BOUND_S + 5, what="the killed worker's commands to resume")
    resume_s = time.monotonic() - killed
    print(f"commands of a kill -9'd worker resumed after {resume_s:.1f} s")
    assert resume_s <= RESUME_BOUND_S
    records = settle_all(store.client, ids, timeout_s=60)
    assert {r.state for r in records.values()} <= {
        CommandState.SUCCEEDED,
        CommandState.ALREADY_DONE,
    }
    per_key = mutations_per_key(sandbox.admin.mutations(provider="fastpod"))
    assert sorted(per_key.values()) == [1, 1]
