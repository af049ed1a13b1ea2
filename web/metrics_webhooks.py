"""``/metrics`` for webhook subscriptions: deliveries made and failed, disabled, gaps."""

from __future__ import annotations

from collections.abc import Iterator

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from config.settings import Settings
from store import keys
from store.webhooks.subscriptions import Subscriptions


class WebhookCollector(Collector):
    """Per subscription: calls delivered and failed (kept by hook_save.lua), disabled, gaps."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.client = client
        self.subscriptions = Subscriptions(client, settings)

    def collect(self) -> Iterator[Metric]:
        """Every metric, read from Redis at scrape time."""
        ids = [sub.id for sub in self.subscriptions.all()]
        pipe = self.client.pipeline(transaction=False)
        for sub_id in ids:
            pipe.hmget(keys.webhook_state(sub_id), "delivered_total", "failed_total", "disabled",
                       "gaps_total")  # fmt: skip
        pipe.zcard(keys.webhook_dead_letters())
        *states, dead = pipe.execute()
        deliveries = CounterMetricFamily(
            "ordercmd_webhook_deliveries",
            "Webhook calls by subscription and outcome (delivered: a 2xx answer)",
            labels=["subscription", "outcome"],
        )
        disabled = GaugeMetricFamily(
            "ordercmd_webhook_disabled",
            "1 while the subscription is disabled (it failed too long, or an operator)",
            labels=["subscription"],
        )
        gaps = CounterMetricFamily(
            "ordercmd_webhook_gaps",
            "Times the outcome stream's bound trimmed events a subscription had not read",
            labels=["subscription"],
        )
        for sub_id, (delivered, failed, off, gapped) in zip(ids, states, strict=True):
            deliveries.add_metric([sub_id, "delivered"], float(delivered or 0))
            deliveries.add_metric([sub_id, "failed"], float(failed or 0))
            disabled.add_metric([sub_id], 1.0 if off == "1" else 0.0)
            gaps.add_metric([sub_id], float(gapped or 0))
        yield deliveries
        yield disabled
        yield gaps
        yield GaugeMetricFamily(
            "ordercmd_webhook_dead_deliveries",
            "Webhook deliveries that ran out of attempts, kept for replay",
            value=dead,
        )
