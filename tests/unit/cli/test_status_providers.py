"""``ordercmd status --providers``: breaker, 429 pause and rate limit per account, read-only."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import fakeredis
import pytest
import redis
from rich.console import Console
from rich.table import Table

from cli.providers_status import (
    BreakerState,
    breaker_view,
    providers_table,
    read_provider_status,
)
from config.settings import Settings
from store import keys
from store.command_store import Claim, CommandStore, StoreLimits
from store.flow import BreakerPolicy, FlowControl
from tests.builders import invoke_cli
from tests.factories import make_envelope
from tests.gated import GatedCalls

POLICY = BreakerPolicy(failures=3, window_s=60, cool_down_s=30, probe_lease_s=60)
ACCOUNTS: dict[str, dict[str, Any]] = {
    "acme": {
        "provider": "backd",
        "base_url": "http://b.invalid",
        "public_key": "pk",
        "secret_key": "sk",
    },
    "store": {
        "provider": "shoplazza",
        "base_url": "http://s.invalid",
        "access_token": "t",
        "rate_per_s": 4,
        "burst": 1,
    },
    "pod": {"provider": "fastpod", "base_url": "http://f.invalid", "token": "t"},
}


@pytest.fixture
def settings() -> Settings:
    return Settings(accounts=ACCOUNTS)


@pytest.fixture
def flow() -> FlowControl:
    return FlowControl(fakeredis.FakeRedis(decode_responses=True), POLICY)


def by_account(settings: Settings, flow: FlowControl) -> dict[str, dict[str, Any]]:
    return {row.account: row.to_json() for row in read_provider_status(settings, flow)}


def test_untouched_accounts_are_closed_unpaused_with_their_rate(settings, flow):
    rows = by_account(settings, flow)
    assert list(rows) == ["acme", "pod", "store"]
    assert rows["store"] == {
        "account": "store",
        "provider": "shoplazza",
        "breaker": {
            "state": "closed",
            "probe_in_s": None,
            "probing": False,
            "probe_lease_left_s": None,
            "failures": 0,
            "opened": 0,
        },
        "paused": False,
        "pause_left_s": 0.0,
        "rate": {"per_s": 4.0, "burst": 1, "default": False, "booked_ahead_s": 0.0},
        "backlog": {"depth": 0, "oldest_age_s": None, "eta_s": None},
        "operator": {
            "provider": "shoplazza", "account": "store", "state": "running",
            "by_provider": False, "actor": "", "why": "", "since_ms": None, "held": 0,
        },
    }  # fmt: skip
    assert rows["acme"]["rate"] == {
        "per_s": 5.0,
        "burst": 5,
        "default": True,
        "booked_ahead_s": 0.0,
    }
    assert rows["pod"]["rate"]["per_s"] == 2.0


def test_a_run_of_failures_shows_open_with_the_time_to_the_probe(settings, flow):
    for _ in range(3):
        flow.record("fastpod", "pod", ok=False)
    breaker = by_account(settings, flow)["pod"]["breaker"]
    assert breaker["state"] == BreakerState.OPEN
    assert 29 <= breaker["probe_in_s"] <= 30
    assert (breaker["failures"], breaker["opened"]) == (3, 1)
    assert by_account(settings, flow)["acme"]["breaker"]["state"] == "closed", "per account"


def test_a_cooled_down_breaker_is_half_open_then_probing_then_closed(settings, flow):
    for _ in range(3):
        flow.record("backd", "acme", ok=False)
    flow.client.hset(keys.breaker("backd", "acme"), "open_until", 0)  # the cool-down is over
    breaker = by_account(settings, flow)["acme"]["breaker"]
    assert (breaker["state"], breaker["probing"]) == ("half-open", False)
    acme = settings.account("acme")
    assert isinstance(GatedCalls(flow).call("acme", acme), Claim), "this caller is the probe"
    breaker = by_account(settings, flow)["acme"]["breaker"]
    assert (breaker["state"], breaker["probing"]) == ("half-open", True)
    assert 59 <= breaker["probe_lease_left_s"] <= 60
    flow.record("backd", "acme", ok=True)
    assert by_account(settings, flow)["acme"]["breaker"]["state"] == "closed"


def test_a_429_pause_shows_the_seconds_left(settings, flow):
    flow.pause("shoplazza", "store", 5)
    store = by_account(settings, flow)["store"]
    assert store["paused"] is True
    assert 4.9 <= store["pause_left_s"] <= 5


def test_reserved_rate_slots_show_how_far_ahead_they_are_booked(settings, flow):
    store = settings.account("store")
    calls = GatedCalls(flow)
    for _ in range(4):  # 4/s burst 1: one goes now, three hold the next slots
        calls.call("store", store)
    booked = by_account(settings, flow)["store"]["rate"]["booked_ahead_s"]
    assert 0.95 <= booked <= 1.0


def test_a_bulk_backlog_shows_its_depth_oldest_and_eta_at_the_limit(settings, flow):
    store = CommandStore(flow.client, StoreLimits(3600, guard_ms=60_000, lease_ms=60_000))
    envelopes = [
        make_envelope(f"k{i}", provider="shoplazza", account="store", order_id=f"O-{i}")
        for i in range(10)
    ]
    store.admit_many([e.model_copy(update={"source": "bulk:b1"}) for e in envelopes])
    backlog = by_account(settings, flow)["store"]["backlog"]
    assert (backlog["depth"], backlog["eta_s"]) == (10, 2.5), "10 at 4/s"
    assert 0 <= backlog["oldest_age_s"] < 5
    table = render(providers_table(read_provider_status(settings, flow)))
    assert "10 waiting, oldest" in table
    assert "ETA 2.5 s" in table


def render(table: Table) -> str:
    console = Console(width=250, record=True)
    console.print(table)
    return console.export_text()


def test_reading_writes_nothing(settings, flow):
    flow.record("shoplazza", "store", ok=False)
    flow.pause("shoplazza", "store", 5)
    before = {k: flow.client.dump(k) for k in flow.client.keys("*")}
    read_provider_status(settings, flow)
    assert {k: flow.client.dump(k) for k in flow.client.keys("*")} == before


@pytest.mark.parametrize(
    ("fields", "now_ms", "expected"),
    [
        pytest.param({}, 1000, (BreakerState.CLOSED, None, False, None), id="never-failed"),
        pytest.param(
            {"state": "open", "open_until": "4000", "failures": "5", "opened": "1"},
            1500,
            (BreakerState.OPEN, 2.5, False, None),
            id="open",
        ),
        pytest.param(
            {"state": "open", "open_until": "4000", "probe_until": "9000"},
            5000,
            (BreakerState.HALF_OPEN, None, True, 4.0),
            id="probing",
        ),
        pytest.param(
            {"state": "open", "open_until": "4000", "probe_until": "4500"},
            5000,  # the probe's lease ran out without an outcome: the next call probes again
            (BreakerState.HALF_OPEN, None, False, None),
            id="probe-lease-lapsed",
        ),
    ],
)
def test_breaker_view_follows_the_gate(fields, now_ms, expected):
    view = breaker_view(fields, now_ms)
    assert (view.state, view.probe_in_s, view.probing, view.probe_lease_left_s) == expected


# --- the command, against a real Redis -----------------------------------------------------


@pytest.fixture
def run_env(
    redis_url: str, redis_client: redis.Redis, use_settings: Callable[..., None]
) -> redis.Redis:
    use_settings(redis_url, ACCOUNTS)
    return redis_client


def test_status_providers_json_shows_every_account(run_env):
    flow = FlowControl(run_env)
    for _ in range(5):
        flow.record("shoplazza", "store", ok=False)
    flow.pause("backd", "acme", 3)
    result = invoke_cli("status", "--providers", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["account"]: row for row in json.loads(result.stdout)}
    assert rows["store"]["breaker"]["state"] == "open"
    assert rows["store"]["breaker"]["failures"] == 5
    assert rows["acme"]["paused"] is True
    assert rows["pod"]["breaker"]["state"] == "closed"


def test_status_providers_table_names_each_account(run_env):
    FlowControl(run_env).pause("backd", "acme", 3)
    result = invoke_cli("status", "--providers")
    assert result.exit_code == 0, result.output
    for text in ("acme", "store", "pod", "paused", "closed"):
        assert text in result.stdout


@pytest.mark.parametrize(
    "args", [("abc", "--providers"), ("--order", "backd:acme:1", "--providers")]
)
def test_status_providers_goes_alone(args, run_env):
    result = invoke_cli("status", *args)
    assert result.exit_code == 2
    assert "give at most one of" in result.stderr
