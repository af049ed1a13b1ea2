"""``/metrics`` for alerting on flow: breakers, 429 and operator pauses, waits, bulk backlogs."""

from __future__ import annotations

from collections.abc import Iterator

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from config.settings import Settings
from schemas import CommandState, WaitingFor
from store import keys
from store.backlog import Backlogs
from store.clock import utcnow
from store.pause_state import account_pauses

# what a command waits in before it ends, as (state, waiting_for) labels and the index holding
# them; the age is since its admission (the index score). Bulk backlogs wait by design: their
# label is apart ('waiting', 'backlog'), out of the queued command's alert.
WAITING_INDEXES = (
    (CommandState.QUEUED, "", keys.index("state", CommandState.QUEUED)),
    (CommandState.RETRYING, "", keys.index("state", CommandState.RETRYING)),
    *((CommandState.WAITING, str(w), keys.index("waiting_for", w)) for w in WaitingFor),
)


class FlowCollector(Collector):
    """Breakers and pauses of the configured provider accounts; the oldest waiting commands."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.accounts = sorted((a.provider, name) for name, a in settings.accounts.items())
        self.backlogs = Backlogs(client, settings.accounts)

    def collect(self) -> Iterator[Metric]:
        """Every metric, read from Redis at scrape time in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for provider, name in self.accounts:
            pipe.hmget(keys.breaker(provider, name), "state", "opened")
            pipe.pttl(keys.rate_pause(provider, name))
        for _, _, index in WAITING_INDEXES:
            pipe.zrange(index, 0, 0, withscores=True)
        replies = pipe.execute()
        flow = replies[: 2 * len(self.accounts)]
        yield from self._flow(flow[0::2], flow[1::2])
        yield self._oldest(replies[2 * len(self.accounts) :])
        yield from self._backlogs()
        yield from self._operator_pauses()

    def _operator_pauses(self) -> Iterator[Metric]:
        """Per account: 1 while an operator's pause holds it (its own or its provider's)."""
        labels = ["provider", "account"]
        paused = GaugeMetricFamily(
            "ordercmd_operator_paused",
            "1 while an operator's pause (of the account or its provider) holds its commands",
            labels=labels,
        )
        held = GaugeMetricFamily(
            "ordercmd_held_commands",
            "Commands an operator's pause holds, released in admission order on resume",
            labels=labels,
        )
        for row in account_pauses(self.client, self.settings):
            paused.add_metric([row.provider, row.account], 1.0 if row.state == "paused" else 0.0)
            held.add_metric([row.provider, row.account], row.held)
        yield from (paused, held)

    def _flow(self, breakers: list[list[str | None]], pauses: list[int]) -> Iterator[Metric]:
        labels = ["provider", "account"]
        is_open = GaugeMetricFamily(
            "ordercmd_breaker_open", "1 while the account's circuit breaker is open", labels=labels
        )
        opened = CounterMetricFamily(
            "ordercmd_breaker_opened", "Times the account's circuit breaker opened", labels=labels
        )
        paused = GaugeMetricFamily(
            "ordercmd_account_paused", "1 while the account is paused after a 429", labels=labels
        )
        for (provider, name), (state, times), pause_ms in zip(
            self.accounts, breakers, pauses, strict=True
        ):
            is_open.add_metric([provider, name], 1.0 if state == "open" else 0.0)
            opened.add_metric([provider, name], float(times or 0))
            paused.add_metric([provider, name], 1.0 if pause_ms > 0 else 0.0)
        yield from (is_open, opened, paused)

    def _backlogs(self) -> Iterator[Metric]:
        """Per account: bulk commands waiting their turn, the oldest's age, the ETA at the limit."""
        gauges = [
            GaugeMetricFamily(name, doc, labels=["account"])
            for name, doc in (
                ("ordercmd_bulk_backlog", "Bulk commands waiting for a slot of their account"),
                ("ordercmd_bulk_backlog_oldest_age_seconds", "Age of the oldest one waiting"),
                (
                    "ordercmd_bulk_backlog_eta_seconds",
                    "Until the backlog is through at the rate "
                    "it drained at in the last minute (else the account's limit)",
                ),
            )
        ]
        now_s = utcnow().timestamp()
        for depth in self.backlogs.depths():
            gauges[0].add_metric([depth.account], depth.depth)
            if depth.oldest_ms is not None:
                gauges[1].add_metric([depth.account], max(0.0, now_s - depth.oldest_ms / 1000))
            if depth.eta_s is not None:
                gauges[2].add_metric([depth.account], depth.eta_s)
        yield from gauges

    @staticmethod
    def _oldest(firsts: list[list[tuple[str, float]]]) -> Metric:
        metric = GaugeMetricFamily(
            "ordercmd_oldest_waiting_age_seconds",
            "Seconds since the admission of the oldest command in each state it waits in, and "
            "for what when waiting (0: none)",
            labels=["state", "waiting_for"],
        )
        now_s = utcnow().timestamp()
        for (state, waiting_for, _), first in zip(WAITING_INDEXES, firsts, strict=True):
            age_s = max(0.0, now_s - first[0][1] / 1000) if first else 0.0
            metric.add_metric([state.value, waiting_for], age_s)
        return metric
