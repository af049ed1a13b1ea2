"""``/metrics`` counts commands per state and the lane depth from the search's state indexes."""

from __future__ import annotations

import fakeredis
from prometheus_client import generate_latest
from prometheus_client.core import CollectorRegistry

from store.command_store import CommandStore, StoreLimits
from tests.factories import make_envelope
from web.metrics import StoreCollector


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
