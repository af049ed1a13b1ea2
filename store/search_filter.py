"""What a search asks for (``SearchFilter``), its CLI syntax, and the cursors pages hand out."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import NoReturn

from providers.errors import OrderCmdError
from schemas import CommandKind, CommandRecord, CommandState, DeadReason, Provider, WaitingFor


@dataclass(frozen=True)
class SearchFilter:
    """What to find; ``None`` means any. Times are admission times, ms since the epoch."""

    command_id: str | None = None
    idempotency_key: str | None = None
    order_id: str | None = None
    provider: str | None = None
    account: str | None = None
    kind: str | None = None
    state: str | None = None
    waiting_for: str | None = None  # what a waiting command waits for (implies state=waiting)
    reason: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    def matches(self, record: CommandRecord) -> bool:
        """Whether ``record`` passes every field of the filter."""
        command, created_ms = record.envelope.command, record.created_at.timestamp() * 1000
        checks = (
            (self.command_id, record.id),
            (self.idempotency_key, record.envelope.idempotency_key),
            (self.order_id, command.order_id),
            (self.provider, command.provider),
            (self.account, command.account),
            (self.kind, command.kind),
            (self.state, record.state),
            (self.waiting_for, record.waiting_for or ""),
            (self.reason, record.dead_reason or ""),
        )
        if any(want is not None and want != str(have) for want, have in checks):
            return False
        too_early = self.since_ms is not None and created_ms < self.since_ms
        return not too_early and not (self.until_ms is not None and created_ms > self.until_ms)

    def describe(self) -> str:
        """``name=value`` pairs of the fields set, comma-separated (the CLI's filter syntax)."""
        return ",".join(
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) is not None
        )


ALIASES = {"since": "since_ms", "until": "until_ms", "order": "order_id"}
CHOICES: dict[str, tuple[str, ...]] = {  # the fields whose values come from a closed set
    "provider": tuple(Provider),
    "kind": tuple(CommandKind),
    "state": tuple(CommandState),
    "waiting_for": tuple(WaitingFor),
    "reason": tuple(DeadReason),
}


def parse_filter(text: str) -> SearchFilter:
    """A filter from ``reason=exhausted,provider=backd,since=2026-11-01T00:00Z``.

    Raises:
        OrderCmdError: an unknown name or value (the nearest valid one is suggested), a pair
            without ``=``, or a time that is not ISO 8601.
    """
    names = {f.name for f in fields(SearchFilter)} | set(ALIASES)
    values: dict[str, str | int] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = (part.strip() for part in pair.partition("="))
        if not sep or name not in names:
            raise OrderCmdError(f"filter: {pair!r} is not NAME=VALUE{_nearest(name, names)}")
        if value not in CHOICES.get(name, (value,)):
            raise OrderCmdError(
                f"filter: {name}={value!r} is not a {name}{_nearest(value, CHOICES[name])}"
            )
        field = ALIASES.get(name, name)
        values[field] = _to_ms(value) if field.endswith("_ms") else value
    return SearchFilter(**values)  # type: ignore[arg-type]


def _nearest(word: str, valid: Iterable[str]) -> str:
    """``"; did you mean X?"`` for the closest valid word, else the list of valid ones."""
    choices = sorted(valid)
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {close[0]}?" if close else f" (one of: {', '.join(choices)})"


def _to_ms(value: str) -> int:
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise OrderCmdError(f"filter: {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise OrderCmdError(f"filter: {value!r} needs a time zone (Z or +hh:mm)")
    return round(moment.timestamp() * 1000)


_CURSOR = re.compile(r"^(-?\d{1,16}(?:\.\d{1,6})?):([0-9A-Za-z._-]{0,64})$")


def parse_cursor(cursor: str) -> tuple[str, str]:
    """``(score, id)`` of a scan cursor.

    Raises:
        OrderCmdError: it is not a cursor this search handed out.
    """
    found = _CURSOR.match(cursor)
    if not found:
        _bad_cursor(cursor)
    return found.group(1), found.group(2)


def offset_cursor(cursor: str | None) -> int:
    """The offset a direct-lookup page's cursor holds (0 without one)."""
    if not cursor:
        return 0
    if not cursor.isdigit() or len(cursor) > 9:
        _bad_cursor(cursor)
    return int(cursor)


def _bad_cursor(cursor: str | None) -> NoReturn:
    raise OrderCmdError(f"cursor {cursor!r} is not one this search handed out")


def with_state(where: SearchFilter, state: str) -> SearchFilter:
    """``where`` narrowed to one state (bulk actions act on dead letters only)."""
    return replace(where, state=state)
