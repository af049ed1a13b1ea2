"""Search over the store's indexes on fakeredis: every filter, cursor paging, no keyspace scan."""

from __future__ import annotations

import time

import pytest

from providers.errors import OrderCmdError
from schemas import CommandState, DeadReason
from store import keys
from store.command_store import Claim
from store.search import Search, SearchFilter, parse_filter
from tests.factories import make_envelope

ACCOUNTS = {"acme": "backd", "store": "shoplazza"}


@pytest.fixture
def search(store) -> Search:
    return Search(store.client, ACCOUNTS)


def admit(store, key: str, **overrides) -> str:
    command_id = store.admit(make_envelope(key, **overrides)).command_id
    time.sleep(0.002)  # admission order is by Redis time in ms
    return command_id


def kill(store, command_id: str, reason=DeadReason.EXHAUSTED) -> str:
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.DEAD, None, reason=reason, message="no")
    return command_id


def ids(page) -> list[str]:
    return [r.id for r in page.records]


def test_each_direct_lookup_finds_its_command(store, search):
    a = admit(store, "key-a", order_id="O-1")
    b = admit(store, "key-b", order_id="O-1", kind="refund")
    c = admit(store, "key-c", order_id="O-1", provider="shoplazza", account="store")
    admit(store, "key-d", order_id="O-2")
    assert ids(search.page(SearchFilter(command_id=a))) == [a]
    assert ids(search.page(SearchFilter(idempotency_key="key-b"))) == [b]
    assert ids(search.page(SearchFilter(idempotency_key="nope"))) == []
    assert ids(search.page(SearchFilter(order_id="O-1"))) == [c, b, a]
    assert ids(search.page(SearchFilter(order_id="O-1", provider="backd"))) == [b, a]
    assert ids(search.page(SearchFilter(order_id="O-1", kind="refund"))) == [b]


def test_index_filters_walk_newest_first_in_pages(store, search):
    made = [admit(store, f"k{i}", order_id=f"O-{i}", kind="cancel" if i % 2 else "refund")
            for i in range(9)]  # fmt: skip
    cancels = [m for i, m in enumerate(made) if i % 2][::-1]
    first = search.page(SearchFilter(kind="cancel"), limit=3)
    assert ids(first) == cancels[:3]
    rest = search.page(SearchFilter(kind="cancel"), cursor=first.cursor, limit=3)
    assert ids(rest) == cancels[3:]
    assert rest.cursor is None, "the index is exhausted"


def test_dead_letters_by_reason_provider_and_account(store, search):
    a = kill(store, admit(store, "a", order_id="O-1"), DeadReason.NOT_FOUND)
    b = kill(store, admit(store, "b", order_id="O-2"), DeadReason.EXHAUSTED)
    c = kill(store, admit(store, "c", provider="shoplazza", account="store", order_id="O-3"),
             DeadReason.NOT_FOUND)  # fmt: skip
    admit(store, "d", order_id="O-4")
    assert ids(search.page(SearchFilter(state="dead"))) == [c, b, a]
    assert ids(search.page(SearchFilter(reason="not_found"))) == [c, a]
    assert ids(search.page(SearchFilter(reason="not_found", provider="backd"))) == [a]
    assert ids(search.page(SearchFilter(state="dead", account="store"))) == [c]
    assert ids(search.page(SearchFilter(state="queued", provider="backd"))) != []


def test_time_range_is_admission_time(store, search):
    early = admit(store, "a", order_id="O-1")
    time.sleep(0.01)
    middle_ms = int(time.time() * 1000)
    time.sleep(0.01)
    late = admit(store, "b", order_id="O-2")
    assert ids(search.page(SearchFilter(since_ms=middle_ms))) == [late]
    assert ids(search.page(SearchFilter(until_ms=middle_ms))) == [early]


def test_a_small_budget_returns_a_cursor_that_resumes(store, search):
    made = [admit(store, f"k{i}", order_id=f"O-{i}") for i in range(6)]
    found, cursor, examined = search.scan_ids(SearchFilter(provider="backd"), limit=10, budget=4)
    assert (found, examined) == (made[::-1][:4], 4)
    more, end, _ = search.scan_ids(SearchFilter(provider="backd"), cursor=cursor, limit=10)
    assert more == made[::-1][4:]
    assert end is None


