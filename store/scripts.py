"""Loads the store's Lua scripts (``store/lua``), each prefixed with the shared prelude.

The prelude is given the key names it builds from ``store/keys.py`` (the search indexes, the
backlogs, the chart counters) and the minute counters' lifetime (``store/series.py``).
"""

from __future__ import annotations

import json
import weakref
from functools import cache
from importlib import resources

import redis

from redisconn.held import HeldConnections, HeldScript
from store import keys, series

# one set of held connections per client, shared by every ``Scripts`` built on it
_held: weakref.WeakKeyDictionary[redis.Redis, HeldConnections] = weakref.WeakKeyDictionary()


@cache
def source(name: str) -> str:
    """The full text of script ``name``: the prelude, then the script."""
    folder = resources.files("store") / "lua"
    prelude = (folder / "prelude.lua").read_text()
    # JSON string literals are valid Lua ones for these key names
    names = ", ".join(
        json.dumps(key)
        for key in (
            keys.index_prefix(),
            keys.unindex_queue(),
            keys.backlog_prefix(),
            keys.backlogs(),
            keys.stats_minute(""),
            keys.paused(),
            keys.held_prefix(),
            keys.held_accounts(),
        )
    )
    key_names = (
        "local INDEX_PREFIX, UNINDEX_QUEUE, BACKLOG_PREFIX, BACKLOGS, MINUTE_PREFIX, PAUSED, "
        f"HELD_PREFIX, HELD_ACCOUNTS = {names}\n"
        f"local MINUTE_TTL_S = {series.MINUTE_TTL_S}"
    )
    return key_names + "\n" + prelude + "\n" + (folder / f"{name}.lua").read_text()


def script(client: redis.Redis, name: str) -> HeldScript:
    """Script ``name`` (``store/lua``) on ``client``, by EVALSHA, reloaded on NOSCRIPT.

    It runs on a connection its thread holds (``redisconn.held``), or on the ``client`` passed
    to the call (a pipeline).
    """
    held = _held.get(client)
    if held is None:
        held = _held[client] = HeldConnections(client)
    return HeldScript(client, source(name), held)


class Scripts:
    """The store's state-changing scripts on one Redis client (each as ``script`` makes it)."""

    def __init__(self, client: redis.Redis) -> None:
        self.admit = script(client, "admit")
        self.claim = script(client, "claim")
        self.finish = script(client, "finish")
        self.retry = script(client, "retry")
        self.promote = script(client, "promote")
        self.replay = script(client, "replay")
        self.discard = script(client, "discard")
        self.trim = script(client, "trim")
        self.discard_pending = script(client, "discard_pending")
        self.breaker = script(client, "breaker")
        self.pause = script(client, "pause")
        self.extend = script(client, "extend")
        self.release = script(client, "release")
        self.operator_pause = script(client, "operator_pause")
        self.release_held = script(client, "release_held")
