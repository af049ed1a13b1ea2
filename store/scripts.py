"""Loads the store's Lua scripts (``store/lua``), each prefixed with the shared prelude.

The prelude is given the key names it builds from ``store/keys.py`` (the search indexes, the
backlogs, the chart counters) and the minute counters' lifetime (``store/series.py``).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import redis

from store import keys, series


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


class Scripts:
    """The store's scripts registered on one Redis client (EVALSHA, reloaded on NOSCRIPT)."""

    def __init__(self, client: redis.Redis) -> None:
        self.admit = client.register_script(source("admit"))
        self.claim = client.register_script(source("claim"))
        self.finish = client.register_script(source("finish"))
        self.retry = client.register_script(source("retry"))
        self.promote = client.register_script(source("promote"))
        self.replay = client.register_script(source("replay"))
        self.discard = client.register_script(source("discard"))
        self.trim = client.register_script(source("trim"))
        self.discard_pending = client.register_script(source("discard_pending"))
        self.breaker = client.register_script(source("breaker"))
        self.pause = client.register_script(source("pause"))
        self.extend = client.register_script(source("extend"))
        self.release = client.register_script(source("release"))
        self.operator_pause = client.register_script(source("operator_pause"))
        self.release_held = client.register_script(source("release_held"))
