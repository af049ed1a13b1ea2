"""``/metrics`` counts commands per state and the lane depth from the search's state indexes."""

from __future__ import annotations

import fakeredis
from prometheus_client import generate_latest
from prometheus_client.core import CollectorRegistry

from config.settings import Settings
from store import keys
from store.command_store import CommandStore, StoreLimits
from tests.factories import make_envelope
from web.metrics import StoreCollector
from web.metrics_flow import FlowCollector


def scrape(client: fakeredis.FakeRedis) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(client))
    return generate_latest(registry).decode()


def test_commands_waiting_behind_their_lane_head_are_the_lane_depth():
    client = fakeredis.FakeRedis(decode_responses=True)
    store = CommandStore(client, StoreLimits(retention_s=3600, guard_ms=0, lease_ms=30_000))
    for key in ("a", "b", "c"):  # one order: a heads the lane, b and c wait behind it
        store.admit(make_envelope(key, order_id="O-1"))
    store.admit(make_envelope("d", order_id="O-2"))
    text = scrape(client)
    assert "ordercmd_lane_depth 2.0" in text
    assert 'ordercmd_commands_in_state{state="queued"} 2.0' in text
    assert 'ordercmd_commands_in_state{state="waiting"} 2.0' in text
    assert 'ordercmd_commands_in_state{state="dead"} 0.0' in text


def test_each_accounts_bulk_backlog_is_a_gauge_with_its_oldest_age_and_eta():
    client = fakeredis.FakeRedis(decode_responses=True)
    store = CommandStore(client, StoreLimits(retention_s=3600, guard_ms=0, lease_ms=30_000))
    envelopes = [
        make_envelope(f"k{i}", provider="shoplazza", account="s1", order_id=f"O-{i}")
        for i in range(6)
    ]
    store.admit_many([e.model_copy(update={"source": "bulk:b1"}) for e in envelopes])
    account = {"provider": "shoplazza", "base_url": "http://x.invalid", "access_token": "t"}
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FlowCollector(client, Settings(accounts={"s1": account})))
    text = generate_latest(registry).decode()
    assert 'ordercmd_bulk_backlog{account="s1"} 6.0' in text
    assert 'ordercmd_bulk_backlog_eta_seconds{account="s1"} 3.0' in text, "6 at 2/s"
    assert 'ordercmd_bulk_backlog_oldest_age_seconds{account="s1"}' in text
    states = scrape(client)
    assert 'ordercmd_commands_in_state{state="waiting"} 6.0' in states
    assert 'ordercmd_commands_waiting{waiting_for="backlog"} 6.0' in states
    assert 'ordercmd_commands_waiting{waiting_for="rate"} 0.0' in states
    assert "ordercmd_lane_depth 0.0" in states, "a backlog is no lane"


def test_the_backlog_eta_follows_the_rate_it_drained_at_in_the_last_minute():
    client = fakeredis.FakeRedis(decode_responses=True)
    store = CommandStore(client, StoreLimits(retention_s=3600, guard_ms=0, lease_ms=30_000))
    envelopes = [
        make_envelope(f"k{i}", provider="shoplazza", account="s1", order_id=f"O-{i}")
        for i in range(6)
    ]
    store.admit_many([e.model_copy(update={"source": "bulk:b1"}) for e in envelopes])
    seconds, micros = client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    # released 1 command every 2 s for the last 20 s: 0.5/s, a quarter of the 2/s configured
    for i in range(10):
        client.xadd(keys.backlog_released("s1"), {"n": 1}, id=f"{now_ms - 20_000 + i * 2000}-0")
    account = {"provider": "shoplazza", "base_url": "http://x.invalid", "access_token": "t"}
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FlowCollector(client, Settings(accounts={"s1": account})))
    text = generate_latest(registry).decode()
    eta = float(text.split('ordercmd_bulk_backlog_eta_seconds{account="s1"} ')[1].split()[0])
    assert 11 < eta < 14, "6 at about 0.5/s (9 released over 18 s to 20 s)"
