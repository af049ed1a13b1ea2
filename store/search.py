"""Finds commands by id, key, order, provider, account, kind, state, reason and admission time.

Every query starts from the narrowest index that exists: the command itself, the idempotency
key, an order's history, or a sorted set per field value (``store/search_plan.py``), walked
newest first from a cursor by one Lua script per page that checks the other filters by index
membership. Nothing scans the keyspace or decodes a record to filter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import redis

from config.settings import Settings
from schemas import CommandRecord
from store import keys
from store.records import read_records
from store.scripts import script
from store.search_filter import (
    SearchFilter,
    offset_cursor,
    parse_cursor,
    parse_filter,
    with_state,
)
from store.search_plan import plan

__all__ = ["Search", "SearchFilter", "SearchPage", "parse_filter", "with_state"]

SCAN_BUDGET = 2000  # index entries one script call examines at most (a few ms of Redis time)
PAGE_BUDGET = 200_000  # entries one page request examines before it returns what it has


@dataclass(frozen=True)
class SearchPage:
    """One page of matches, newest first, and the cursor of the next page (``None``: no more)."""

    records: list[CommandRecord]
    cursor: str | None
    examined: int


class Search:
    """Searches one store; ``accounts`` maps each configured account to its provider."""

    def __init__(self, client: redis.Redis, accounts: Mapping[str, str]) -> None:
        self.client = client
        self.accounts = dict(accounts)
        self._scan = script(client, "search_scan")

    @classmethod
    def of(cls, client: redis.Redis, settings: Settings) -> Search:
        """A search over ``client``'s store that knows the accounts configured in ``settings``."""
        return cls(client, {name: str(a.provider) for name, a in settings.accounts.items()})

    def page(
        self, where: SearchFilter, *, cursor: str | None = None, limit: int = 50
    ) -> SearchPage:
        """One page of commands matching ``where``, newest first."""
        direct = self._direct_ids(where)
        if direct is not None:
            records = [r for r in read_records(self.client, direct) if r and where.matches(r)]
            records.sort(key=lambda r: (r.created_at, r.id), reverse=True)
            start = offset_cursor(cursor)
            more = start + limit < len(records)
            return SearchPage(
                records[start : start + limit], str(start + limit) if more else None, len(direct)
            )
        ids, cursor, examined = self.scan_ids(where, cursor=cursor, limit=limit)
        records = [r for r in read_records(self.client, ids) if r is not None]
        return SearchPage(records, cursor, examined)

    def scan_ids(
        self,
        where: SearchFilter,
        *,
        cursor: str | None = None,
        limit: int = 50,
        budget: int = PAGE_BUDGET,
        oldest_first: bool = False,
    ) -> tuple[list[str], str | None, int]:
        """Ids matching ``where`` from its index, newest (or oldest) first, and the next cursor."""
        walk = plan(self.client, where)
        start, stop = (walk.low, walk.high) if oldest_first else (walk.high, walk.low)
        start, after = parse_cursor(cursor) if cursor else (start, "")
        found: list[str] = []
        examined = 0
        while len(found) < limit and examined < budget:
            reply = self._scan(keys=[walk.index, *walk.also_in], args=[
                start, stop, after, limit - len(found), min(SCAN_BUDGET, budget - examined),
                keys.command(""), walk.since_ms, walk.until_ms, "asc" if oldest_first else "",
            ])  # fmt: skip
            examined += int(reply[0])
            found.extend(str(i) for i in reply[3:])
            if not reply[1]:
                return found, None, examined
            start, after = str(reply[1]), str(reply[2])
        return found, f"{start}:{after}", examined

    def iter_ids(self, where: SearchFilter, *, chunk: int = 1000) -> Iterator[list[str]]:
        """Every id matching ``where``, in chunks, newest first (for bulk actions)."""
        direct = self._direct_ids(where)
        if direct is not None:
            records = read_records(self.client, direct)
            matches = [r.id for r in records if r and where.matches(r)]
            if matches:
                yield matches
            return
        cursor: str | None = None
        while True:
            ids, cursor, _ = self.scan_ids(where, cursor=cursor, limit=chunk)
            if ids:
                yield ids
            if cursor is None:
                return

    def _direct_ids(self, where: SearchFilter) -> list[str] | None:
        if where.command_id:
            return [where.command_id]
        if where.idempotency_key:
            value = self.client.get(keys.idempotency(where.idempotency_key))
            return [str(value).split(" ", 1)[0]] if value else []
        if where.order_id:
            pipe = self.client.pipeline(transaction=False)
            for lane in self._lanes(where):
                pipe.zrange(keys.order_history(lane), 0, -1)
            return [str(i) for ids in pipe.execute() for i in ids]
        return None

    def _lanes(self, where: SearchFilter) -> list[str]:
        accounts = [
            (account, provider)
            for account, provider in sorted(self.accounts.items())
            if where.account in (None, account) and where.provider in (None, provider)
        ]
        if where.account and where.provider and not accounts:
            accounts = [(where.account, where.provider)]  # an account no longer configured
        return [f"{provider}:{account}:{where.order_id}" for account, provider in accounts]
