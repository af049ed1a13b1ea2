"""The chart counters on a real Redis: each state change counts once in the current minute's hash.

Finish also counts its outcome (with latency bucket and dead reason) in the current hour's hash,
as it did before; every bucket hash expires, so their memory is bounded.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import redis

from providers.accounts import ShoplazzaAccount
from schemas import Attempt, AttemptOutcome, CommandState, DeadReason
from store import keys, series
from store.clock import redis_now_ms
from store.command_store import Claim, CommandStore, Parked, Spend, StoreLimits
from store.deadletters import DeadLetters
from store.flow import FlowControl
from store.tally import OutcomeTally
from tests.factories import make_envelope
from tests.gated import GatedCalls

ATTEMPT = Attempt(
    number=1,
    started_at=datetime(2026, 12, 1, tzinfo=UTC),
    duration_ms=12,
    outcome=AttemptOutcome.FAILED,
    http_status=500,
    message="upstream down",
)
ACCOUNT = ShoplazzaAccount(
    provider="shoplazza", base_url="http://x.invalid", access_token="t", rate_per_s=2, burst=2
)


def make_store(client: redis.Redis) -> CommandStore:
    return CommandStore(client, StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=30_000))


@pytest.fixture
def real_store(redis_client: redis.Redis) -> CommandStore:
    return make_store(redis_client)


def admit_and_claim(store: CommandStore, key: str) -> Claim:
    claim = store.claim(store.admit(make_envelope(key, order_id=f"O-{key}")).command_id)
    assert isinstance(claim, Claim), claim
    return claim


def minute_counts(client: redis.Redis) -> dict[str, int]:
    """Every minute hash's fields summed (a test may straddle a minute)."""
    counts: dict[str, int] = {}
    for key in client.scan_iter(match=keys.stats_minute("*")):
        for field, value in client.hgetall(key).items():
            counts[field] = counts.get(field, 0) + int(value)
    return counts


def hour_counts(client: redis.Redis) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in client.scan_iter(match=keys.stats_hour("*")):
        for field, value in client.hgetall(key).items():
            counts[field] = counts.get(field, 0) + int(value)
    return counts


def test_finish_counts_state_latency_bucket_and_dead_reason_per_minute_and_hour(real_store):
    real_store.finish(admit_and_claim(real_store, "a"), CommandState.SUCCEEDED, ATTEMPT)
    real_store.finish(admit_and_claim(real_store, "b"), CommandState.SUCCEEDED, ATTEMPT)
    dead = admit_and_claim(real_store, "c")
    real_store.finish(dead, CommandState.DEAD, ATTEMPT, reason=DeadReason.NOT_FOUND)
    real_store.tally.flush()  # outcomes are counted by the process (store/tally.py)
    expected = {  # finished within 100 ms of admission: the first latency bucket
        "done|backd|cancel|succeeded|100|": 2,
        "done|backd|cancel|dead|100|not_found": 1,
    }
    assert minute_counts(real_store.client) == expected
    assert hour_counts(real_store.client) == expected


def test_a_retry_after_an_attempt_counts_and_a_free_wait_does_not(real_store):
    claim = admit_and_claim(real_store, "a")
    real_store.retry(claim, ATTEMPT, delay_s=0, spend=Spend.ATTEMPT, reconcile_first=False)
    claim = real_store.claim(claim.command_id)
    assert isinstance(claim, Claim)
    real_store.retry(claim, None, delay_s=0, spend=Spend.NOTHING, reconcile_first=False)
    real_store.tally.flush()
    assert minute_counts(real_store.client) == {"retry|backd|cancel": 1}
    assert hour_counts(real_store.client) == {}  # kept per minute only


def test_discards_count_by_reason_and_before_start(real_store):
    dead = admit_and_claim(real_store, "a")
    real_store.finish(dead, CommandState.DEAD, ATTEMPT, reason=DeadReason.REJECTED)
    DeadLetters(real_store).discard(dead.command_id, actor="ops", why="duplicate")
    pending = real_store.admit(make_envelope("b", order_id="O-b")).command_id
    assert real_store.discard_pending(pending, actor="ops", why="not needed")
    counts = minute_counts(real_store.client)
    assert counts["discarded|rejected"] == 1
    assert counts["discarded|not_started"] == 1


