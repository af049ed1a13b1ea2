"""``ordercmd dlq replay|discard --filter``: plan with counts, dry run, throttled run, audit."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import redis
from click.testing import CliRunner

from cli.main import cli
from config.settings import get_settings
from runs.driver import RunDriver
from schemas import CommandState, DeadReason
from store import keys
from store.command_store import Claim, CommandStore, StoreLimits
from store.records import read_record
from store.search import Search
from tests.factories import make_envelope


@pytest.fixture
def store(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CommandStore]:
    monkeypatch.setenv("ORDERCMD_REDIS_URL", redis_url)
    get_settings.cache_clear()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield CommandStore(client, StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=30_000))
    client.close()
    get_settings.cache_clear()


def dead(store: CommandStore, key: str, reason: DeadReason, **overrides) -> str:
    command_id = store.admit(make_envelope(key, **overrides)).command_id
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.DEAD, None, reason=reason, message="no")
    return command_id


def run(*args: str):
    return CliRunner().invoke(cli, ["dlq", *args], catch_exceptions=False)


def states(store, ids) -> list[str]:
    return [str(read_record(store.client, i).state) for i in ids]


def test_a_dry_run_counts_by_group_and_changes_nothing(store):
    ids = [dead(store, f"k{i}", DeadReason.EXHAUSTED, order_id=f"O-{i}") for i in range(3)]
    dead(store, "other", DeadReason.NOT_FOUND, order_id="O-9")
    result = run("replay", "--filter", "reason=exhausted,provider=backd", "--dry-run",
                 "--why", "provider fixed")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 dead letters" in result.output
    assert "exhausted" in result.output
    assert "dry run: nothing changed" in result.output
    assert states(store, ids) == ["dead"] * 3


def test_a_filtered_replay_runs_at_its_rate_and_audits_each(store):
    ids = [dead(store, f"k{i}", DeadReason.EXHAUSTED, order_id=f"O-{i}") for i in range(3)]
    kept = dead(store, "other", DeadReason.NOT_FOUND, order_id="O-9")
    result = run("replay", "--filter", "reason=exhausted", "--rate", "50", "--yes",
                 "--why", "provider fixed", "--actor", "ops")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "done: 3 of 3 (queued 3)" in result.output
    assert states(store, ids) == ["queued"] * 3
    assert states(store, [kept]) == ["dead"]
    entries = [f for _, f in store.client.xrange(keys.audit())]
    replays = [e for e in entries if e["action"] == "replay"]
    assert sorted(e["command_id"] for e in replays) == sorted(ids)
    assert all(e["actor"] == "ops" and "bulk run" in e["why"] for e in replays)
    assert [e["action"] for e in entries if e["action"].startswith("bulk")] == ["bulk_replay_start"]


def test_a_filtered_discard_asks_first(store):
    ids = [dead(store, f"k{i}", DeadReason.AUTH, order_id=f"O-{i}") for i in range(2)]
    refused = CliRunner().invoke(cli, ["dlq", "discard", "--filter", "reason=auth", "--why", "x"],
                                 input="n\n")  # fmt: skip
    assert refused.exit_code == 1
    assert states(store, ids) == ["dead", "dead"]
    agreed = CliRunner().invoke(cli, ["dlq", "discard", "--filter", "reason=auth", "--why", "x"],
                                input="y\n")  # fmt: skip
    assert agreed.exit_code == 0, agreed.output
    assert states(store, ids) == ["discarded", "discarded"]


def test_an_id_and_a_filter_are_exclusive(store):
    assert run("replay", "abc", "--filter", "reason=auth", "--why", "x").exit_code == 2
    assert run("replay", "--why", "x").exit_code == 2
    bad = run("replay", "--filter", "colour=red", "--why", "x")
    assert bad.exit_code == 1
    assert "filter" in bad.output


def test_no_wait_starts_the_run_and_leaves_it_to_the_workers(store):
    ids = [dead(store, f"k{i}", DeadReason.EXHAUSTED, order_id=f"O-{i}") for i in range(2)]
    result = run("replay", "--filter", "reason=exhausted", "--rate", "50", "--yes", "--no-wait",
                 "--why", "provider fixed")  # fmt: skip
    assert result.exit_code == 0, result.output
    run_id = re.search(r"run (\w+) started at 50/s", result.output).group(1)
    assert states(store, ids) == ["dead", "dead"], "the shell acted on nothing"
    published: list[str] = []
    driver = RunDriver(store, Search(store.client, {"acme": "backd"}), published.extend)
    deadline = time.monotonic() + 10
    while driver.runs.require(run_id).status == "running":  # a worker's ticks
        assert time.monotonic() < deadline
        driver.run_once()
    assert sorted(published) == sorted(ids)
    assert states(store, ids) == ["queued", "queued"]
