"""Dead-letter sort orders and totals on fakeredis: paged without loss, counted from indexes."""

from __future__ import annotations

import time

import pytest

from providers.errors import OrderCmdError
from schemas import CommandState, DeadReason
from store.command_store import Claim
from store.dead_listing import DeadSort, dead_page, dead_totals
from store.search import Search, SearchFilter
from tests.factories import make_envelope

DEAD = SearchFilter(state="dead")


@pytest.fixture
def search(store) -> Search:
    return Search(store.client, {"acme": "backd", "store": "shoplazza"})


def dead(store, key: str, reason: DeadReason, provider: str = "backd") -> str:
    account = {"backd": "acme", "shoplazza": "store"}[provider]
    envelope = make_envelope(key, order_id=f"O-{key}", provider=provider, account=account)
    command_id = store.admit(envelope).command_id
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.DEAD, None, reason=reason, message="no")
    time.sleep(0.002)  # deaths are timed by Redis in ms
    return command_id


@pytest.fixture
def letters(store) -> dict[str, str]:
    """Five dead letters, oldest first: a b c d e."""
    plan = [("a", DeadReason.NOT_FOUND, "backd"), ("b", DeadReason.AUTH, "shoplazza"),
            ("c", DeadReason.NOT_FOUND, "shoplazza"), ("d", DeadReason.EXHAUSTED, "backd"),
            ("e", DeadReason.AUTH, "backd")]  # fmt: skip
    return {key: dead(store, key, reason, provider) for key, reason, provider in plan}


def walk(search: Search, where: SearchFilter, sort: DeadSort, limit: int) -> list[list[str]]:
    """Every page's ids, following the cursors to the end."""
    pages, cursor = [], None
    while True:
        page = dead_page(search, where, sort, cursor=cursor, limit=limit)
        pages.append([r.envelope.idempotency_key for r in page.records])
        if page.cursor is None:
            return pages
        cursor = page.cursor


def flat(pages: list[list[str]]) -> list[str]:
    return [key for page in pages for key in page]


def test_each_sort_pages_every_dead_letter_once_in_its_order(search, letters):
    assert walk(search, DEAD, DeadSort.NEWEST, 2) == [["e", "d"], ["c", "b"], ["a"]]
    assert walk(search, DEAD, DeadSort.OLDEST, 2) == [["a", "b"], ["c", "d"], ["e"]]
    # providers in name order (backd, shoplazza), newest first within each
    assert flat(walk(search, DEAD, DeadSort.PROVIDER, 2)) == ["e", "d", "a", "c", "b"]
    # reasons in name order (auth, exhausted, not_found), newest first within each
    assert walk(search, DEAD, DeadSort.REASON, 3)[0] == ["e", "b", "d"]
    assert flat(walk(search, DEAD, DeadSort.REASON, 1)) == ["e", "b", "d", "c", "a"]


def test_a_sort_keeps_the_filter(search, letters):
    only_backd = SearchFilter(state="dead", provider="backd")
    assert flat(walk(search, only_backd, DeadSort.REASON, 2)) == ["e", "d", "a"]
    assert flat(walk(search, only_backd, DeadSort.OLDEST, 2)) == ["a", "d", "e"]
    by_key = SearchFilter(state="dead", idempotency_key="c")
    assert walk(search, by_key, DeadSort.PROVIDER, 50) == [["c"]]


def test_a_foreign_cursor_is_refused(search, letters):
    for cursor in ["9/", "x/1:a", "nonsense"]:
        with pytest.raises(OrderCmdError, match="cursor"):
            dead_page(search, DEAD, DeadSort.PROVIDER, cursor=cursor)


def test_totals_are_exact_for_one_index_and_a_bound_otherwise(store, letters):
    everything = dead_totals(store.client, DEAD)
    assert (everything.matching, everything.exact, everything.everything) == (5, True, 5)
    assert everything.by_reason == {"ambiguous": 0, "auth": 2, "exhausted": 1, "invalid": 0,
                                    "not_found": 2, "poison": 0, "rejected": 0,
                                    "unsupported": 0}  # fmt: skip
    assert everything.by_provider == {"backd": 3, "fastpod": 0, "shoplazza": 2}
    auth = dead_totals(store.client, SearchFilter(state="dead", reason="auth"))
    assert (auth.matching, auth.exact) == (2, True)
    both = dead_totals(store.client, SearchFilter(state="dead", reason="auth", provider="backd"))
    assert (both.matching, both.exact) == (2, False)  # 1 really: "at most 2"
    timed = dead_totals(store.client, SearchFilter(state="dead", since_ms=0))
    assert (timed.matching, timed.exact) == (5, True)
    lookup = dead_totals(store.client, SearchFilter(state="dead", order_id="O-a"))
    assert lookup.matching is None
