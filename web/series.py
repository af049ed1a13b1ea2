"""Reads the time-bucketed chart counters back: per-minute or per-hour counts, and percentiles.

The scripts count ``family|label|...`` fields into one hash per minute (every family) and one per
hour (outcomes only: ``done|provider|kind|state|latency bucket|dead reason``), see
``store/series.py``. An hour's other families come from the minute hashes while those last.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import redis

from store import keys, series
from web.stats import BUCKETS_MS

Labels = tuple[str, ...]
MINUTE_FAMILIES = ("retry", "wait", "call", "discarded")  # counted per minute only


@dataclass(frozen=True)
class Window:
    """A span of buckets: ``count`` buckets of ``step_ms``, the last one holding ``now``."""

    step_ms: int
    count: int

    def starts(self, now_ms: int) -> list[int]:
        """Each bucket's start (ms since the epoch), oldest first."""
        current = now_ms // self.step_ms
        return [n * self.step_ms for n in range(current - self.count + 1, current + 1)]


MINUTES = Window(series.MINUTE_MS, series.MINUTES_KEPT)
HOURS = Window(series.HOUR_MS, series.HOURS_KEPT)


@dataclass(frozen=True)
class Bucket:
    """One time bucket's counts by ``(family, *labels)``.

    ``covered``: whether the families counted per minute only are in (see ``hours``).
    """

    start_ms: int
    counts: Counter[Labels]
    covered: bool = True

    def total(self, family: str, match: dict[int, str] | None = None) -> int | None:
        """The sum of ``family``'s counts whose label ``i`` is ``match[i]``; None: not kept."""
        if family in MINUTE_FAMILIES and not self.covered:
            return None
        wanted = (match or {}).items()
        return sum(
            n
            for k, n in self.counts.items()
            if k[0] == family and all(len(k) > i + 1 and k[i + 1] == v for i, v in wanted)
        )


def parse_fields(fields: dict[str, str]) -> Counter[Labels]:
    """``Counter({("done", "backd", ...): 3})`` from a hash of ``family|label|...`` fields."""
    counts: Counter[Labels] = Counter()
    for name, value in fields.items():
        try:
            counts[tuple(name.split("|"))] += int(value)
        except ValueError:
            continue
    return counts


def _read(client: redis.Redis, names: Iterable[str]) -> list[Counter[Labels]]:
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(name)
    return [parse_fields({str(k): str(v) for k, v in h.items()}) for h in pipe.execute()]


def minutes(client: redis.Redis, now_ms: int) -> list[Bucket]:
    """The last three hours, minute by minute."""
    starts = MINUTES.starts(now_ms)
    hashes = _read(client, (keys.stats_minute(s // series.MINUTE_MS) for s in starts))
    return [Bucket(s, c) for s, c in zip(starts, hashes, strict=True)]


def hours(client: redis.Redis, now_ms: int) -> list[Bucket]:
    """The last seven days, hour by hour; the minute families only in hours the minutes cover."""
    starts = HOURS.starts(now_ms)
    hashes = _read(client, (keys.stats_hour(s // series.HOUR_MS) for s in starts))
    kept_since = MINUTES.starts(now_ms)[0]
    rolled: dict[int, Counter[Labels]] = {}
    for minute in minutes(client, now_ms):
        hour = minute.start_ms - minute.start_ms % series.HOUR_MS
        kept = Counter({k: n for k, n in minute.counts.items() if k[0] in MINUTE_FAMILIES})
        rolled.setdefault(hour, Counter()).update(kept)
    return [
        Bucket(s, counts + rolled.get(s, Counter()), covered=s >= kept_since)
        for s, counts in zip(starts, hashes, strict=True)
    ]


def quantile_ms(counts: dict[str, int], q: float) -> float | None:
    """The ``q`` quantile of a latency histogram (count per bucket bound), None without data.

    Linear within the bucket it falls in, as Prometheus' ``histogram_quantile``: the first
    bucket starts at 0, and a quantile in the last (unbounded) one is its lower bound.
    """
    total = sum(counts.values())
    if total <= 0:
        return None
    rank, seen, lower = q * total, 0, 0.0
    for le in BUCKETS_MS:
        n = counts.get(le, 0)
        if n and seen + n >= rank:
            if le == "+Inf":
                return lower
            return lower + (float(le) - lower) * (rank - seen) / n
        seen += n
        if le != "+Inf":
            lower = float(le)
    return lower
