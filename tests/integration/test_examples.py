"""The shipped examples, as the README runs them, against the demo's seeded sandbox orders.

``make demo`` serves the sandbox with its seeded order book; the examples name those orders and
the demo's accounts (acme, store, pod), so each ends as the README says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.harness import ROOT, wait_for

pytestmark = pytest.mark.integration

ORDERCMD = (sys.executable, "-m", "cli")
SEEDED = 24  # the sandbox's default order book, which the demo serves


def ordercmd(env: dict[str, str], *args: str) -> dict[str, Any]:
    """``ordercmd ARGS... --json`` from the project directory; its JSON answer."""
    done = subprocess.run(
        [*ORDERCMD, *args, "--json"], env=env, cwd=ROOT, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    return dict(json.loads(done.stdout))


@pytest.fixture
def seeded(sandbox):
    sandbox.admin.reset(orders_per_provider=SEEDED)
    return sandbox


def test_the_bulk_examples_succeed_once_each_against_the_seeded_orders(
    seeded, ordercmd_env, start_worker
):
    env = {**os.environ, **ordercmd_env}
    start_worker(pool="threads", concurrency=4)

    admitted = ordercmd(env, "bulk", "examples/bulk_orders.csv")
    again = ordercmd(env, "bulk", "examples/bulk_orders.jsonl")  # the same eight commands

    batch = admitted["batch_id"]
    progress = wait_for(
        lambda: (p := ordercmd(env, "batch", "status", batch))["done"] and p,
        timeout_s=60,
        what="the example batch to finish",
    )
    assert admitted["admitted"] == {"new": 8}
    assert again["admitted"] == {"existing": 8}
    assert {k: v for k, v in progress["counts"].items() if v} == {"succeeded": 8}
    assert len(seeded.admin.mutations()) == 8
