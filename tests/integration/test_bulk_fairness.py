"""Fair scheduling: while a 10,000-command bulk batch runs, live commands still finish quickly.

Bulk commands travel on their own broker queue and workers take live messages first, so a live
command waits for a free worker slot, never behind the batch's backlog. Then the rest of the
batch is cancelled under load: nothing that had started is touched, nothing discarded runs.
"""

from __future__ import annotations

import io
import time

import pytest

from producer.batches import Batches
from producer.bulk import BulkRun
from producer.bulk_progress import ProgressReader
from producer.bulk_rows import BulkFormat
from store.records import read_record
from tests.integration.harness import mutations_per_key, wait_for

pytestmark = pytest.mark.integration

BULK_COMMANDS = 10_000
LIVE_COMMANDS = 10
LIVE_BOUND_S = 3.0  # submit -> succeeded, per live command, with the batch running
STILL_RUNNING = 5_000  # bulk commands unfinished when the last live command ends, at least
HEADER = "kind,provider,account,order_id,reason,amount,changes,line_items,idempotency_key\n"


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    """No client-side rate limit, and no re-sends of messages waiting their turn."""
    fast = {"ORDERCMD_DISPATCH_GUARD_S": "300"}
    for account in ("ACME", "STORE", "POD"):
        fast[f"ORDERCMD_ACCOUNTS__{account}__RATE_PER_S"] = "100000"
        fast[f"ORDERCMD_ACCOUNTS__{account}__BURST"] = "1000"
    return ordercmd_env | fast


def test_live_commands_finish_quickly_while_a_10000_command_batch_runs(
    sandbox, producer, store, start_worker
):
    # Given a 10,000-command batch admitted and running on a worker with 8 threads
    half = BULK_COMMANDS // 2
    orders = sandbox.admin.create_orders("backd", "order_placed", half)
    pods = sandbox.admin.create_orders("fastpod", "new_order", half)
    rows = [f"cancel,backd,acme,{o},,,,,\n" for o in orders]
    rows += [f"cancel,fastpod,pod,{o},,,,,\n" for o in pods]
    with BulkRun(producer, file_name="big.csv", fmt=BulkFormat.CSV) as run:
        run.check(io.BytesIO((HEADER + "".join(rows)).encode()))
        batch_id = run.admit(Batches(store), actor="test").batch_id
    start_worker(pool="threads", concurrency=8)
    reader = ProgressReader(Batches(store), batch_id)
    wait_for(lambda: reader.read().finished >= 200, timeout_s=60, what="the batch to start")
    # When live commands arrive one after another
    live = sandbox.admin.create_orders("fastpod", "new_order", LIVE_COMMANDS)
    latencies = []
    for order_id in live:
        started = time.monotonic()
        command_id = producer.submit(
            {"kind": "cancel", "provider": "fastpod", "account": "pod", "order_id": order_id}
        ).command_id

        def succeeded(command_id: str = command_id) -> bool:
            record = read_record(store.client, command_id)
            return record is not None and record.state == "succeeded"

        try:
            wait_for(succeeded, timeout_s=LIVE_BOUND_S, what=f"live command {command_id}")
        except AssertionError:
            pytest.fail(
                f"live command {len(latencies) + 1} of {LIVE_COMMANDS} had not succeeded "
                f"{LIVE_BOUND_S} s (the bound) after its submission, with a {BULK_COMMANDS}-"
                f"command batch running; the earlier ones took {[round(s, 2) for s in latencies]} s"
            )
        latencies.append(time.monotonic() - started)
    unfinished = BULK_COMMANDS - reader.read().finished
    # Then each finished within the bound, with most of the batch still to run
    print(f"live latencies {[round(s, 3) for s in latencies]} s; bulk unfinished {unfinished}")
    slowest = max(latencies)
    assert slowest <= LIVE_BOUND_S, (
        f"a live command took {slowest:.2f} s with a bulk batch running (bound {LIVE_BOUND_S} s); "
        f"latencies {[round(s, 2) for s in latencies]}"
    )
    assert unfinished >= STILL_RUNNING, (
        f"only {unfinished} bulk commands were unfinished (want >= {STILL_RUNNING}): the live "
        "commands did not run under bulk load"
    )
    # And cancelling the batch now discards what had not started; the rest ends normally
    summary = Batches(store).cancel(batch_id, actor="test", why="enough")
    assert summary.discarded >= STILL_RUNNING - 100
    progress = wait_for(lambda: (p := reader.read()).done and p, timeout_s=60, what="the batch")
    succeeded_n = progress.counts["succeeded"]
    assert progress.counts == {"succeeded": succeeded_n, "discarded": summary.discarded}
    per_key = mutations_per_key(sandbox.admin.mutations())
    assert len(per_key) == succeeded_n + LIVE_COMMANDS, "no discarded command reached a provider"
    assert set(per_key.values()) == {1}
