"""A 10,000-command bulk batch against the sandbox, run to completion by a real worker.

The per-row report (``batch export``) is checked row by row: every command's final state, the
refused rows with their reasons, the duplicate rows pointing at their first row.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator

import pytest

from producer.batches import Batches
from producer.bulk import BulkRun
from producer.bulk_export import ExportFormat, export
from producer.bulk_progress import ProgressReader
from producer.bulk_rows import BulkFormat
from tests.integration.harness import mutations_per_key, wait_for

pytestmark = pytest.mark.integration

HEADER = "kind,provider,account,order_id,reason,amount,changes,line_items,idempotency_key\n"
PER_PROVIDER = {"backd": 4000, "fastpod": 4000, "shoplazza": 1995}
UNKNOWN_ORDERS = 5  # Shoplazza orders that do not exist: dead letters, not_found
COMMANDS = sum(PER_PROVIDER.values()) + UNKNOWN_ORDERS  # 10,000
START_STATES = {"backd": "order_placed", "fastpod": "new_order", "shoplazza": "placed"}
ACCOUNTS = {"backd": "acme", "fastpod": "pod", "shoplazza": "store"}
DONE_WITHIN_S = 150


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    """No client-side rate limit, and no re-sends of messages waiting their turn."""
    fast = {"ORDERCMD_DISPATCH_GUARD_S": "300"}
    for account in ("ACME", "STORE", "POD"):
        fast[f"ORDERCMD_ACCOUNTS__{account}__RATE_PER_S"] = "100000"
        fast[f"ORDERCMD_ACCOUNTS__{account}__BURST"] = "1000"
    return ordercmd_env | fast


@pytest.fixture
def roomy_sandbox(sandbox) -> Iterator:
    """The sandbox with Shoplazza's leaky bucket out of the way; put back afterwards."""
    before = sandbox.admin.update_settings()
    sandbox.admin.update_settings(shoplazza_bucket_size=100_000, shoplazza_leak_per_s=100_000.0)
    yield sandbox
    sandbox.admin.update_settings(
        shoplazza_bucket_size=before["shoplazza_bucket_size"],
        shoplazza_leak_per_s=before["shoplazza_leak_per_s"],
    )


DONE = {"already_done": "succeeded"}  # both mean the order shows the command done


def bulk_file(sandbox) -> tuple[str, dict[int, tuple[str, str, str]]]:
    """The CSV and, per row, what its report line must say: (admission, state, reason start)."""
    lines, expected = [HEADER], {}

    def add(line: str, outcome: tuple[str, str, str]) -> None:
        lines.append(line)
        expected[len(lines) - 1] = outcome

    for provider, count in PER_PROVIDER.items():
        for order_id in sandbox.admin.create_orders(provider, START_STATES[provider], count):
            add(
                f"cancel,{provider},{ACCOUNTS[provider]},{order_id},bulk,,,,bulk-{order_id}\n",
                ("new", "succeeded", ""),
            )
        if provider == "backd":  # a few rows the check refuses or folds, among the good ones
            add("refund,backd,acme,BO-X,,12.345,,,\n", ("invalid", "invalid", "amount: Decimal"))
            add("cancel,backd,nobody,BO-Y,,,,,\n", ("invalid", "invalid", "account: 'nobody'"))
            add(lines[1], ("duplicate", "succeeded", "same as row 1"))
    for n in range(UNKNOWN_ORDERS):
        add(f"cancel,shoplazza,store,9999-0000040{n},,,,,\n", ("new", "dead", "not_found: "))
    return "".join(lines), expected


def test_a_10000_command_batch_runs_to_completion_with_an_exact_report(
    roomy_sandbox, producer, store, start_worker
):
    sandbox = roomy_sandbox
    text, expected = bulk_file(sandbox)
    started = time.monotonic()
    with BulkRun(producer, file_name="orders.csv", fmt=BulkFormat.CSV) as run:
        check = run.check(io.BytesIO(text.encode()))
        assert (check.valid, check.invalid, check.duplicates) == (COMMANDS + 1, 2, 1)
        result = run.admit(Batches(store), actor="test", skip_invalid=True)
    admitted_s = time.monotonic() - started
    start_worker(pool="threads", concurrency=8)
    reader = ProgressReader(Batches(store), result.batch_id)
    progress = wait_for(
        lambda: (p := reader.read()).done and p, timeout_s=DONE_WITHIN_S, what="the batch"
    )
    ran_s = time.monotonic() - started - admitted_s
    print(f"{COMMANDS} commands: admitted in {admitted_s:.1f} s, ran in {ran_s:.1f} s")
    assert progress.total == COMMANDS
    # a delivery slowed past its lease on a loaded machine is re-run, reads the order first and
    # ends already_done: still exactly one provider mutation (checked below)
    done = progress.counts.get("succeeded", 0) + progress.counts.get("already_done", 0)
    assert (done, progress.counts.get("dead")) == (COMMANDS - UNKNOWN_ORDERS, UNKNOWN_ORDERS), (
        progress.counts
    )
    out = io.StringIO()
    assert export(Batches(store), result.batch_id, out, ExportFormat.CSV) == len(expected)
    report = list(csv.DictReader(io.StringIO(out.getvalue())))
    wrong = [
        (r["row"], r["admission"], r["state"], r["reason"][:40])
        for r in report
        if (r["admission"], DONE.get(r["state"], r["state"])) != expected[int(r["row"])][:2]
        or not r["reason"].startswith(expected[int(r["row"])][2])
    ]
    assert not wrong, f"{len(wrong)} report rows differ, e.g. {wrong[:5]}"
    assert len({r["command_id"] for r in report if r["command_id"]}) == COMMANDS
    per_key = mutations_per_key(sandbox.admin.mutations())
    assert len(per_key) == COMMANDS - UNKNOWN_ORDERS
    assert set(per_key.values()) == {1}, "every command reached its provider exactly once"
