"""What waiting commands wait for, and when their turn comes: backlog places and ETAs.

A bulk command in its account's backlog learns its place (1 = next out) and an ETA at the rate
the backlog is measured to drain (what ``release.lua`` released in the last minute), or at the
account's configured rate while nothing was released lately.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis

from providers.accounts import Account
from store import keys
from store.clock import redis_now_ms
from store.flow import DEFAULT_RATES

RELEASED_WINDOW_MS = 60_000  # the releases a rate is measured over (release.lua keeps more)
MIN_SPAN_MS = 2_000  # fewer ms of releases than this measure nothing yet


@dataclass(frozen=True)
class Place:
    """Where one backlogged command stands: its place, and seconds until its turn (or None)."""

    place: int
    eta_s: float | None


def measured_per_s(releases: Sequence[tuple[int, int]], now_ms: int) -> float | None:
    """Commands released per second, from ``release.lua``'s releases (ms, count), oldest first.

    The first one in the window starts the span: what it released happened before it. None
    when they span less than ``MIN_SPAN_MS`` or released nothing after the first.
    """
    recent = [(ms, n) for ms, n in releases if ms >= now_ms - RELEASED_WINDOW_MS]
    if len(recent) < 2 or now_ms - recent[0][0] < MIN_SPAN_MS:
        return None
    released = sum(n for _, n in recent[1:])
    return released * 1000 / (now_ms - recent[0][0]) if released else None


def _releases(entries: Sequence[tuple[str, dict[str, str]]]) -> list[tuple[int, int]]:
    """(ms, count) of each stream entry (its id is 'ms-seq')."""
    return [(int(str(entry_id).split("-", 1)[0]), int(fields["n"])) for entry_id, fields in entries]


def configured_per_s(account: Account | None) -> float | None:
    """The account's configured rate (its provider's default unless set); None: not configured."""
    if account is None:
        return None
    return account.rate_per_s or DEFAULT_RATES[account.provider][0]


class BacklogRates:
    """Per account, the rate its backlog drains at: measured, else configured (read once)."""

    def __init__(self, client: redis.Redis, accounts: Mapping[str, Account] | None = None) -> None:
        self.client = client
        self.accounts = accounts or {}

    def per_s(self, names: Sequence[str]) -> dict[str, float | None]:
        """The rate of each account in ``names``, in one round trip."""
        now_ms = redis_now_ms(self.client)
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.xrange(keys.backlog_released(name), min=str(now_ms - RELEASED_WINDOW_MS))
        rates: dict[str, float | None] = {}
        for name, entries in zip(names, pipe.execute(), strict=True):
            measured = measured_per_s(_releases(entries), now_ms)
            rates[name] = measured or configured_per_s(self.accounts.get(name))
        return rates

    def places(self, backlogged: Sequence[tuple[str, str]]) -> list[Place | None]:
        """The place and ETA of each ``(command id, account)``; None: not in the backlog now."""
        if not backlogged:
            return []
        pipe = self.client.pipeline(transaction=False)
        for command_id, account in backlogged:
            pipe.zrank(keys.backlog(account), command_id)
        ranks = pipe.execute()
        rates = self.per_s(sorted({account for _, account in backlogged}))
        places: list[Place | None] = []
        for (_, account), rank in zip(backlogged, ranks, strict=True):
            if rank is None:
                places.append(None)
                continue
            rate = rates[account]
            places.append(Place(int(rank) + 1, (int(rank) + 1) / rate if rate else None))
        return places
