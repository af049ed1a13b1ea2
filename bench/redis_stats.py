"""Counting Redis commands: ``INFO commandstats`` snapshots, deltas, and which ran inside Lua."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources

import redis

# Commands the benchmark itself sends (snapshots), left out of every count.
OWN = frozenset({"info", "config|resetstat", "client|setinfo"})


def lua_commands() -> frozenset[str]:
    """Every command the store's Lua scripts call (lower case, as commandstats names them)."""
    folder = resources.files("store") / "lua"
    found: set[str] = set()
    for script in folder.iterdir():
        if script.name.endswith(".lua"):
            found |= {c.lower() for c in re.findall(r"redis\.call\('(\w+)'", script.read_text())}
    return frozenset(found)


def snapshot(client: redis.Redis) -> Counter[str]:
    """Calls per command so far."""
    stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})


def delta(before: Counter[str], after: Counter[str]) -> Counter[str]:
    """Calls between two snapshots, the benchmark's own left out."""
    calls = Counter({k: after[k] - before.get(k, 0) for k in after if k not in OWN})
    return +calls


def split_lua(calls: Counter[str], inside: frozenset[str]) -> tuple[int, int]:
    """``(sent by clients, run inside Lua)``.

    A command named in the store's scripts counts as run inside Lua: ordercmd's worker and
    producer write the store only through scripts, but for the outcome counters' flush (one
    MULTI/EXEC of HINCRBYs per process a second, ``store/tally.py``: a few hundredths of a
    command per command, counted here as inside Lua).
    """
    in_lua = sum(n for name, n in calls.items() if name in inside)
    return sum(calls.values()) - in_lua, in_lua
