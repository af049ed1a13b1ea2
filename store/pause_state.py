"""Each configured account's operator pause as operators see it: status, API, dashboard, metrics."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from config.settings import Settings
from store.pauses import Pause, Pauses, Target


@dataclass(frozen=True)
class AccountPause:
    """One configured account: whether an operator holds it, and how many commands wait."""

    provider: str
    account: str
    state: str  # 'running', 'paused' (itself or its provider), or 'draining' (being resumed)
    by_provider: bool  # the pause is its whole provider's
    actor: str
    why: str
    since_ms: int | None
    held: int  # live commands held, released in order once resumed

    @property
    def target(self) -> str:
        """``provider:account``, as the CLI and the forms name it."""
        return f"{self.provider}:{self.account}"


def account_pauses(client: redis.Redis, settings: Settings) -> list[AccountPause]:
    """Every configured account, by provider and name, with its pause and held commands."""
    pauses = Pauses(client, settings.accounts)
    by_field = {p.target.field: p for p in pauses.all()}
    held = pauses.held_counts()
    rows = []
    for name, account in sorted(settings.accounts.items(), key=lambda i: (i[1].provider, i[0])):
        provider = account.provider
        whole, own = by_field.get(provider), by_field.get(Target(provider, name).field)
        pause: Pause | None = whole or own
        state = "running" if pause is None else pause.state
        rows.append(
            AccountPause(
                provider,
                name,
                state,
                whole is not None,
                pause.actor if pause else "",
                pause.why if pause else "",
                pause.since_ms if pause else None,
                held.get(name, 0),
            )
        )
    return rows


def provider_pauses(client: redis.Redis) -> dict[str, Pause]:
    """Pauses of whole providers, by provider."""
    return {p.target.provider: p for p in Pauses(client, {}).all() if p.target.account is None}
