"""``/metrics`` flow gauges: breakers open, 429 pauses, and the oldest waiting commands."""

from __future__ import annotations

import time

import fakeredis
from prometheus_client import generate_latest
from prometheus_client.core import CollectorRegistry

from config.settings import Settings
from store import keys
from tests.unit.web.test_web_app import ACCOUNTS
from web.metrics_flow import FlowCollector


def scrape(client: fakeredis.FakeRedis) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FlowCollector(client, Settings(accounts=ACCOUNTS)))
    return generate_latest(registry).decode()


def sample(text: str, line_start: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(line_start + " ")]
    return float(line.rsplit(" ", 1)[1])


def test_an_open_breaker_and_a_paused_account_show_per_account():
    client = fakeredis.FakeRedis(decode_responses=True)
    client.hset(keys.breaker("backd", "acme"), mapping={"state": "open", "opened": 3})
    client.set(keys.rate_pause("shoplazza", "store"), "1", px=30_000)
    text = scrape(client)
    assert sample(text, 'ordercmd_breaker_open{account="acme",provider="backd"}') == 1.0
    assert sample(text, 'ordercmd_breaker_opened_total{account="acme",provider="backd"}') == 3.0
    assert sample(text, 'ordercmd_breaker_open{account="store",provider="shoplazza"}') == 0.0
    assert sample(text, 'ordercmd_account_paused{account="store",provider="shoplazza"}') == 1.0
    assert sample(text, 'ordercmd_account_paused{account="acme",provider="backd"}') == 0.0


def test_the_oldest_waiting_command_age_is_per_state_and_zero_when_none_waits():
    client = fakeredis.FakeRedis(decode_responses=True)
    now_ms = time.time() * 1000
    client.zadd(keys.index("state", "queued"), {"old": now_ms - 90_000, "new": now_ms - 1_000})
    client.zadd(keys.index("waiting_for", "backlog"), {"bulk": now_ms - 3_600_000})
    text = scrape(client)
    queued = sample(text, 'ordercmd_oldest_waiting_age_seconds{state="queued",waiting_for=""}')
    assert 89 < queued < 120, "a bulk backlog waiting by design is not counted as queued"
    assert sample(text, 'ordercmd_oldest_waiting_age_seconds{state="retrying",waiting_for=""}') == 0
    backlog = 'ordercmd_oldest_waiting_age_seconds{state="waiting",waiting_for="backlog"}'
    assert 3599 < sample(text, backlog) < 3700
    for what in ("lane", "rate", "breaker", "paused"):
        labels = f'state="waiting",waiting_for="{what}"'
        assert sample(text, f"ordercmd_oldest_waiting_age_seconds{{{labels}}}") == 0.0
