"""The dead-letter page: filter, totals per filter, sort orders, and the selection form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from providers.errors import OrderCmdError
from store.dead_listing import GROUPS, DeadSort, DeadTotals, dead_page, dead_totals
from store.search import SearchFilter, SearchPage, with_state
from web import actions
from web.auth import Principal
from web.filters import CHOICES, form_filter, query_without_cursor
from web.guards import page_user
from web.render import render
from web.state import AppState, app_state

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Cursor = Annotated[str | None, Query(max_length=200)]


@dataclass(frozen=True)
class Listing:
    """What the filter, sort and cursor of a request select."""

    where: SearchFilter
    sort: DeadSort
    problems: list[str]
    page: SearchPage | None


def listing(request: Request, state: AppState, cursor: str | None) -> Listing:
    """The dead letters a request's query string asks for (none when it has problems)."""
    where, problems = form_filter(request.query_params)
    where = with_state(where, "dead")
    asked = request.query_params.get("sort") or DeadSort.NEWEST
    sort = DeadSort(asked) if asked in set(DeadSort) else DeadSort.NEWEST
    if asked != sort:
        problems.append(f"sort: {asked!r} is not one of {', '.join(DeadSort)}")
    page = None
    if not problems:
        try:
            search = actions.search_of(state)
            page = dead_page(search, where, sort, cursor=cursor, limit=PAGE_SIZE)
        except OrderCmdError as exc:  # a cursor from elsewhere: said on the page, not as JSON
            problems.append(str(exc))
    return Listing(where, sort, problems, page)


@router.get("/dead-letters", response_class=HTMLResponse)
def dead_letters_page(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    user: Annotated[Principal, Depends(page_user)],
    cursor: Cursor = None,
) -> HTMLResponse:
    """Dead letters matching the filter in the chosen order, 50 a page, with totals."""
    found = listing(request, state, cursor)
    totals = dead_totals(state.store.client, found.where)
    params = request.query_params
    filter_query = urlencode(
        [(k, v) for k, v in params.items() if k not in ("cursor", "sort") and v]
    )
    return render(
        request, "dead_letters.html", user, where=found.where, problems=found.problems,
        page=found.page, choices=CHOICES, sort=str(found.sort), totals=totals,
        facets=facets(params, totals), query=query_without_cursor(params),
        filter_query=filter_query, sort_query=filter_query,
        back=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )  # fmt: skip


def facets(
    params: Mapping[str, str], totals: DeadTotals
) -> list[tuple[str, list[tuple[str, int, str, bool]]]]:
    """Per reason and per provider with any: the value, its count, its filter link, if chosen."""
    given = dict(params.items())
    out = []
    for field, counts in (("reason", totals.by_reason), ("provider", totals.by_provider)):
        links = []
        for value in GROUPS[field]:
            chosen = given.get(field) == value
            if not counts[value] and not chosen:
                continue
            query = {k: v for k, v in given.items() if k not in ("cursor", field) and v}
            if not chosen:
                query[field] = value
            links.append((value, counts[value], "/dead-letters?" + urlencode(query), chosen))
        out.append((field, links))
    return out
