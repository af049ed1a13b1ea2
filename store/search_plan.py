"""Which sorted set a search walks, and which other indexes a match must also be in.

Commands are indexed per (field, value) for state, provider, account and kind (``keys.index``),
each scored by admission time like ``recent``; the scripts that change those facts keep them.
A search walks the smallest index that holds every match (counted in its time range) and checks
each entry's membership in the others. Intersecting them up front (``ZINTERSTORE``) would cost
the size of the smallest index on every page and leave a key to clean up; the walk costs what
one page examines, and when the other filters are rare it stops at a budget with a cursor.

Dead letters (``state=dead``, or any ``reason``) are walked by time of death through the
dead-letter indexes, as the dead-letter page lists them; the admission time range is checked on
the ``dead`` state index then. Within one query every page walks indexes of the same score.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from store import keys
from store.search_filter import SearchFilter


@dataclass(frozen=True)
class Walk:
    """The index walked, its score bounds, and the indexes a match must also be in.

    ``since_ms``/``until_ms`` bound the admission time, checked on the first of ``also_in``
    (``""``: no bound, or the walked index is scored by admission time and bounded already).
    """

    index: str
    high: str = "+inf"
    low: str = "-inf"
    also_in: tuple[str, ...] = ()
    since_ms: str = ""
    until_ms: str = ""


def plan(client: redis.Redis, where: SearchFilter) -> Walk:
    """How to find the commands matching ``where`` (command, key and order lookups aside)."""
    if where.reason is not None or where.state == "dead":
        return _dead_letter_walk(client, where)
    high = "+inf" if where.until_ms is None else str(where.until_ms)
    low = "-inf" if where.since_ms is None else str(where.since_ms)
    wanted = (("state", where.state), ("waiting_for", where.waiting_for),
              ("provider", where.provider), ("account", where.account),
              ("kind", where.kind))  # fmt: skip
    candidates = [keys.index(field, value) for field, value in wanted if value is not None]
    if not candidates:
        return Walk(keys.recent(), high, low)
    walked, *others = _smallest_first(client, candidates, high, low)
    return Walk(walked, high, low, tuple(others))


def _dead_letter_walk(client: redis.Redis, where: SearchFilter) -> Walk:
    candidates = [keys.dead_letters()]
    if where.reason is not None:
        candidates.append(keys.dead_letters_by("reason", where.reason))
    if where.provider is not None:
        candidates.append(keys.dead_letters_by("provider", where.provider))
    walked, *others = _smallest_first(client, candidates, "+inf", "-inf")
    also_in = [key for key in others if key != keys.dead_letters()]  # it holds every dead letter
    filtered = (("account", where.account), ("kind", where.kind))
    also_in += [keys.index(field, value) for field, value in filtered if value is not None]
    if where.state not in (None, "dead"):
        also_in.append(keys.index("state", str(where.state)))  # a reason is only a dead letter's
    if where.waiting_for is not None:  # as is a state: a dead letter waits for nothing
        also_in.append(keys.index("waiting_for", where.waiting_for))
    if where.since_ms is None and where.until_ms is None:
        return Walk(walked, also_in=tuple(also_in))
    return Walk(
        walked,
        also_in=(keys.index("state", "dead"), *also_in),
        since_ms="" if where.since_ms is None else str(where.since_ms),
        until_ms="" if where.until_ms is None else str(where.until_ms),
    )


def _smallest_first(client: redis.Redis, candidates: list[str], high: str, low: str) -> list[str]:
    """``candidates`` ordered by how many entries each holds between ``low`` and ``high``."""
    if len(candidates) == 1:
        return candidates
    pipe = client.pipeline(transaction=False)
    for key in candidates:
        pipe.zcount(key, low, high)
    counts = pipe.execute()
    return [key for _, key in sorted(zip(counts, candidates, strict=True), key=lambda c: c[0])]
