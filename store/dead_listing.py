"""The dead-letter list's sort orders and totals, each from the indexes alone (never a scan).

Every dead-letter index is a sorted set scored by time of death, so four orders are cheap: newest
or oldest death first (one index walked either way), and grouped by provider or by reason (the
per-value indexes walked one after another, newest first within each; a closed set of at most
eight values). Sorting by attempts, account or order id would need every record read: not
offered. Totals are ``ZCARD``/``ZCOUNT`` of the index that holds exactly the matches; when no
one index does, the smallest count is an upper bound and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

import redis

from providers.errors import OrderCmdError
from schemas import CommandRecord, DeadReason, Provider
from store import keys
from store.records import read_records
from store.search import Search, SearchFilter, SearchPage

GROUPS: dict[str, list[str]] = {
    "provider": sorted(str(p) for p in Provider),
    "reason": sorted(str(r) for r in DeadReason),
}


class DeadSort(StrEnum):
    """The orders the dead-letter list offers."""

    NEWEST = "newest"  # died most recently first (the default)
    OLDEST = "oldest"
    PROVIDER = "provider"  # by provider name, newest first within each
    REASON = "reason"  # by reason name, newest first within each


@dataclass(frozen=True)
class DeadTotals:
    """How many dead letters match (``exact`` or at most), and how many per reason and provider."""

    matching: int | None  # None: a direct lookup (id, key or order), the page shows them all
    exact: bool
    by_reason: dict[str, int]
    by_provider: dict[str, int]
    everything: int


def dead_page(
    search: Search,
    where: SearchFilter,
    sort: DeadSort,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> SearchPage:
    """One page of the dead letters matching ``where`` (a dead-state filter), in ``sort`` order.

    Raises:
        OrderCmdError: a cursor this listing did not hand out.
    """
    if where.command_id or where.idempotency_key or where.order_id:
        page = search.page(where, cursor=cursor, limit=limit)  # a handful: ordered in memory
        records = sorted(page.records, key=lambda r: _sort_key(r, sort))
        return SearchPage(records, page.cursor, page.examined)
    if sort in (DeadSort.NEWEST, DeadSort.OLDEST):
        ids, next_cursor, examined = search.scan_ids(
            where, cursor=cursor, limit=limit, oldest_first=sort is DeadSort.OLDEST
        )
    else:
        ids, next_cursor, examined = _grouped_ids(search, where, str(sort), cursor, limit)
    records = [r for r in read_records(search.client, ids) if r is not None]
    return SearchPage(records, next_cursor, examined)


def _sort_key(record: CommandRecord, sort: DeadSort) -> tuple[str, float]:
    died = record.updated_at.timestamp()  # a dead letter's last change is its death
    if sort is DeadSort.OLDEST:
        return "", died
    groups = {
        DeadSort.PROVIDER: record.envelope.command.provider,
        DeadSort.REASON: record.dead_reason,
    }
    return str(groups.get(sort) or ""), -died


def _grouped_ids(
    search: Search, where: SearchFilter, field: str, cursor: str | None, limit: int
) -> tuple[list[str], str | None, int]:
    """Ids group by group (one value of ``field`` each); the cursor is ``group/inner cursor``."""
    chosen = getattr(where, field)
    values = [chosen] if chosen else GROUPS[field]
    group, inner = _parse_group_cursor(cursor, len(values))
    found: list[str] = []
    examined = 0
    while group < len(values) and len(found) < limit:
        part = (
            replace(where, provider=values[group])
            if field == "provider"
            else replace(where, reason=values[group])
        )
        ids, inner, seen = search.scan_ids(part, cursor=inner, limit=limit - len(found))
        found += ids
        examined += seen
        if inner is not None:
            return found, f"{group}/{inner}", examined
        group += 1
    return found, (f"{group}/" if group < len(values) else None), examined


def _parse_group_cursor(cursor: str | None, groups: int) -> tuple[int, str | None]:
    if not cursor:
        return 0, None
    group, sep, inner = cursor.partition("/")
    if not sep or not group.isdigit() or int(group) >= groups:
        raise OrderCmdError(f"cursor {cursor!r} is not one this listing handed out")
    return int(group), inner or None


def dead_totals(client: redis.Redis, where: SearchFilter) -> DeadTotals:
    """Counts for the dead-letter page: one pipeline of ``ZCARD``/``ZCOUNT`` (no scan)."""
    pipe = client.pipeline(transaction=False)
    pipe.zcard(keys.dead_letters())
    for reason in GROUPS["reason"]:
        pipe.zcard(keys.dead_letters_by("reason", reason))
    for provider in GROUPS["provider"]:
        pipe.zcard(keys.dead_letters_by("provider", provider))
    timed = where.since_ms is not None or where.until_ms is not None
    if timed:  # the dead state's search index is scored by admission time, as the filter is
        low = "-inf" if where.since_ms is None else where.since_ms
        high = "+inf" if where.until_ms is None else where.until_ms
        pipe.zcount(keys.index("state", "dead"), low, high)
    for field in ("account", "kind"):
        if getattr(where, field) is not None:
            pipe.zcard(keys.index(field, getattr(where, field)))
    counts = [int(n) for n in pipe.execute()]
    everything, counts = counts[0], counts[1:]
    by_reason = dict(zip(GROUPS["reason"], counts, strict=False))
    by_provider = dict(zip(GROUPS["provider"], counts[len(by_reason) :], strict=False))
    bounds = counts[len(by_reason) + len(by_provider) :]  # time, account, kind, as filtered
    if where.reason:
        bounds.append(by_reason[where.reason])
    if where.provider:
        bounds.append(by_provider[where.provider])
    direct = bool(where.command_id or where.idempotency_key or where.order_id)
    return DeadTotals(
        matching=None if direct else min([*bounds, everything]),
        exact=len(bounds) <= 1 and where.account is None and where.kind is None,
        by_reason=by_reason,
        by_provider=by_provider,
        everything=everything,
    )
