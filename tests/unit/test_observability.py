"""deploy/'s Grafana dashboard and Prometheus rules name only metrics that /metrics serves."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from tests.deployfiles import ROOT
from tests.unit.web.test_web_app import bearer, web_settings
from web import create_app

DASHBOARD = ROOT / "deploy" / "grafana" / "ordercmd-dashboard.json"
RULES = ROOT / "deploy" / "prometheus" / "ordercmd-alerts.yml"
SCRAPE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
METRIC = re.compile(r"\b(ordercmd_[a-z0-9_]+)\b")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
}


def rules() -> list[dict[str, Any]]:
    return [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def named_metrics() -> set[str]:
    exprs = [rule["expr"] for rule in rules()] + dashboard_exprs()
    return {name for expr in exprs for name in METRIC.findall(expr)}


@pytest.fixture
def served(store, published) -> set[str]:
    """Every sample name a running app's /metrics serves, empty families included."""
    client = TestClient(create_app(web_settings(), store, published))
    reply = client.get("/metrics", headers=bearer("vic"))
    assert reply.status_code == 200, reply.text
    names = set()
    for family in text_string_to_metric_families(reply.text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def test_every_metric_the_rules_and_dashboard_name_is_served(served):
    missing = named_metrics() - served
    assert not missing, f"named in deploy/ but not served by /metrics: {sorted(missing)}"


def test_the_alerts_cover_what_an_operator_must_hear_about():
    exprs = {rule["alert"]: rule["expr"] for rule in rules()}
    for metric in (
        "ordercmd_dead_lettered_total",
        "ordercmd_breaker_open",
        "ordercmd_broker_messages_quarantined_total",
        "ordercmd_redis_evicted_keys_total",
        'ordercmd_oldest_waiting_age_seconds{state="queued"}',
        "ordercmd_webhook_deliveries_total",
        "ordercmd_webhook_gaps_total",
    ):
        assert any(metric in expr for expr in exprs.values()), f"no alert on {metric}"


def test_every_rule_is_complete():
    for rule in rules():
        assert rule["alert"].startswith("Ordercmd"), rule
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule
        assert rule["annotations"]["summary"], rule
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["expr"]


def test_the_dashboard_queries_one_prometheus_input():
    dashboard = json.loads(DASHBOARD.read_text())
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]


def test_the_scrape_config_loads_the_rules_and_sends_a_token():
    config = yaml.safe_load(SCRAPE.read_text())
    assert config["rule_files"] == [RULES.name]
    (job,) = config["scrape_configs"]
    assert "credentials_file" in job["authorization"]
    assert job["static_configs"][0]["targets"] == ["web:8000"]
