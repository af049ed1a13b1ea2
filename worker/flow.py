"""Flow control shared by all workers through Redis: rate limit and breaker per provider account.

Waiting on either parks the command in the retry schedule; it never holds a worker slot.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from providers.accounts import Account
from worker import keys
from worker.scripts import Scripts
from worker.settings import BreakerPolicy

# requests/s and burst when an account sets none: Shoplazza documents 2/s per store; the
# others publish no limit (providers.md), so these are the cautious guesses it recommends
DEFAULT_RATES: dict[str, tuple[float, int]] = {
    "backd": (5.0, 5),
    "shoplazza": (2.0, 4),
    "fastpod": (2.0, 4),
}


@dataclass(frozen=True)
class Gate:
    """Whether a call may go now; if not, how long to wait and why."""

    wait_s: float
    why: str  # '', 'open', 'probing', 'paused' or 'rate'
    reserved: bool  # True: a rate-limit slot is held for this caller at the end of the wait


class FlowControl:
    """Gates provider calls on shared Redis state."""

    def __init__(self, client: redis.Redis, policy: BreakerPolicy | None = None) -> None:
        self.scripts = Scripts(client)
        self.client = client
        self.policy = policy or BreakerPolicy()
        # accounts whose breaker was clean (closed, no failures) at this process's last gate:
        # a success there changes nothing, so it is not reported (one script call saved)
        self._clean: set[tuple[str, str]] = set()

    def gate(self, account_name: str, account: Account, *, reserved: bool = False) -> Gate:
        """Ask to call ``account`` now (``reserved``: a slot was already held for this call)."""
        per_s, burst = DEFAULT_RATES[account.provider]
        per_s, burst = account.rate_per_s or per_s, account.burst or burst
        wait_ms, why, dirty = self.scripts.gate(
            keys=[
                keys.breaker(account.provider, account_name),
                keys.rate(account.provider, account_name),
                keys.rate_pause(account.provider, account_name),
            ],
            args=[
                max(1, round(1000 / per_s)),  # whole ms: Redis keeps the arrival time as an integer
                burst,
                int(reserved),
                round(self.policy.probe_lease_s * 1000),
                round(self.policy.recheck_s * 1000),
            ],
        )
        if dirty:
            self._clean.discard((account.provider, account_name))
        else:
            self._clean.add((account.provider, account_name))
        return Gate(int(wait_ms) / 1000, str(why), reserved=why == "rate")

    def record(self, provider: str, account_name: str, *, ok: bool) -> str:
        """Tell the breaker how a call went; returns its state (``closed`` or ``open``)."""
        if ok and (provider, account_name) in self._clean:
            return "closed"
        self._clean.discard((provider, account_name))
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
