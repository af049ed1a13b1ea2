"""The demo's workload: a weighted mix of order scenarios, their sandbox orders and commands.

Most scenarios succeed; some find the order already in the target state (``already_done``);
some can never succeed and dead-letter (``rejected``, ``unsupported``, ``not_found``). The
sandbox's faults add retries on top: 5xx, 422, lost replies and Shoplazza's 429s.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sandbox import SandboxAdmin
from schemas import CommandKind, Provider

ACCOUNTS = {Provider.BACKD: "acme", Provider.SHOPLAZZA: "store", Provider.FASTPOD: "pod"}
ID_PREFIXES = {Provider.BACKD: "BO", Provider.SHOPLAZZA: "1001", Provider.FASTPOD: "F237"}
# Faults on provider mutations: a few 5xx and 422s, a few applied-but-reply-lost, some latency.
MUTATION_FAULTS: dict[str, Any] = {
    "scope": "mutations",
    "error_rates": {"500": 0.02, "503": 0.04, "422": 0.03},
    "reply_lost_rate": 0.02,
    "latency_ms": 10,
    "jitter_ms": 40,
}
CREATE_THREADS = 8  # concurrent admin calls while the sandbox books the orders
SHOPLAZZA_BUCKET = {"shoplazza_bucket_size": 14, "shoplazza_leak_per_s": 20.0}

_NOTES = ("leave at the door", "gift wrap please", "call before delivery", "fragile")
_GIFTS = ("Happy birthday!", "Congratulations", "With love", "Thank you")
_STATUSES = ("packing", "held", "awaiting_stock")


@dataclass(frozen=True)
class Scenario:
    """One kind of command the demo sends, against an order in a given provider state."""

    provider: Provider
    kind: CommandKind
    state: str | None  # the order's state at the provider; None: the provider has no such order
    weight: int


def _s(provider: Provider, kind: CommandKind, state: str | None, weight: int) -> Scenario:
    return Scenario(provider, kind, state, weight)


B, S, F = Provider.BACKD, Provider.SHOPLAZZA, Provider.FASTPOD
CANCEL, UPDATE, REFUND = CommandKind.CANCEL, CommandKind.UPDATE, CommandKind.REFUND
SCENARIOS: tuple[Scenario, ...] = (
    _s(B, CANCEL, "order_placed", 9),
    _s(B, UPDATE, "order_placed", 7),
    _s(B, REFUND, "order_confirmed", 8),
    _s(B, CANCEL, "order_cancelled", 3),  # already done
    _s(B, CANCEL, "order_confirmed", 4),  # rejected: a refund is needed instead
    _s(B, REFUND, None, 2),  # not found
    _s(S, CANCEL, "placed", 9),
    _s(S, UPDATE, "placed", 8),
    _s(S, REFUND, "placed", 8),
    _s(S, CANCEL, "cancelled", 3),  # already done
    _s(S, CANCEL, "finished", 3),  # rejected: refund it instead
    _s(S, UPDATE, None, 2),  # not found
    _s(F, CANCEL, "new_order", 9),
    _s(F, UPDATE, "draft", 8),
    _s(F, REFUND, "draft", 7),  # a full refund before production cancels the order
    _s(F, CANCEL, "cancelled", 3),  # already done
    _s(F, REFUND, "in_production", 4),  # unsupported: needs FastPOD support
    _s(F, CANCEL, None, 3),  # not found
)


def plan(count: int, rng: random.Random) -> list[Scenario]:
    """``count`` scenarios in proportion to their weights (largest remainder), shuffled."""
    total = sum(s.weight for s in SCENARIOS)
    shares = [count * s.weight / total for s in SCENARIOS]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(SCENARIOS)), key=lambda i: counts[i] - shares[i])
    for index in by_remainder[: count - sum(counts)]:
        counts[index] += 1
    chosen = [s for s, n in zip(SCENARIOS, counts, strict=True) for _ in range(n)]
    rng.shuffle(chosen)
    return chosen


def arrange(
    admin: SandboxAdmin, scenarios: list[Scenario], *, tag: str, rng: random.Random
) -> list[dict[str, Any]]:
    """Create each scenario's order in the sandbox and return the commands to submit.

    Order ids carry ``tag`` so that no two runs share an order lane, even in one Redis.
    """
    commands = [
        {
            "kind": str(scenario.kind),
            "provider": str(scenario.provider),
            "account": ACCOUNTS[scenario.provider],
            "order_id": f"{ID_PREFIXES[scenario.provider]}-{tag}-{n:04d}",
        }
        | _details(scenario, rng)
        for n, scenario in enumerate(scenarios, start=1)
    ]
    orders = [
        (s.provider, s.state, c["order_id"])
        for s, c in zip(scenarios, commands, strict=True)
        if s.state is not None
    ]
    executor = ThreadPoolExecutor(CREATE_THREADS, thread_name_prefix="demo-orders")
    try:  # one admin call per order, several at once
        list(executor.map(lambda o: admin.create_order(o[0], o[1], order_id=o[2]), orders))
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return commands


def add_faults(admin: SandboxAdmin) -> None:
    """Turn on the demo's faults at every provider and tighten Shoplazza's bucket."""
    admin.set_faults(None, **MUTATION_FAULTS)
    admin.update_settings(**SHOPLAZZA_BUCKET)


def _details(scenario: Scenario, rng: random.Random) -> dict[str, Any]:
    """The kind-specific fields of one command: a patch, an amount, a reason."""
    if scenario.kind is CommandKind.UPDATE:
        return {"changes": _changes(scenario.provider, rng)}
    if scenario.kind is CommandKind.REFUND:
        if scenario.provider is Provider.FASTPOD:
            return {}  # FastPOD refunds only in full
        cents = rng.randint(100, 1500) if scenario.provider is Provider.SHOPLAZZA else None
        amount = f"{cents / 100:.2f}" if cents else f"{rng.randint(5, 200)}.00"
        return {"amount": amount, "reason": "customer returned an item"}
    return {"reason": rng.choice(("customer asked", "out of stock", "duplicate order"))}


def _changes(provider: Provider, rng: random.Random) -> dict[str, Any]:
    if provider is Provider.BACKD:
        return {"merchant_order_status": rng.choice(_STATUSES)}
    if provider is Provider.SHOPLAZZA:
        return {"note": rng.choice(_NOTES), "tags": rng.sample(["vip", "gift", "rush"], 2)}
    return {"gift_message": rng.choice(_GIFTS)}
