"""Operator pauses of a provider or one account: set, lifted, audited, read by the claim's gate.

A pause has no TTL and holds every command of its target at the claim (``claim.lua``): live
ones wait in their account's held set, bulk ones in its backlog, each by admission sequence,
holding no slot, no worker and no attempt. On resume the scheduler releases the held set in
that order at the account's rate (``release_held.lua``), then the backlog as usual.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import redis

from providers.accounts import Account
from providers.errors import InvalidSubmission, OrderCmdError
from schemas import Provider
from store import keys
from store.scripts import Scripts

PROVIDERS = tuple(sorted(p.value for p in Provider))
WHY_MAX = 500  # characters of a reason kept in the audit log


class NotPaused(OrderCmdError):
    """A resume of a provider or account that no operator paused."""


@dataclass(frozen=True)
class Target:
    """What an operator pauses: a whole provider, or one of its accounts."""

    provider: str
    account: str | None

    @property
    def field(self) -> str:
        """Its field in the pauses hash: ``provider`` or ``provider:account``."""
        return f"{self.provider}:{self.account}" if self.account else self.provider


@dataclass(frozen=True)
class Pause:
    """One entry of the pauses hash: paused (by whom, why, since) or draining after a resume."""

    target: Target
    state: str  # 'paused' or 'draining' (resumed; its held commands are being released)
    actor: str
    why: str
    since_ms: int


def parse_target(text: str, accounts: Mapping[str, Account]) -> Target:
    """``provider`` or ``provider:account``, checked against the configured accounts.

    Raises:
        InvalidSubmission: naming the field (``provider`` or ``account``) and why.
    """
    provider, _, account = text.strip().partition(":")
    if provider not in PROVIDERS:
        known = ", ".join(PROVIDERS)
        raise InvalidSubmission([("provider", f"{provider!r} is not a provider ({known})")])
    if not account:
        if text.strip().endswith(":"):
            raise InvalidSubmission([("account", "empty after 'provider:'")])
        return Target(provider, None)
    mine = sorted(n for n, a in accounts.items() if a.provider == provider)
    if account not in mine:
        known = ", ".join(mine) or "none configured"
        raise InvalidSubmission([("account", f"{account!r} is not a {provider} account ({known})")])
    return Target(provider, account)


def check_why(why: str | None) -> str:
    """The operator's reason, trimmed.

    Raises:
        InvalidSubmission: ``why`` missing, blank or too long.
    """
    text = (why or "").strip()
    if not text:
        raise InvalidSubmission([("why", "a reason is required (kept in the audit log)")])
    if len(text) > WHY_MAX:
        raise InvalidSubmission([("why", f"at most {WHY_MAX} characters")])
    return text


class Pauses:
    """Operator pauses over one store, for the configured accounts."""

    def __init__(self, client: redis.Redis, accounts: Mapping[str, Account]) -> None:
        self.client = client
        self.accounts = accounts

    @cached_property
    def scripts(self) -> Scripts:
        """The store's scripts (registered only when a pause or resume is written)."""
        return Scripts(self.client)

    def target(self, text: str) -> Target:
        """Parse ``provider[:account]`` (see ``parse_target``)."""
        return parse_target(text, self.accounts)

    def _fields(self, target: Target) -> list[str]:
        """The account fields a target covers: itself, or every account of the provider."""
        if target.account:
            return [target.field]
        names = sorted(n for n, a in self.accounts.items() if a.provider == target.provider)
        return [f"{target.provider}:{n}" for n in names]

    def pause(self, target: Target, *, actor: str, why: str) -> int:
        """Pause ``target`` for every worker until resumed; audited. Returns commands held now."""
        why = check_why(why)
        body = json.dumps({"state": "paused", "actor": actor, "why": why})
        reply = self.scripts.operator_pause(
            keys=[keys.paused(), keys.audit()],
            args=["pause", target.field, actor, why, body, *self._fields(target)],
        )
        return int(reply[1])

    def resume(self, target: Target, *, actor: str, why: str) -> int:
        """Lift the pause of ``target``; audited. Returns commands held, to be released in order.

        Raises:
            NotPaused: no operator paused ``target`` itself.
        """
        reply = self.scripts.operator_pause(
            keys=[keys.paused(), keys.audit()],
            args=["resume", target.field, actor, check_why(why), "", *self._fields(target)],
        )
        if reply[0] == "not_paused":
            raise NotPaused(f"target: {target.field} is not paused")
        return int(reply[1])

    def all(self) -> list[Pause]:
        """Every pause and draining account, by target."""
        raw: dict[str, str] = self.client.hgetall(keys.paused())  # type: ignore[assignment]
        out = []
        for field, text in sorted(raw.items()):
            provider, _, account = str(field).partition(":")
            data = json.loads(text)
            out.append(
                Pause(
                    Target(provider, account or None),
                    str(data.get("state", "paused")),
                    str(data.get("actor", "")),
                    str(data.get("why", "")),
                    int(data.get("since_ms", 0)),
                )
            )
        return out

    def held_counts(self) -> dict[str, int]:
        """Commands held per configured account (accounts with none left out)."""
        names = sorted(self.accounts)
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            pipe.zcard(keys.held(name))
        return {n: int(c) for n, c in zip(names, pipe.execute(), strict=True) if c}


def stopped_accounts(pauses: Mapping[str, str], accounts: Mapping[str, Account]) -> set[str]:
    """Accounts whose bulk backlog must not move: paused (by provider or itself) or draining.

    ``pauses`` is the raw pauses hash (field -> JSON); an account field names its account even
    when ``accounts`` does not.
    """
    named = {field.partition(":")[2] for field in pauses if ":" in field}
    return named | {name for name, a in accounts.items() if a.provider in pauses}
