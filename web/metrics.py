"""``/metrics``: Prometheus text from the counters in Redis, so every worker is counted.

Guarded by an operator's API token (viewer tokens do): Prometheus sends it with
``authorization: {credentials: <token>}`` in its scrape config.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import redis
from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from redisconn.client import evicted_keys
from schemas import WaitingFor
from schemas.quarantine import QuarantineReason
from store.clock import utcnow
from store.quarantine import Quarantine
from store.summary import read_summary
from web import stats
from web.auth import Principal
from web.guards import api_user
from web.metrics_flow import FlowCollector
from web.metrics_webhooks import WebhookCollector
from web.state import AppState, app_state

router = APIRouter(tags=["metrics"])
COUNTERS: tuple[tuple[str, str, str, list[str]], ...] = (  # family, name, help, labels
    ("done", "ordercmd_commands", "Commands finished", ["provider", "kind", "outcome"]),
    ("dead", "ordercmd_dead_lettered", "Commands dead-lettered", ["provider", "reason"]),
    ("retry", "ordercmd_retries", "Retries scheduled", ["provider", "kind"]),
    ("missing", "ordercmd_deliveries_missing", "Deliveries whose command was not in the store "
     "(evicted, or expired)", []),
)  # fmt: skip
HISTOGRAMS = (  # stats family, metric name, help
    ("latency_ms", "ordercmd_latency_seconds", "Admission to end state"),
    ("retry_delay_ms", "ordercmd_retry_delay_seconds", "Delay before a scheduled retry"),
)


class StoreCollector(Collector):
    """Renders ``{ordercmd}:stats`` and the queue depths as Prometheus metrics."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def collect(self) -> Iterator[Metric]:
        """Every metric, read from Redis at scrape time."""
        families = stats.all_time(self.client)
        for family, name, doc, labels in COUNTERS:
            counter = CounterMetricFamily(name, doc, labels=labels)
            for values, count in sorted(families.get(family, {}).items()):
                if len(values) == len(labels):
                    counter.add_metric(list(values), count)
            yield counter
        evicted = CounterMetricFamily(
            "ordercmd_redis_evicted_keys",
            "Keys the store's Redis evicted since it started (anything but 0 loses commands)",
        )
        evicted_n = evicted_keys(self.client)
        if evicted_n is not None:  # a server refusing INFO leaves the family without a sample
            evicted.add_metric([], evicted_n)
        yield evicted
        yield from self._histograms(families)
        yield self._attempts(families)
        yield from self._depths()
        yield from self._quarantine()

    @staticmethod
    def _histograms(families: stats.Families) -> Iterator[Metric]:
        for family, name, doc in HISTOGRAMS:
            metric = HistogramMetricFamily(name, doc, labels=["provider"])
            buckets = families.get(family, {})
            sums = families.get(f"{family}_sum", {})
            for provider in sorted({labels[0] for labels in buckets}):
                cumulative = stats.histogram(buckets, provider)
                metric.add_metric(
                    [provider],
                    [(le if le == "+Inf" else str(int(le) / 1000), n) for le, n in cumulative],
                    sum_value=sums.get((provider,), 0.0) / 1000,
                )
            yield metric

    @staticmethod
    def _attempts(families: stats.Families) -> Metric:
        metric = HistogramMetricFamily(
            "ordercmd_command_attempts", "Provider attempts per finished command (10 = 10+)",
            labels=["provider"],
        )  # fmt: skip
        counts = families.get("attempts", {})
        for provider in sorted({labels[0] for labels in counts}):
            total, weighted, buckets = 0.0, 0.0, []
            for n in range(11):
                total += counts.get((provider, str(n)), 0.0)
                weighted += n * counts.get((provider, str(n)), 0.0)
                buckets.append((str(float(n)), total))
            metric.add_metric([provider], [*buckets, ("+Inf", total)], sum_value=weighted)
        return metric

    def _depths(self) -> Iterator[Metric]:
        depths = stats.depths(self.client)
        for name, doc, value in (
            (
                "ordercmd_dispatched",
                "Commands with a message out, not yet claimed",
                depths.dispatched,
            ),
            ("ordercmd_running", "Commands claimed by a worker", depths.running),
            ("ordercmd_schedule_depth", "Commands waiting in the retry schedule", depths.scheduled),
            ("ordercmd_dead_letters", "Commands in the dead-letter queue", depths.dead),
        ):
            yield GaugeMetricFamily(name, doc, value=value)
        age_s = 0.0
        if depths.oldest_dead_ms is not None:
            age_s = max(0.0, utcnow().timestamp() - depths.oldest_dead_ms / 1000)
        yield GaugeMetricFamily(
            "ordercmd_dead_letter_oldest_age_seconds", "Age of the oldest dead letter", value=age_s
        )
        yield from self._states()

    def _quarantine(self) -> Iterator[Metric]:
        """Broker messages the workers refused: all-time by reason, and how many are kept."""
        quarantine = Quarantine(self.client)
        refused = CounterMetricFamily(
            "ordercmd_broker_messages_quarantined",
            "Broker messages refused and quarantined by the workers",
            labels=["reason"],
        )
        totals = quarantine.totals()
        for reason in QuarantineReason:
            refused.add_metric([reason.value], totals.get(reason, 0))
        yield refused
        yield GaugeMetricFamily(
            "ordercmd_quarantine_depth",
            "Quarantined broker messages kept",
            value=quarantine.count(),
        )

    def _states(self) -> Iterator[Metric]:
        """Commands per state and the lane depth, from the search's state indexes (ZCARD each)."""
        summary = read_summary(self.client)
        by_state = GaugeMetricFamily(
            "ordercmd_commands_in_state",
            "Commands per state (finished ones until their retention runs out)",
            labels=["state"],
        )
        for state, count in summary.states.items():
            by_state.add_metric([state.value], count)
        yield by_state
        waiting = GaugeMetricFamily(
            "ordercmd_commands_waiting",
            "Commands waiting their turn (no attempt spent), by what they wait for",
            labels=["waiting_for"],
        )
        for what, count in summary.waiting_for.items():
            waiting.add_metric([what.value], count)
        yield waiting
        yield GaugeMetricFamily(
            "ordercmd_lane_depth",
            "Commands waiting behind the head of their order lane",
            value=summary.waiting_for[WaitingFor.LANE],
        )


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(
    state: Annotated[AppState, Depends(app_state)], _: Annotated[Principal, Depends(api_user)]
) -> Response:
    """Prometheus metrics (text exposition format); needs an operator's bearer token."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(state.store.client))
    registry.register(FlowCollector(state.store.client, state.settings))
    registry.register(WebhookCollector(state.store.client, state.settings))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
