"""``ordercmd pause|resume``: audited operator pauses from the shell; bad input names the field."""

from __future__ import annotations

import json

import pytest
import redis

from store import keys
from tests.builders import invoke_cli
from tests.unit.cli.test_status_providers import run_env  # noqa: F401


def test_pause_and_resume_an_account_show_in_status_and_the_audit_log(run_env):  # noqa: F811
    paused = invoke_cli("pause", "shoplazza:store", "--why", "429 storm", "--actor", "ann")
    assert paused.exit_code == 0, paused.output
    assert "shoplazza:store paused: 0 command(s) held" in paused.stdout
    status = invoke_cli("status", "--providers", "--json")
    rows = {row["account"]: row for row in json.loads(status.stdout)}
    assert rows["store"]["operator"]["state"] == "paused"
    assert rows["store"]["operator"]["why"] == "429 storm"
    assert rows["acme"]["operator"]["state"] == "running"
    table = invoke_cli("status", "--providers")
    assert "paused by ann" in table.stdout
    resumed = invoke_cli("resume", "shoplazza:store", "--why", "calm", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout) == {
        "target": "shoplazza:store",
        "state": "resumed",
        "held": 0,
    }
    audit = [f for _, f in run_env.xrange(keys.audit())]
    first = audit[0]
    assert (first["action"], first["target"], first["actor"], first["why"]) == (
        "pause", "shoplazza:store", "ann", "429 storm",
    )  # fmt: skip
    assert audit[1]["action"] == "resume"


def test_a_whole_provider_pauses_every_account_of_it(run_env):  # noqa: F811
    assert invoke_cli("pause", "backd", "--why", "outage").exit_code == 0
    rows = {
        r["account"]: r for r in json.loads(invoke_cli("status", "--providers", "--json").stdout)
    }
    assert rows["acme"]["operator"]["state"] == "paused"
    assert rows["acme"]["operator"]["by_provider"] is True
    assert rows["store"]["operator"]["state"] == "running"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("pause", "acme", "--why", "x"), "provider: 'acme' is not a provider"),
        (("pause", "shoplazza:nope", "--why", "x"), "account: 'nope' is not a shoplazza account"),
        (("pause", "shoplazza:store", "--why", "  "), "why: a reason is required"),
        (("pause", "shoplazza:store"), "Missing option '--why'"),
        (("resume", "shoplazza:store", "--why", "x"), "target: shoplazza:store is not paused"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    run_env: redis.Redis,  # noqa: F811
    args,
    words,
):
    result = invoke_cli(*args)
    assert result.exit_code != 0
    assert words in result.output
    assert run_env.hgetall(keys.paused()) == {}
    assert run_env.xlen(keys.audit()) == 0
