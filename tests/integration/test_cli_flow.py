"""The shell end to end: ``ordercmd worker``, ``submit``, ``status`` and ``dlq`` on the sandbox.

A command is followed with ``ordercmd status`` through succeeded, retrying and dead.
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

CLI_TIMEOUT_S = 60
UNKNOWN_SHOPLAZZA_ORDER = "9999-00000404"


@pytest.fixture
def cli_env(ordercmd_env: dict[str, str]) -> dict[str, str]:
    """The integration settings, with Backd retries slow enough to watch from the shell.

    ``ordercmd_env`` is updated in place so the workers ``start_worker`` launches see the same
    settings: an attempt waits 2-4 s, then 3-6 s (equal jitter, base 4 s, cap 6 s), long next to
    the ~1 s a ``status`` process takes.
    """
    ordercmd_env |= {
        "ORDERCMD_RETRY__BACKD__BASE_S": "4",
        "ORDERCMD_RETRY__BACKD__CAP_S": "6",
        "ORDERCMD_RETRY__BACKD__MAX_ATTEMPTS": "12",  # 503s go on until the test clears them
    }
    return ordercmd_env


def ordercmd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cli ARGS...`` with ``env`` as a user's shell would."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def ordercmd_json(env: dict[str, str], *args: str) -> Any:
    done = ordercmd(env, *args, "--json")
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return json.loads(done.stdout)


def submit(env: dict[str, str], kind: str, provider: str, account: str, order: str, *extra: str):
    args = ("submit", kind, "--provider", provider, "--account", account, "--order", order, *extra)
    admitted = ordercmd_json(env, *args)
    assert admitted["admitted"] == "new", admitted
    return str(admitted["command_id"])


def status_until(env: dict[str, str], command_id: str, state: str, *, timeout_s: float = 45.0):
    """Poll ``ordercmd status ID --json`` until the command shows ``state``; its record."""

    def probe() -> dict[str, Any] | None:
        record = ordercmd_json(env, "status", command_id)
        return record if record["state"] == state else None

    return wait_for(probe, timeout_s=timeout_s, what=f"{command_id} to be {state}")


def test_commands_go_succeeded_retrying_and_dead_in_ordercmd_status(cli_env, sandbox, start_worker):
    # Given a worker, a Shoplazza order, a Backd order whose mutations get a 503 until the test
    # clears the fault (so a slow machine's polls cannot miss the retrying state), and a
    # Shoplazza order id the provider does not know
    shop_order = str(sandbox.admin.create_order("shoplazza", "placed")["id"])
    backd_order = str(sandbox.admin.create_order("backd", "order_placed")["backd_order_id"])
    sandbox.admin.set_faults(provider="backd", scope="mutations", script=["503"] * 10)
    start_worker(pool="threads", concurrency=2)

    # When commands are submitted from the shell: an update then a cancel of one order, a
    # cancel at Backd, and a cancel of the unknown order
    update = submit(
        cli_env, "update", "shoplazza", "store", shop_order, "--changes", '{"note": "gift"}'
    )
    cancel = submit(cli_env, "cancel", "shoplazza", "store", shop_order, "--reason", "asked")
    retried = submit(cli_env, "cancel", "backd", "acme", backd_order, "--key", "evt-retry")
    dead = submit(cli_env, "cancel", "shoplazza", "store", UNKNOWN_SHOPLAZZA_ORDER)

    # Then status shows the Backd cancel retrying after a 503, with its next attempt planned
    retrying = status_until(cli_env, retried, "retrying")
    assert retrying["attempts"][0]["http_status"] == 503
    assert retrying["next_attempt_at"] is not None
    # and, once the provider recovers, succeeded with a single mutation at the provider
    sandbox.admin.clear_faults()
    done = status_until(cli_env, retried, "succeeded")
    *failed, last = [a["http_status"] for a in done["attempts"]]
    assert (set(failed), last) == ({503}, 200), done["attempts"]
    assert [m["idempotency_key"] for m in sandbox.admin.mutations(order_id=backd_order)] == [
        "evt-retry"
    ]
    # and the unknown order dead as not_found after one attempt
    dead_record = status_until(cli_env, dead, "dead")
    assert (dead_record["dead_reason"], len(dead_record["attempts"])) == ("not_found", 1)
    # and the Shoplazza order's history lists its two commands, oldest first, both succeeded
    status_until(cli_env, cancel, "succeeded")
    history = ordercmd_json(cli_env, "status", "--order", f"shoplazza:store:{shop_order}")
    assert [(r["id"], r["state"]) for r in history] == [
        (update, "succeeded"),
        (cancel, "succeeded"),
    ]
    # and the dead-letter queue holds exactly the dead one
    letters = ordercmd_json(cli_env, "dlq", "list")
    assert letters["total"] == 1
    assert [(r["id"], r["dead_reason"]) for r in letters["items"]] == [(dead, "not_found")]


def test_a_dead_letter_replayed_from_the_shell_runs_again(cli_env, sandbox, start_worker):
    # Given a cancel that died because the order did not exist yet
    start_worker(pool="threads")
    order_id = "9999-00000777"
    dead = submit(cli_env, "cancel", "shoplazza", "store", order_id)
    status_until(cli_env, dead, "dead")
    # When the order now exists and an operator replays the command
    sandbox.admin.create_order("shoplazza", "placed", order_id=order_id)
    replayed = ordercmd(cli_env, "dlq", "replay", dead, "--why", "order imported", "--actor", "ops")
    assert replayed.returncode == 0, replayed.stderr
    # Then the worker runs it again (reading the order first) and it succeeds
    record = status_until(cli_env, dead, "succeeded")
    assert record["attempts"][0]["http_status"] == 404
    assert ordercmd_json(cli_env, "dlq", "list")["total"] == 0


def test_bad_input_from_the_shell_is_one_line_naming_the_field(cli_env):
    done = ordercmd(
        cli_env, "submit", "refund", "--provider", "backd", "--account", "acme",
        "--order", "BO-1", "--amount", "ten",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("Error: amount:"), done.stderr
    assert "Traceback" not in done.stderr