def test_the_gate_counts_each_call_it_lets_through_and_each_wait_by_why(redis_client):
    calls = GatedCalls(FlowControl(redis_client))
    replies = calls.call_many(4, "store", ACCOUNT)  # burst 2: two go, two wait for the rate
    assert [type(r) for r in replies] == [Claim, Claim, Parked, Parked]
    counts = minute_counts(redis_client)
    assert counts == {"call|shoplazza|store|500": 2, "wait|shoplazza|store|rate": 2}


def test_a_bulk_command_sent_to_its_backlog_counts_as_a_wait_for_the_backlog(redis_client):
    store, flow = make_store(redis_client), FlowControl(redis_client)
    envelopes = [
        make_envelope(f"k{i}", provider="shoplazza", account="store", order_id=f"O-{i}").model_copy(
            update={"source": "bulk:b1"}
        )
        for i in range(4)
    ]
    replies = [
        store.claim(a.command_id, gate=flow.gate("store", ACCOUNT))
        for a in store.admit_many(envelopes)
    ]
    assert [getattr(r, "why", "") for r in replies] == ["", "", "rate", "backlog"]
    assert minute_counts(redis_client) == {
        "call|shoplazza|store|500": 2,
        "wait|shoplazza|store|rate": 1,
        "wait|shoplazza|store|backlog": 1,
    }


def test_every_bucket_hash_expires_within_its_lifetime(real_store):
    claim = admit_and_claim(real_store, "a")
    real_store.finish(claim, CommandState.SUCCEEDED, ATTEMPT)
    real_store.tally.flush()
    client = real_store.client
    [minute] = client.scan_iter(match=keys.stats_minute("*"))
    [hour] = client.scan_iter(match=keys.stats_hour("*"))
    assert series.MINUTE_TTL_S - 5 <= client.ttl(minute) <= series.MINUTE_TTL_S
    assert series.HOUR_TTL_S - 5 <= client.ttl(hour) <= series.HOUR_TTL_S
    # the lifetimes cover what the charts show, and not much more
    assert series.MINUTES_KEPT * 60 < series.MINUTE_TTL_S <= (series.MINUTES_KEPT + 5) * 60
    assert series.HOURS_KEPT * 3600 < series.HOUR_TTL_S <= (series.HOURS_KEPT + 2) * 3600


class Monitor:
    """The commands a private Redis runs on minute-bucket keys, read from MONITOR."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.seen: list[str] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Monitor:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.echo("monitor-stop")
        self._thread.join(5)

    def _watch(self) -> None:
        with self.client.monitor() as monitor:
            self._ready.set()
            for entry in monitor.listen():
                command = entry["command"]
                if "monitor-stop" in command:
                    return
                name, *args = command.split()
                if args and args[0].startswith(keys.stats_minute("")):
                    self.seen.append(name.upper())


def test_finish_spends_nothing_on_the_minute_and_a_flush_one_hincrby_a_field(make_redis_server):
    server = make_redis_server(appendonly=False)
    client = redis.Redis.from_url(server.url, decode_responses=True)
    store = make_store(client)
    store.tally = OutcomeTally(client, every_interval=False)
    for _ in range(3):  # a run straddling a minute boundary starts a new hash: run it again
        first, second = admit_and_claim(store, "a1"), admit_and_claim(store, "a2")
        minute = redis_now_ms(client) // series.MINUTE_MS
        with Monitor(client) as scripts:
            store.finish(first, CommandState.SUCCEEDED, None)
            store.finish(second, CommandState.SUCCEEDED, None)
        with Monitor(client) as flush:
            store.tally.flush()
        if redis_now_ms(client) // series.MINUTE_MS == minute:
            break
        client.flushdb()
    assert scripts.seen == []  # the scripts leave the counting to the process
    [bucket] = client.scan_iter(match=keys.stats_minute("*"))
    fields = client.hgetall(bucket)
    assert sum(map(int, fields.values())) == 2  # the two commands, one field per latency bucket
    assert flush.seen == ["HINCRBY"] * len(fields) + ["EXPIRE"]
