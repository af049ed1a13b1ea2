"""Reads the outcome counters the workers keep in Redis (``{ordercmd}:stats`` hashes)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import redis

from store import keys

BUCKETS_MS = ("100", "250", "500", "1000", "2500", "5000", "10000", "30000", "60000", "300000",
              "900000", "3600000", "+Inf")  # fmt: skip
HOUR_MS = 3_600_000

Families = dict[str, dict[tuple[str, ...], float]]


def parse(fields: dict[str, str]) -> Families:
    """``{"done": {("backd", "cancel", "succeeded"): 3.0}, ...}`` from ``family|label|...``."""
    families: Families = defaultdict(dict)
    for name, value in fields.items():
        family, *labels = name.split("|")
        try:
            families[family][tuple(labels)] = float(value)
        except ValueError:
            continue
    return families


def all_time(client: redis.Redis) -> Families:
    """Every counter since the stats began."""
    fields = client.hgetall(keys.stats())
    return parse({str(k): str(v) for k, v in fields.items()})


def hourly(client: redis.Redis, now_ms: int, hours: int = 24) -> list[tuple[int, Families]]:
    """``(hour start ms, counters)`` of the last ``hours`` hours, oldest first.

    Outcomes come as ``done`` by (provider, kind, state): the hour's hash also labels each with
    its latency bucket and dead reason, for the charts (``web/series.py``), summed out here.
    """
    current = now_ms // HOUR_MS
    pipe = client.pipeline(transaction=False)
    wanted = list(range(current - hours + 1, current + 1))
    for hour in wanted:
        pipe.hgetall(keys.stats_hour(hour))
    return [
        (hour * HOUR_MS, _by_kind(parse(fields)))
        for hour, fields in zip(wanted, pipe.execute(), strict=True)
    ]


def _by_kind(families: Families) -> Families:
    done: dict[tuple[str, ...], float] = defaultdict(float)
    for labels, count in families.get("done", {}).items():
        done[labels[:3]] += count
    families["done"] = dict(done)
    return families


def histogram(buckets: dict[tuple[str, ...], float], provider: str) -> list[tuple[str, float]]:
    """Cumulative ``(le, count)`` pairs of one provider from per-bucket counts."""
    total, out = 0.0, []
    for le in BUCKETS_MS:
        total += buckets.get((provider, le), 0.0)
        out.append((le, total))
    return out


def quantile(cumulative: list[tuple[str, float]], q: float) -> str:
    """The bucket bound below which ``q`` of the observations fall (``—`` without any)."""
    total = cumulative[-1][1] if cumulative else 0.0
    if total <= 0:
        return "—"
    for le, count in cumulative:
        if count >= q * total:
            return "> 1 h" if le == "+Inf" else f"≤ {_duration(int(le))}"
    return "—"


def _duration(ms: int) -> str:
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms // 1000} s"
    return f"{ms // 60_000} min"


@dataclass(frozen=True)
class Depths:
    """How many commands wait where, right now."""

    dispatched: int
    running: int
    scheduled: int
    dead: int
    oldest_dead_ms: int | None


def depths(client: redis.Redis) -> Depths:
    """Sizes of the dispatch, running, schedule and dead-letter sets, in one round trip."""
    pipe = client.pipeline(transaction=False)
    for key in (keys.dispatch(), keys.running(), keys.schedule(), keys.dead_letters()):
        pipe.zcard(key)
    pipe.zrange(keys.dead_letters(), 0, 0, withscores=True)
    dispatched, running, scheduled, dead, oldest = pipe.execute()
    return Depths(dispatched, running, scheduled, dead, int(oldest[0][1]) if oldest else None)
