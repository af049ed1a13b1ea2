"""The overview's flow-control column: open breakers, 429 pauses and limits per provider."""

from __future__ import annotations

import fakeredis

from config.settings import Settings
from schemas import Provider
from store.command_store import CommandStore, StoreLimits
from store.flow import FlowControl
from tests.factories import make_envelope
from web.flow_view import flow_summary

SETTINGS = Settings(
    accounts={
        "s1": {"provider": "shoplazza", "base_url": "http://x.invalid", "access_token": "t"},
        "s2": {
            "provider": "shoplazza",
            "base_url": "http://y.invalid",
            "access_token": "t",
            "rate_per_s": 5,
        },
    }
)


def test_a_quiet_provider_shows_closed_breakers_and_its_limits():
    client = fakeredis.FakeRedis(decode_responses=True)
    assert flow_summary(client, SETTINGS, Provider.SHOPLAZZA) == {
        "breaker": "closed (2 account(s))",
        "rate": "limit 2/s, 5/s",
        "backlog": "-",
    }


def test_open_breakers_and_pauses_are_named_by_account():
    client = fakeredis.FakeRedis(decode_responses=True)
    flow = FlowControl(client)
    for _ in range(flow.policy.failures):
        flow.record("shoplazza", "s2", ok=False)
    flow.pause("shoplazza", "s1", 30)
    summary = flow_summary(client, SETTINGS, Provider.SHOPLAZZA)
    assert summary["breaker"] == "open: s2"
    assert summary["rate"].startswith("paused after 429: s1 30 s")


def test_a_provider_without_accounts_says_so():
    client = fakeredis.FakeRedis(decode_responses=True)
    assert flow_summary(client, SETTINGS, Provider.BACKD)["breaker"] == "no account"


def test_bulk_backlogs_are_named_by_account_with_their_eta():
    client = fakeredis.FakeRedis(decode_responses=True)
    store = CommandStore(client, StoreLimits(retention_s=3600, guard_ms=0, lease_ms=30_000))
    envelopes = [
        make_envelope(f"k{i}", provider="shoplazza", account="s2", order_id=f"O-{i}")
        for i in range(10)
    ]
    store.admit_many([e.model_copy(update={"source": "bulk:b1"}) for e in envelopes])
    assert (
        flow_summary(client, SETTINGS, Provider.SHOPLAZZA)["backlog"] == "s2 10 waiting (ETA 2 s)"
    )
