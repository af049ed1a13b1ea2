"""Bulk backlogs: per account, bulk commands waiting their turn, released as its slots free up.

A bulk command never books a slot far ahead (``claim.lua``): it waits in its account's backlog,
holding no slot, no worker and no broker message, until the scheduler releases it
(``release.lua``) with a slot the account's limit can serve soon. Live commands take any slot,
so they wait behind at most the little bulk has booked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import redis

from providers.accounts import Account
from store import keys
from store.flow import FlowControl
from store.holds import RELEASE_LIMIT, release_held
from store.pauses import stopped_accounts
from store.scripts import Scripts
from store.waits import BacklogRates


@dataclass(frozen=True)
class BacklogDepth:
    """One account's backlog as operators see it."""

    account: str
    depth: int  # commands waiting
    oldest_ms: int | None  # when the oldest one waiting was admitted
    eta_s: float | None  # until the backlog is through at its measured rate; None: unknown


class Backlogs:
    """The bulk backlogs of every account, read by status pages and released by the scheduler."""

    def __init__(
        self,
        client: redis.Redis,
        accounts: Mapping[str, Account],
        *,
        flow: FlowControl | None = None,
        tick_s: float = 0.5,
        share_pct: float = 10.0,
    ) -> None:
        self.client = client
        self.accounts = accounts
        self.flow = flow or FlowControl(client)
        self.tick_ms = round(tick_s * 1000)
        self.share_pct = share_pct
        self.scripts = Scripts(client)

    def _limits(self, account: str) -> tuple[int, int] | None:
        """The account's rate interval (ms) and burst; None for an account not configured."""
        settings = self.accounts.get(account)
        if settings is None:
            return None
        interval_ms, burst = self.flow.gate(account, settings).limits[:2]
        return interval_ms, burst

    def release(self) -> dict[str, int]:
        """Release what each account's limit can take within the next tick and one slot.

        Commands an operator's pause held go first (``store.holds``); the backlog of an account
        paused, or resumed with held commands still to release, waits.

        Returns:
            Commands released per account (accounts with none left out).
        """
        pipe = self.client.pipeline(transaction=False)
        pipe.smembers(keys.backlogs())
        pipe.smembers(keys.held_accounts())
        pipe.hgetall(keys.paused())
        backlogged, held, pauses = pipe.execute()
        if held:  # an operator's pause held them: they go first, in order
            release_held(self.scripts, sorted(map(str, held)), self._provider, self._limits,
                         self.tick_ms)  # fmt: skip
        stopped = stopped_accounts(pauses, self.accounts) if pauses else set()
        names = sorted(str(a) for a in backlogged if str(a) not in stopped)
        if not names:
            return {}
        flow_keys: list[str] = []
        flow_args: list[str | int] = []
        for name in names:
            provider = self._provider(name)
            flow_keys += [
                keys.backlog(name),
                keys.rate(provider, name),
                keys.bulk_share(name),
                keys.rate_pause(provider, name),
                keys.breaker(provider, name),
                keys.backlog_released(name),
            ]
            flow_args += [name, *self._release_args(name)]
        released = self.scripts.release(
            keys=[keys.dispatch(), *flow_keys],
            args=[RELEASE_LIMIT, keys.command(""), *flow_args],
        )
        return {name: int(n) for name, n in zip(names, released, strict=True) if int(n)}

    def _provider(self, account: str) -> str:
        settings = self.accounts.get(account)
        return settings.provider if settings else "unknown"

    def _release_args(self, account: str) -> list[int]:
        """Interval ms, burst, lookahead ms and share interval ms of one account's release."""
        limits = self._limits(account)
        if limits is None:  # no gate: the claim dead-letters it as an unknown account
            return [0, 1, 0, 0]
        interval_ms, burst = limits
        share_ms = round(interval_ms * 100 / self.share_pct) if self.share_pct > 0 else 0
        return [interval_ms, burst, self.tick_ms + interval_ms, share_ms]

    def depths(self) -> list[BacklogDepth]:
        """Every non-empty backlog: depth, oldest admission, ETA at the rate it drains at.

        The rate is the one measured (released in the last minute), else the configured one.
        """
        names = sorted(str(a) for a in self.client.smembers(keys.backlogs()))
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.zcard(keys.backlog(name))
            pipe.zrange(keys.backlog(name), 0, 0)
        replies = pipe.execute()
        heads = [ids[0] if ids else None for ids in replies[1::2]]
        pipe = self.client.pipeline(transaction=False)
        for head in heads:
            pipe.hget(keys.command(str(head)), "created_ms")
        created = pipe.execute()
        busy = [name for name, depth in zip(names, replies[0::2], strict=True) if depth]
        rates = BacklogRates(self.client, self.accounts).per_s(busy) if busy else {}
        out = []
        for name, depth, created_ms in zip(names, replies[0::2], created, strict=True):
            if not depth:
                continue
            rate = rates[name]
            oldest = int(created_ms) if created_ms is not None else None
            out.append(BacklogDepth(name, int(depth), oldest, depth / rate if rate else None))
        return out
