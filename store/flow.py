"""Flow control shared by all workers through Redis: rate limit and breaker per provider account.

The claim applies it (``claim.lua``): a command whose account must wait is parked in the retry
schedule in the same step, so waiting never spends an attempt nor holds a worker slot.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from config.settings import BreakerPolicy
from providers.accounts import Account
from store import keys
from store.scripts import Scripts

# requests/s and burst when an account sets none: Shoplazza documents 2/s per store; the
# others publish no limit (providers.md), so these are the cautious guesses it recommends
DEFAULT_RATES: dict[str, tuple[float, int]] = {
    "backd": (5.0, 5),
    "shoplazza": (2.0, 4),
    "fastpod": (2.0, 4),
}


@dataclass(frozen=True)
class FlowGate:
    """What a claim needs to gate calls to one account: its flow keys and limits."""

    account: str
    keys: tuple[str, str, str]  # breaker, rate (theoretical arrival time), 429 pause
    # rate interval ms (whole: Redis keeps the arrival time as an integer), burst,
    # probe lease ms, recheck ms (how soon callers turned away by a probe look again)
    limits: tuple[int, int, int, int]


class FlowControl:
    """Shared rate limits and circuit breakers: the claim's gates, and reports of calls."""

    def __init__(self, client: redis.Redis, policy: BreakerPolicy | None = None) -> None:
        self.scripts = Scripts(client)
        self.client = client
        self.policy = policy or BreakerPolicy()
        self._gates: dict[str, FlowGate] = {}
        # the gate this process asked for last: the next claim expects the same account, and
        # learns whose the command is (one more round trip) when it is not
        self.expected: FlowGate | None = None

    def gate(self, account_name: str, account: Account) -> FlowGate:
        """The gate of ``account``, which the next claims of this process expect."""
        gate = self._gates.get(account_name)
        if gate is None:
            per_s, burst = DEFAULT_RATES[account.provider]
            per_s, burst = account.rate_per_s or per_s, account.burst or burst
            gate = FlowGate(
                account_name,
                (
                    keys.breaker(account.provider, account_name),
                    keys.rate(account.provider, account_name),
                    keys.rate_pause(account.provider, account_name),
                ),
                (
                    max(1, round(1000 / per_s)),
                    burst,
                    round(self.policy.probe_lease_s * 1000),
                    round(self.policy.recheck_s * 1000),
                ),
            )
            self._gates[account_name] = gate
        self.expected = gate
        return gate

    def record(self, provider: str, account_name: str, *, ok: bool) -> str:
        """Tell the breaker how a call went; returns its state (``closed`` or ``open``)."""
        return str(
            self.scripts.breaker(
                keys=[keys.breaker(provider, account_name)],
                args=[
                    "ok" if ok else "fail",
                    self.policy.failures,
                    round(self.policy.cool_down_s * 1000),
                    round(self.policy.window_s * 1000),
                ],
            )
        )

    def pause(self, provider: str, account_name: str, seconds: float) -> None:
        """Pause the account for every worker (after a 429)."""
        self.scripts.pause(
            keys=[keys.rate_pause(provider, account_name), keys.rate(provider, account_name)],
            args=[max(1, round(seconds * 1000))],
        )

    def breaker_state(self, provider: str, account_name: str) -> dict[str, str]:
        """The breaker's fields, for status pages."""
        fields: dict[str, str] = self.client.hgetall(keys.breaker(provider, account_name))  # type: ignore[assignment]
        return fields