def test_bulk_iteration_covers_every_match_once(store, search):
    made = {kill(store, admit(store, f"k{i}", order_id=f"O-{i}")) for i in range(7)}
    chunks = list(search.iter_ids(SearchFilter(state="dead"), chunk=3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert {i for c in chunks for i in c} == made


def test_equal_admission_times_page_without_loss_or_repeat(store, search):
    client = store.client
    for i in range(600):  # 600 commands admitted in the same millisecond
        client.zadd(keys.recent(), {f"id{i:03d}": 1000})
        client.hset(keys.command(f"id{i:03d}"), mapping={"state": "queued", "created_ms": 1000})
    seen, cursor = [], None
    while True:
        found, cursor, _ = search.scan_ids(SearchFilter(state="waiting"), cursor=cursor, limit=50,
                                           budget=250)  # fmt: skip
        seen.extend(found)
        if cursor is None:
            break
    assert seen == []
    everything, cursor = [], None
    while True:
        found, cursor, _ = search.scan_ids(SearchFilter(), cursor=cursor, limit=70)
        everything.extend(found)
        if cursor is None:
            break
    assert everything == [f"id{i:03d}" for i in reversed(range(600))]
    oldest_first, cursor = [], None
    while True:
        found, cursor, _ = search.scan_ids(SearchFilter(), cursor=cursor, limit=70,
                                           oldest_first=True)  # fmt: skip
        oldest_first.extend(found)
        if cursor is None:
            break
    assert oldest_first == [f"id{i:03d}" for i in range(600)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reason=exhausted,provider=backd", SearchFilter(reason="exhausted", provider="backd")),
        ("order=O-1, kind=cancel", SearchFilter(order_id="O-1", kind="cancel")),
        ("since=2026-11-23T12:00:00Z", SearchFilter(since_ms=1795435200000)),
        ("until=1000", SearchFilter(until_ms=1000)),
        ("", SearchFilter()),
    ],
)
def test_filters_parse_from_the_cli_syntax(text, expected):
    assert parse_filter(text) == expected
    assert parse_filter(expected.describe()) == expected


@pytest.mark.parametrize("text", ["colour=red", "reason", "since=yesterday", "since=2026-11-23"])
def test_a_bad_filter_says_what_is_wrong(text):
    with pytest.raises(OrderCmdError, match="filter"):
        parse_filter(text)


def test_a_state_pages_newest_first_through_its_own_index(store, search):
    made = [admit(store, f"k{i}", order_id=f"O-{i}") for i in range(7)]
    waiting = [admit(store, f"w{i}", order_id=f"O-{i}") for i in range(5)]  # behind made[i]
    kill(store, made[0])  # its lane's next, waiting[0], is queued now
    first = search.page(SearchFilter(state="waiting"), limit=2)
    assert (ids(first), first.examined) == (waiting[:0:-1][:2], 2), "no other state examined"
    rest = search.page(SearchFilter(state="waiting"), cursor=first.cursor, limit=2)
    last = search.page(SearchFilter(state="waiting"), cursor=rest.cursor, limit=2)
    assert ids(rest) + ids(last) == waiting[:0:-1][2:]
    assert last.cursor is None
    assert ids(search.page(SearchFilter(state="queued", order_id="O-0"))) == [waiting[0]]


def test_combined_filters_walk_the_smallest_index(store, search):
    for i in range(30):
        admit(store, f"k{i}", order_id=f"O-{i}")  # backd cancels
    refund = admit(store, "r", order_id="O-r", kind="refund")
    other = admit(store, "s", provider="shoplazza", account="store", order_id="O-s", kind="refund")
    page = search.page(SearchFilter(provider="backd", state="queued", kind="refund"))
    assert (ids(page), page.examined) == ([refund], 2), "walks the two refunds, not 31 backds"
    assert ids(search.page(SearchFilter(account="store", kind="refund"))) == [other]
    assert ids(search.page(SearchFilter(kind="refund", state="running"))) == []


def test_dead_letters_filter_by_kind_and_admission_time(store, search):
    early = kill(store, admit(store, "a", order_id="O-1", kind="refund"))
    middle_ms = int(time.time() * 1000) + 1
    time.sleep(0.01)
    late = kill(store, admit(store, "b", order_id="O-2", kind="refund"))
    kill(store, admit(store, "c", order_id="O-3"))
    assert ids(search.page(SearchFilter(state="dead", kind="refund"))) == [late, early]
    recent_refunds = SearchFilter(reason="exhausted", since_ms=middle_ms, kind="refund")
    assert ids(search.page(recent_refunds)) == [late]
    assert ids(search.page(SearchFilter(state="dead", until_ms=middle_ms))) == [early]
    assert ids(search.page(SearchFilter(state="queued", reason="exhausted"))) == []


def test_an_expired_record_is_skipped_and_dropped_from_the_walked_index(store, search):
    kept, expired = admit(store, "a", order_id="O-1"), admit(store, "b", order_id="O-2")
    store.client.delete(keys.command(expired))  # its TTL ran out before trim unindexed it
    assert ids(search.page(SearchFilter(provider="backd"))) == [kept]
    assert store.client.zrange(keys.index("provider", "backd"), 0, -1) == [kept]
    assert store.client.zscore(keys.index("kind", "cancel"), expired) is not None, "not walked"
