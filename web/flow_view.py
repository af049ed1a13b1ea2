"""Per-provider flow-control summaries: breakers, 429 and operator pauses, limits, backlogs."""

from __future__ import annotations

import json

import redis

from config.settings import Settings
from schemas import Provider
from store import keys
from store.backlog import Backlogs
from store.flow import DEFAULT_RATES


def flow_summary(client: redis.Redis, settings: Settings, provider: Provider) -> dict[str, str]:
    """One line each for the provider's breakers and rate limits, over its configured accounts."""
    names = sorted(n for n, a in settings.accounts.items() if a.provider == provider)
    if not names:
        return {"breaker": "no account", "rate": "no account", "backlog": "-"}
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hget(keys.breaker(provider, name), "state")
        pipe.pttl(keys.rate_pause(provider, name))
    pipe.hgetall(keys.paused())
    *replies, held = pipe.execute()
    states, pauses = replies[0::2], replies[1::2]
    opened = [n for n, s in zip(names, states, strict=True) if s == "open"]
    paused = [f"{n} {ms / 1000:.0f} s" for n, ms in zip(names, pauses, strict=True) if ms > 0]
    default_per_s, _ = DEFAULT_RATES[provider]
    limits = sorted({settings.accounts[n].rate_per_s or default_per_s for n in names})
    return {
        "breaker": f"open: {', '.join(opened)}" if opened else f"closed ({len(names)} account(s))",
        "rate": operator_summary(held, provider, names)
        + (f"paused after 429: {', '.join(paused)}; " if paused else "")
        + "limit "
        + ", ".join(f"{per_s:g}/s" for per_s in limits),
        "backlog": backlog_summary(client, settings, names),
    }


def backlog_summary(client: redis.Redis, settings: Settings, names: list[str]) -> str:
    """Bulk commands waiting per account: ``s1 120 waiting (ETA 60 s)``, or ``-``."""
    accounts = {n: settings.accounts[n] for n in names}
    depths = [d for d in Backlogs(client, accounts).depths() if d.account in accounts]
    return (
        "; ".join(
            f"{d.account} {d.depth} waiting" + (f" (ETA {d.eta_s:.0f} s)" if d.eta_s else "")
            for d in depths
        )
        or "-"
    )


def operator_summary(pauses: dict[str, str], provider: str, names: list[str]) -> str:
    """``paused by an operator: s1, s2; `` (the whole provider, or its accounts), or nothing."""
    if provider in pauses:
        return "paused by an operator: all accounts; "
    held = [
        n for n in names if json.loads(pauses.get(f"{provider}:{n}", "{}")).get("state") == "paused"
    ]
    return f"paused by an operator: {', '.join(held)}; " if held else ""
