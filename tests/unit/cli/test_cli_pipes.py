"""The CLI in pipes and scripts: a bare ``status`` summary, whole ids, JSON errors, filters."""

from __future__ import annotations

import json

import pytest

from runs.bulk_runs import BulkRuns, RunStatus
from schemas import CommandState
from store import keys
from store.command_store import CommandStore
from tests.factories import make_envelope
from tests.unit.cli.test_cli import make_dead, ok, refused

ORDER = "backd:acme:BO-LONG"


def test_bare_status_summarises_states_dead_letters_workers_and_accounts(run, store, redis_client):
    make_dead(store, "k-dead")
    ok(run("submit", "cancel", "--provider", "backd", "--account", "acme", "--order", "BO-9"))
    redis_client.zadd(keys.workers_seen(), {"w1@host": int(redis_client.time()[0]) * 1000})

    summary = json.loads(ok(run("status", "--json")))
    text = ok(run("status"))

    assert summary["states"] | {"dead": 1, "queued": 1} == summary["states"]
    assert summary["states"]["dead"] == 1
    assert summary["dead_by_reason"]["not_found"] == 1
    assert summary["workers"] == ["w1@host"]
    assert {row["account"] for row in summary["providers"]} == {"acme", "store", "pod"}
    assert "dead: not_found" in text
    assert "w1@host" in text
    assert "provider accounts" in text


def test_piped_tables_keep_every_id_whole_on_one_line(run, store: CommandStore):
    ids = [store.admit(make_envelope(f"k-{n}", order_id="BO-LONG")).command_id for n in range(3)]

    lines = ok(run("status", "--order", ORDER)).splitlines()

    for command_id in ids:
        assert any(command_id in line for line in lines), (command_id, lines)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("status", "nope", "--json"), id="unknown command"),
        pytest.param(("status", "--json", "--bogus"), id="unknown option"),
        pytest.param(("dlq", "list", "--json", "--filter", "reason=unsuported"), id="bad filter"),
    ],
)
def test_json_callers_get_errors_as_json_and_a_failing_exit(args, run):
    result = run(*args)

    assert result.exit_code != 0
    error = json.loads(result.stdout)["error"]
    assert set(error) == {"type", "message"}
    assert error["message"]


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("reason=unsuported", "did you mean unsupported?"),
        ("resaon=exhausted", "did you mean reason?"),
        ("provider=shoplaza", "did you mean shoplazza?"),
        ("state=deadd", "did you mean dead?"),
        ("kind=refnd", "did you mean refund?"),
    ],
)
def test_a_misspelt_filter_is_refused_naming_the_nearest_valid_word(text, hint, run, store):
    make_dead(store, "k-1")

    message = refused(run("dlq", "replay", "--filter", text, "--why", "t", "--yes"))

    assert hint in message
    assert BulkRuns(store.client).recent() == []  # nothing planned


def test_a_filter_matching_nothing_leaves_no_planned_run(run, store):
    make_dead(store, "k-1")

    text = ok(run("dlq", "replay", "--filter", "reason=exhausted", "--why", "t", "--yes"))

    assert "no dead letter matches reason=exhausted" in text
    assert [r.status for r in BulkRuns(store.client).recent()] == [RunStatus.CANCELLED]
    assert store.client.zcard(keys.index("state", CommandState.DEAD)) == 1
