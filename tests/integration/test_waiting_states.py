"""Waiting is not failing: a command waiting its turn is ``waiting`` (for what), never retrying.

It shows so in ``ordercmd status --json``, the operator API and ``/metrics``. One Shoplazza
store limited to 1/s (burst 1: the last of twenty waits about 20 s, time enough for a CLI run
on a loaded machine), the sandbox answering in ~50 ms, one worker. Four bulk cancels are
admitted first, with no worker yet: each waits in the store's backlog, with its place and an
ETA. Then twenty live cancels and a worker: they go at the store's rate, and those whose slot
is later wait for it (``rate``) without spending an attempt.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from store.command_store import CommandStore
from store.records import read_records
from tests.integration.entrypoints import run_cli
from tests.integration.harness import mutations_per_key, settle_all, wait_for
from tests.unit.web.test_web_app import TOKENS, Published, web_settings
from web import create_app

pytestmark = pytest.mark.integration

LIMIT_PER_S = 1.0
BULK, LIVE = 4, 20
AUTH = {"Authorization": f"Bearer {TOKENS['alice']}"}


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    """Shoplazza's "store" limited to 1/s, burst 1."""
    return ordercmd_env | {
        "ORDERCMD_ACCOUNTS__STORE__RATE_PER_S": str(LIMIT_PER_S),
        "ORDERCMD_ACCOUNTS__STORE__BURST": "1",
        "ORDERCMD_DISPATCH_GUARD_S": "300",
    }


@pytest.fixture
def api(settings: Settings, store: CommandStore) -> TestClient:
    """The web app (operator API, ``/metrics``) on the test's store, with its accounts."""
    with_operators = settings.model_copy(update={"web": web_settings().web})
    return TestClient(create_app(with_operators, store, Published()), follow_redirects=False)


def cancel(order_id: str) -> dict[str, str]:
    return {"kind": "cancel", "provider": "shoplazza", "account": "store", "order_id": order_id}


def status_json(env: dict[str, str], command_id: str) -> tuple[dict[str, Any], float]:
    """``ordercmd status ID --json`` as printed, and how long the run took."""
    ran = run_cli(env, "status", command_id, "--json")
    assert ran.returncode == 0, ran.output
    return json.loads(ran.output[ran.output.index('{\n  "') :]), ran.took_s


def metric(api: TestClient, name_and_labels: str) -> float:
    text = api.get("/metrics", headers=AUTH).text
    line = next(line for line in text.splitlines() if line.startswith(name_and_labels + " "))
    return float(line.split()[-1])


def waits(status: dict[str, Any]) -> tuple[str, str | None, int]:
    return status["state"], status["waiting_for"], len(status["attempts"])


@pytest.mark.timeout(240)
def test_waiting_for_a_slot_or_the_backlog_is_waiting_everywhere_never_retrying(
    sandbox, producer, store, ordercmd_env, api, start_worker
):
    sandbox.admin.set_faults("shoplazza", latency_ms=50)
    bulk_orders = sandbox.admin.create_orders("shoplazza", "placed", BULK)
    live_orders = sandbox.admin.create_orders("shoplazza", "placed", LIVE)
    # Given ten bulk cancels admitted with no worker running: each waits in the backlog
    bulk = [s.command_id for s in producer.submit_many([cancel(o) for o in bulk_orders],
                                                        source="bulk:b1")]  # fmt: skip
    last, cli_run_s = status_json(ordercmd_env, bulk[-1])
    assert waits(last) == ("waiting", "backlog", 0), last
    assert last["backlog_place"] == BULK, "last of the batch in the store's backlog"
    eta_s = datetime.fromisoformat(last["waiting_until"]).timestamp() - time.time()
    assert 0 < eta_s <= BULK / LIMIT_PER_S + 1, f"ETA at the store's 1/s: {eta_s:.1f} s"
    from_api = api.get(f"/api/commands/{bulk[0]}", headers=AUTH).json()
    assert (from_api["state"], from_api["waiting_for"], from_api["backlog_place"]) == (
        "waiting", "backlog", 1,
    )  # fmt: skip
    assert metric(api, 'ordercmd_commands_waiting{waiting_for="backlog"}') == BULK
    assert metric(api, 'ordercmd_commands_in_state{state="queued"}') == 0
    age = 'ordercmd_oldest_waiting_age_seconds{state="queued",waiting_for=""}'
    assert metric(api, age) == 0, "a backlog waiting by design is not an unclaimed queued command"
    # When twenty live cancels arrive and a worker runs them at the store's rate
    live = [s.command_id for s in producer.submit_many([cancel(o) for o in live_orders])]
    start_worker(pool="threads", concurrency=4)
    seen: set[tuple[str, str | None]] = set()

    def rate_wait() -> str | None:
        records = [r for r in read_records(store.client, live) if r is not None]
        seen.update((str(r.state), r.waiting_for) for r in records)
        assert not any(r.state == "retrying" for r in records), "waiting is not retrying"
        # the one waiting longest for its slot, if a CLI run has time to see it waiting
        until = {r.id: r.waiting_until.timestamp() for r in records if r.waiting_for == "rate"
                 and r.waiting_until}  # fmt: skip
        latest = max(until, key=until.__getitem__, default=None)
        return latest if latest and until[latest] > time.time() + 2 * cli_run_s else None

    # Then one waiting for its slot shows waiting (rate), no attempt, in the CLI, API, metrics
    waiting_id = wait_for(rate_wait, timeout_s=60, what="a live command waiting for its slot")
    from_api = api.get(f"/api/commands/{waiting_id}", headers=AUTH).json()
    assert (from_api["state"], from_api["waiting_for"], from_api["attempts"]) == (
        "waiting", "rate", [],
    ), from_api  # fmt: skip
    assert metric(api, 'ordercmd_commands_waiting{waiting_for="rate"}') >= 1
    assert metric(api, 'ordercmd_commands_in_state{state="retrying"}') == 0
    from_cli, _ = status_json(ordercmd_env, waiting_id)
    assert waits(from_cli) == ("waiting", "rate", 0), from_cli
    assert from_cli["waiting_until"], "its slot's time"

    def all_ended() -> bool:  # every poll sees no command retrying
        rate_wait()
        return all(r is not None and r.terminal for r in read_records(store.client, live + bulk))

    wait_for(all_ended, timeout_s=120, what="every command to end")
    records = settle_all(store.client, live + bulk, timeout_s=10)
    assert ("waiting", "rate") in seen, seen
    assert {str(r.state) for r in records.values()} == {"succeeded"}
    assert {len(r.attempts) for r in records.values()} == {1}, "waits spent no attempt"
    mutations = sandbox.admin.mutations(provider="shoplazza")
    assert set(mutations_per_key(mutations).values()) == {1}
    assert len(mutations) == BULK + LIVE
    assert metric(api, 'ordercmd_commands_waiting{waiting_for="backlog"}') == 0
