"""Outcome counters are counted per process and added to Redis in batches, losing none."""

from __future__ import annotations

import gc
import time

import pytest
import redis

from schemas import CommandState, DeadReason
from store import keys, series
from store.command_store import Claim, CommandStore, Spend
from store.tally import FLUSH_INTERVAL_S, OutcomeTally, bucket
from tests.factories import make_envelope, make_read_attempt


@pytest.fixture
def store(store: CommandStore) -> CommandStore:
    """The shared store, its counts flushed only when a test says (no flushing thread)."""
    store.tally = OutcomeTally(store.client, every_interval=False)
    return store


def claimed(store: CommandStore, key: str) -> Claim:
    claim = store.claim(store.admit(make_envelope(key, order_id=f"BO-{key}")).command_id)
    assert isinstance(claim, Claim), claim
    return claim


def stats(store: CommandStore) -> dict[str, str]:
    return dict(store.client.hgetall(keys.stats()))


def test_a_finished_command_is_counted_at_the_flush_as_the_script_counted_it(store):
    store.finish(claimed(store, "a"), CommandState.SUCCEEDED, make_read_attempt())
    store.finish(claimed(store, "b"), CommandState.DEAD, None, reason=DeadReason.NOT_FOUND)
    assert stats(store) == {}  # nothing in Redis before the flush
    store.tally.flush()
    counted = stats(store)
    assert counted["done|backd|cancel|succeeded"] == "1"
    assert counted["done|backd|cancel|dead"] == "1"
    assert counted["dead|backd|not_found"] == "1"
    assert counted["attempts|backd|1"] == "1"  # a: one attempt recorded
    assert counted["attempts|backd|0"] == "1"  # b: none
    latencies = {k: v for k, v in counted.items() if k.startswith("latency_ms|backd|")}
    assert sum(map(int, latencies.values())) == 2
    assert int(counted["latency_ms_sum|backd"]) >= 0
    for pattern, length, ttl in (
        (keys.stats_hour("*"), series.HOUR_MS, series.HOUR_TTL_S),
        (keys.stats_minute("*"), series.MINUTE_MS, series.MINUTE_TTL_S),
    ):
        buckets = [str(k) for k in store.client.keys(pattern)]
        assert len(buckets) == 1 or time.time() * 1000 % length < 1000  # one, unless it turned
        fields: dict[str, int] = {}
        for key in buckets:
            for field, n in store.client.hgetall(key).items():
                fields[field] = fields.get(field, 0) + int(n)
            assert 0 < store.client.ttl(key) <= ttl
            assert abs(int(key.rsplit(":", 1)[1]) - int(time.time() * 1000) // length) <= 1
        assert fields == {
            "done|backd|cancel|succeeded|100|": 1,
            "done|backd|cancel|dead|100|not_found": 1,
        }
    assert store.tally.pending() == 0


def test_a_retry_is_counted_only_when_it_recorded_an_attempt(store):
    store.retry(
        claimed(store, "a"), make_read_attempt(), delay_s=0.3, spend=Spend.ATTEMPT,
        reconcile_first=False,
    )  # fmt: skip
    store.retry(
        claimed(store, "b"), None, delay_s=9, spend=Spend.NOTHING, reconcile_first=False
    )  # a wait that spent nothing
    store.tally.flush()
    assert stats(store) == {
        "retry|backd|cancel": "1",
        "retry_delay_ms|backd|500": "1",
        "retry_delay_ms_sum|backd": "300",
    }
    minutes = [store.client.hgetall(k) for k in store.client.keys(keys.stats_minute("*"))]
    assert minutes == [{"retry|backd|cancel": "1"}]


def test_counts_add_up_across_flushes(store):
    for key in "abc":
        store.finish(claimed(store, key), CommandState.SUCCEEDED, None)
        store.tally.flush()
    assert stats(store)["done|backd|cancel|succeeded"] == "3"


def test_counts_redis_refused_wait_for_the_next_flush(store, monkeypatch):
    store.finish(claimed(store, "a"), CommandState.SUCCEEDED, None)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise redis.ConnectionError("down")

    with monkeypatch.context() as patch:
        patch.setattr(type(store.client.pipeline()), "execute", refuse)
        with pytest.raises(redis.ConnectionError):
            store.tally.flush()
        store.tally.close()  # a shutdown while Redis is down logs the loss, raises nothing
    assert stats(store) == {}
    store.tally.flush()
    assert stats(store)["done|backd|cancel|succeeded"] == "1"


def test_the_process_flushes_by_itself_within_the_interval(store):
    store.tally = OutcomeTally(store.client)
    store.finish(claimed(store, "a"), CommandState.SUCCEEDED, None)
    deadline = time.monotonic() + FLUSH_INTERVAL_S * 5
    while not stats(store) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stats(store)["done|backd|cancel|succeeded"] == "1"


def test_counts_of_a_store_the_process_dropped_are_still_added(store):
    # a worker thread's runtime replaced (or any store let go) before the next flush: the
    # flushing thread holds its tally until the counts are in Redis
    dropped = OutcomeTally(store.client)
    dropped.finished(provider="backd", kind="cancel", state="succeeded", reason="",
                     attempts=1, latency_ms=5, now_ms=int(time.time() * 1000))  # fmt: skip
    del dropped
    gc.collect()
    deadline = time.monotonic() + FLUSH_INTERVAL_S * 5
    while not stats(store) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stats(store).get("done|backd|cancel|succeeded") == "1"


class ClosedClient:
    """A client closed under the flusher: its pipeline fails with no Redis error."""

    def pipeline(self, transaction: bool = True) -> None:
        raise AttributeError("'NoneType' object has no attribute 'readline'")


def test_a_tally_whose_client_broke_does_not_stop_the_flushing_thread(store):
    def count(tally: OutcomeTally) -> None:
        tally.finished(provider="backd", kind="cancel", state="succeeded", reason="",
                       attempts=1, latency_ms=5, now_ms=int(time.time() * 1000))  # fmt: skip

    broken = OutcomeTally(ClosedClient())  # type: ignore[arg-type]
    count(broken)
    deadline = time.monotonic() + FLUSH_INTERVAL_S * 5
    while broken.pending() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert broken.pending() == 0, "the flusher tried it (and dropped its counts)"
    working = OutcomeTally(store.client)
    count(working)
    while not stats(store) and time.monotonic() < deadline + FLUSH_INTERVAL_S * 5:
        time.sleep(0.02)
    assert stats(store).get("done|backd|cancel|succeeded") == "1", "the flusher still runs"


@pytest.mark.parametrize(
    ("ms", "le"), [(0, "100"), (100, "100"), (101, "250"), (3_600_000, "3600000"), (10**9, "+Inf")]
)
def test_latency_buckets_are_the_dashboards(ms, le):
    from web.stats import BUCKETS_MS

    assert bucket(ms) == le
    assert le in BUCKETS_MS
