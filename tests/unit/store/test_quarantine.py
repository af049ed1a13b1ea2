"""The quarantine store: bounded in bytes, count and age; counted by reason; newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import fakeredis

from schemas.quarantine import QuarantinedMessage, QuarantineReason
from store import keys
from store.quarantine import Quarantine, QuarantineLimits

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def entry(
    n: int, *, raw: bytes = b"raw", reason=QuarantineReason.NOT_JSON, at=T0
) -> QuarantinedMessage:
    return QuarantinedMessage(
        reason=reason, detail=f"case {n}", queue="ordercmd",
        received_at=at + timedelta(seconds=n), size_bytes=len(raw), raw=raw,
    )  # fmt: skip


def quarantine(**limits: int) -> Quarantine:
    return Quarantine(fakeredis.FakeRedis(decode_responses=True), QuarantineLimits(**limits))


def test_entries_come_back_newest_first_with_their_raw_bytes():
    q = quarantine()
    q.add(entry(1, raw=b"\xff\x00 not utf-8"))
    q.add(entry(2, reason=QuarantineReason.FOREIGN_TASK))
    page = q.page()
    assert [e.detail for e in page] == ["case 2", "case 1"]
    assert page[1].raw == b"\xff\x00 not utf-8"
    assert page[1].raw_text() == "\\xff\x00 not utf-8"
    assert q.count() == 2


def test_raw_bytes_are_cut_at_the_limit_and_say_so():
    q = quarantine(max_raw_bytes=64)
    q.add(entry(1, raw=b"x" * 1000))
    (kept,) = q.page()
    assert (len(kept.raw), kept.raw_truncated, kept.size_bytes) == (64, True, 1000)


def test_the_oldest_entries_go_past_the_count_but_the_totals_keep_counting():
    q = quarantine(max_count=3)
    for n in range(5):
        q.add(entry(n, reason=QuarantineReason.NOT_JSON if n % 2 else QuarantineReason.OVERSIZED))
    assert [e.detail for e in q.page()] == ["case 4", "case 3", "case 2"]
    assert q.totals() == {QuarantineReason.OVERSIZED: 3, QuarantineReason.NOT_JSON: 2}


def test_entries_older_than_the_age_limit_are_dropped_and_the_set_expires():
    q = quarantine(max_age_s=60)
    q.add(entry(0))
    q.add(entry(1, at=T0 + timedelta(minutes=5)))
    assert [e.detail for e in q.page()] == ["case 1"]
    assert 0 < q.client.ttl(keys.quarantine()) <= 60


def test_an_unknown_reason_in_the_counters_is_ignored():
    q = quarantine()
    q.client.hset(keys.quarantine_counts(), "from-a-newer-version", 4)
    assert q.totals() == {}
