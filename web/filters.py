"""Search filters from a request: lenient for the pages' forms, typed for the JSON API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query

from schemas import CommandKind, CommandState, DeadReason, Provider, WaitingFor
from store.search import SearchFilter

CHOICES = {
    "provider": [p.value for p in Provider],
    "kind": [k.value for k in CommandKind],
    "state": [s.value for s in CommandState],
    "waiting_for": [w.value for w in WaitingFor],
    "reason": [r.value for r in DeadReason],
}
TEXT_FIELDS = ("command_id", "idempotency_key", "order_id", "account")


def to_ms(moment: datetime | None) -> int | None:
    """Milliseconds since the epoch; a time without zone is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def query_without_cursor(params: Mapping[str, str]) -> str:
    """The query string of a filter form's fields that are set, to link to its next page."""
    return urlencode([(k, v) for k, v in params.items() if k != "cursor" and v])


def form_filter(params: Mapping[str, str]) -> tuple[SearchFilter, list[str]]:
    """A filter from a page's query string (blank fields ignored) and what was not understood."""
    values: dict[str, str | int | None] = {}
    problems: list[str] = []
    for name in TEXT_FIELDS:
        values[name] = (params.get(name) or "").strip()[:255] or None
    for name, allowed in CHOICES.items():
        value = (params.get(name) or "").strip()
        if value and value not in allowed:
            problems.append(f"{name}: {value!r} is not one of {', '.join(allowed)}")
        values[name] = value if value in allowed else None
    for name in ("since", "until"):
        value = (params.get(name) or "").strip()
        try:
            values[f"{name}_ms"] = to_ms(datetime.fromisoformat(value)) if value else None
        except ValueError:
            problems.append(f"{name}: {value!r} is not a date and time")
    return SearchFilter(**values), problems  # type: ignore[arg-type]


def api_filter(
    command_id: Annotated[str | None, Query(max_length=128)] = None,
    idempotency_key: Annotated[str | None, Query(max_length=255)] = None,
    order_id: Annotated[str | None, Query(max_length=128)] = None,
    provider: Provider | None = None,
    account: Annotated[str | None, Query(max_length=128)] = None,
    kind: CommandKind | None = None,
    state: CommandState | None = None,
    waiting_for: WaitingFor | None = None,
    reason: DeadReason | None = None,
    since: Annotated[datetime | None, Query(description="admitted at or after")] = None,
    until: Annotated[datetime | None, Query(description="admitted at or before")] = None,
) -> SearchFilter:
    """The JSON API's search filter (every field optional; all given must match)."""
    return SearchFilter(
        command_id=command_id or None,
        idempotency_key=idempotency_key or None,
        order_id=order_id or None,
        provider=provider.value if provider else None,
        account=account or None,
        kind=kind.value if kind else None,
        state=state.value if state else None,
        waiting_for=waiting_for.value if waiting_for else None,
        reason=reason.value if reason else None,
        since_ms=to_ms(since),
        until_ms=to_ms(until),
    )
