"""The sandbox's mutable world: order books, mutation log, counters, idempotency cache, faults.

One ``SandboxState`` belongs to one app and is touched only from the event loop serving it;
other threads read it through the admin API.
"""

from __future__ import annotations

import random
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.bucket import LeakyBucket
from sandbox.config import RuntimeSettings, SandboxConfig
from sandbox.faults import FaultPlan, FaultSettings
from sandbox.orders import Order, make_order, order_id
from sandbox.seed import STATE_FIELD, STATES, seed_orders
from schemas import Provider

# Oldest replayable responses are forgotten past this many keys (benchmarks send many).
IDEMPOTENCY_CACHE_SIZE = 100_000

IdempotencyKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class Mutation:
    """One change a provider APPLIED (refusals and replays are not mutations)."""

    seq: int
    provider: Provider
    account: str | None
    order_id: str
    operation: str
    idempotency_key: str | None
    body: Any
    at: str

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form used by ``GET /_admin/mutations``."""
        return asdict(self) | {"provider": self.provider.value}


@dataclass(frozen=True)
class StoredResponse:
    """A complete response kept for ``Idempotency-Key`` replays."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class SandboxState:
    """Everything that changes while the sandbox runs; ``reset`` returns to the config."""

    def __init__(
        self, config: SandboxConfig | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.clock = clock
        self.config = config or SandboxConfig()
        self.start_config = self.config  # what POST /_admin/reset returns to
        self.stopping = False  # set by SandboxServer.stop: held requests give up
        self.reset()

    def reset(self, config: SandboxConfig | None = None) -> None:
        """Forget every change and start again from ``config`` (default: the current one)."""
        self.config = config or self.config
        self.rng = random.Random(self.config.seed)
        count = self.config.orders_per_provider
        style = self.config.backd_time
        self.orders = {p: seed_orders(p, count, style) for p in Provider}
        for order in self.orders[Provider.BACKD].values():
            order["status"] = self._backd_status(order["status"])
        self._next_n = dict.fromkeys(Provider, count + 1)
        self.mutations: list[Mutation] = []
        self.requests: dict[Provider, Counter[str]] = {p: Counter() for p in Provider}
        self.fault_counts: dict[Provider, Counter[str]] = {p: Counter() for p in Provider}
        self.replies: OrderedDict[IdempotencyKey, StoredResponse] = OrderedDict()
        self.in_flight: set[IdempotencyKey] = set()
        self.buckets: dict[str, LeakyBucket] = {}
        self.faults = {p: self._plan(self.config.faults.get(p, FaultSettings())) for p in Provider}

    def _plan(self, settings: FaultSettings) -> FaultPlan:
        return FaultPlan(settings.resolved(self.clock()), self.rng)

    def set_faults(self, provider: Provider, settings: FaultSettings) -> None:
        """Replace ``provider``'s faults (and restart its script) from now on."""
        self.faults[provider] = self._plan(settings)

    def update_settings(self, changes: RuntimeSettings) -> None:
        """Apply run-time changes to the provider rules; buckets pick up the new shape."""
        self.config = self.config.model_copy(update=changes.model_dump(exclude_none=True))
        for bucket in self.buckets.values():
            bucket.size = self.config.shoplazza_bucket_size
            bucket.leak_per_s = self.config.shoplazza_leak_per_s

    def now(self) -> datetime:
        """The sandbox clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def find(self, provider: Provider, oid: str) -> Order | None:
        """The stored order, or None when the provider has no such id."""
        return self.orders[provider].get(oid)

    def add_order(
        self, provider: Provider, state: str, *, oid: str | None = None, fields: Order | None = None
    ) -> Order:
        """Create an order in ``state`` (with ``fields`` laid over the factory defaults).

        Raises:
            ValueError: ``state`` is not a state of this provider.
        """
        if state not in STATES[provider]:
            raise ValueError(
                f"unknown {provider.value} state {state!r}; use {sorted(STATES[provider])}"
            )
        n = self._next_n[provider]
        self._next_n[provider] = n + 1
        order = make_order(provider, n, state, backd_style=self.config.backd_time)
        order |= fields or {}
        order[STATE_FIELD[provider]] = state
        if provider is Provider.BACKD:
            order["status"] = self._backd_status(state)
        oid = oid or order_id(provider, n)
        order["backd_order_id" if provider is Provider.BACKD else "id"] = oid
        self.orders[provider][oid] = order
        return order

    def _backd_status(self, state: str) -> str:
        """``state``, with any cancelled spelling turned into the dialect's."""
        return self.config.backd_cancelled if "cancel" in state else state

    def record(
        self,
        provider: Provider,
        oid: str,
        operation: str,
        *,
        account: str | None,
        key: str | None,
        body: Any,
    ) -> Mutation:
        """Log one applied mutation."""
        mutation = Mutation(
            seq=len(self.mutations) + 1,
            provider=provider,
            account=account,
            order_id=oid,
            operation=operation,
            idempotency_key=key,
            body=body,
            at=self.now().isoformat(),
        )
        self.mutations.append(mutation)
        return mutation

    def bucket(self, store: str) -> LeakyBucket:
        """The leaky bucket of one Shoplazza store (created empty on first use)."""
        if store not in self.buckets:
            size, leak = self.config.shoplazza_bucket_size, self.config.shoplazza_leak_per_s
            self.buckets[store] = LeakyBucket(size, leak, self.clock())
        return self.buckets[store]

    def count(self, provider: Provider, status: int, fault: str) -> None:
        """Count one answered request by HTTP status and by the fault applied to it."""
        self.requests[provider][str(status)] += 1
        self.fault_counts[provider][fault] += 1

    def remember(self, key: IdempotencyKey, response: StoredResponse) -> None:
        """Keep a response for replays, evicting the oldest past the cache size."""
        self.replies[key] = response
        while len(self.replies) > IDEMPOTENCY_CACHE_SIZE:
            self.replies.popitem(last=False)
