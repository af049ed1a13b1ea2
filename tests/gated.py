"""Calls through the flow gate as a worker makes them: admit a command, claim it gated."""

from __future__ import annotations

import itertools

from providers.accounts import Account
from store import keys
from store.command_store import Claim, CommandStore, OtherAccount, Parked, StoreLimits
from store.flow import FlowControl
from tests.factories import make_envelope

_orders = itertools.count(1)


class GatedCalls:
    """Each ``call`` is a new command of its own order lane, claimed through the account's gate."""

    def __init__(self, flow: FlowControl, *, max_deliveries: int | None = None) -> None:
        self.flow = flow
        self.store = CommandStore(
            flow.client, StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=60_000)
        )
        self.max_deliveries = max_deliveries

    def admit(self, account_name: str, account: Account) -> str:
        """A new cancel for ``account`` that heads its own lane."""
        order = f"O-{next(_orders)}"
        envelope = make_envelope(
            order, provider=account.provider, account=account_name, order_id=order
        )
        return self.store.admit(envelope).command_id

    def claim(
        self, command_id: str, account_name: str, account: Account
    ) -> Claim | Parked | OtherAccount | str:
        """Claim ``command_id`` through the gate of ``account``."""
        gate = self.flow.gate(account_name, account)
        return self.store.claim(command_id, gate=gate, max_deliveries=self.max_deliveries)

    def call(self, account_name: str, account: Account) -> Claim | Parked:
        """Admit a command for ``account`` and claim it gated: claimed (may call) or parked."""
        reply = self.claim(self.admit(account_name, account), account_name, account)
        assert isinstance(reply, Claim | Parked), reply
        return reply

    def call_many(self, count: int, account_name: str, account: Account) -> list[Claim | Parked]:
        """``call`` ``count`` times, the commands admitted first: the claims follow closely."""
        command_ids = [self.admit(account_name, account) for _ in range(count)]
        replies = [self.claim(command_id, account_name, account) for command_id in command_ids]
        assert all(isinstance(reply, Claim | Parked) for reply in replies), replies
        return replies  # type: ignore[return-value]

    def come_back(self, command_id: str, account_name: str, account: Account) -> Claim | Parked:
        """Claim a parked command again once its wait is over (as the scheduler's re-send)."""
        self.flow.client.hset(keys.command(command_id), "next_ms", 0)
        reply = self.claim(command_id, account_name, account)
        assert isinstance(reply, Claim | Parked), reply
        return reply
