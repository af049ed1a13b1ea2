"""The charts' data: bucket times, percentiles from histogram buckets, series, and the endpoints."""

from __future__ import annotations

from collections import Counter

import fakeredis
import pytest

from schemas import CommandState, DeadReason
from store import keys, series
from store.clock import redis_now_ms
from store.command_store import Claim, CommandStore
from tests.factories import make_envelope
from tests.unit.web.test_web_app import bearer, client, published, sign_in  # noqa: F401
from web import chart_data
from web.charts import ChartCache, payload
from web.series import MINUTES, Bucket, Window, hours, minutes, parse_fields, quantile_ms
from web.stats import hourly

T0 = 1_764_000_000_000 - 1_764_000_000_000 % series.HOUR_MS  # an hour's start (ms)


def test_a_window_ends_with_the_bucket_holding_now_and_starts_on_bucket_bounds():
    window = Window(step_ms=60_000, count=3)
    assert window.starts(T0 + 150_500) == [T0, T0 + 60_000, T0 + 120_000]
    assert window.starts(T0) == [T0 - 120_000, T0 - 60_000, T0]
    assert len(MINUTES.starts(T0)) == 180


@pytest.mark.parametrize(
    ("counts", "q", "expected"),
    [
        ({}, 0.5, None),  # no observations: no percentile
        ({"100": 10}, 0.5, 50.0),  # rank 5 of 10 in [0, 100]: halfway
        ({"100": 10}, 0.99, 99.0),  # rank 9.9 of 10 in [0, 100]
        ({"100": 5, "250": 5}, 0.5, 100.0),  # rank 5: the first bucket's top
        ({"100": 5, "250": 5}, 0.95, 235.0),  # rank 9.5: 100 + 150 * 4.5 / 5
        ({"1000": 1, "+Inf": 99}, 0.5, 3_600_000.0),  # the unbounded bucket: its lower bound
        ({"250": 4}, 0.25, 100.0 + 150.0 * 1 / 4),  # empty buckets below start it at 100
    ],
)
def test_quantiles_interpolate_within_the_bucket_they_fall_in(counts, q, expected):
    assert quantile_ms(counts, q) == pytest.approx(expected)


def test_fields_parse_into_labels_and_a_bad_count_is_skipped():
    assert parse_fields({"done|backd|cancel|dead|100|not_found": "2", "retry|x": "?"}) == Counter(
        {("done", "backd", "cancel", "dead", "100", "not_found"): 2}
    )


def bucket(start_ms: int, covered: bool = True, **fields: int) -> Bucket:
    return Bucket(start_ms, Counter({tuple(k.split("|")): n for k, n in fields.items()}), covered)


def test_outcomes_dead_letters_and_retries_sum_their_fields_per_bucket():
    one = bucket(T0, **{"done|backd|cancel|succeeded|100|": 3,
                        "done|backd|refund|dead|250|rejected": 1,
                        "done|fastpod|cancel|dead|100|not_found": 2, "discarded|rejected": 1,
                        "retry|backd|cancel": 4, "wait|shoplazza|store|rate": 5})  # fmt: skip
    two = bucket(T0 + 60_000, **{"done|backd|cancel|already_done|100|": 1})
    charts = {c["id"]: c for c in chart_data.charts([one, two], 60_000, "minute")}
    outcomes = {s["label"]: s["values"] for s in charts["outcomes"]["series"]}
    assert outcomes == {"succeeded": [3, 0], "already_done": [0, 1], "dead": [3, 0],
                        "discarded": [1, 0]}  # fmt: skip
    dead = {s["label"]: s["total"] for s in charts["dead"]["series"]}
    assert dead == {"not_found": 2, "rejected": 1}
    retries = {s["label"]: s["values"] for s in charts["retries"]["series"]}
    assert retries == {"retries": [4, 0], "waits: rate": [5, 0]}
    assert charts["outcomes"]["unit"] == "commands per minute"


def test_latency_percentiles_per_provider_per_bucket_in_seconds():
    fields = {"done|backd|cancel|succeeded|100|": 98, "done|backd|cancel|dead|5000|exhausted": 2}
    chart = {c["id"]: c for c in chart_data.latency([bucket(T0, **fields), bucket(T0 + 60_000)])}
    [backd] = chart.values()
    assert backd["id"] == "latency-backd"
    values = {s["label"]: s["values"] for s in backd["series"]}
    # p50: rank 50 of 98 in [0, 100 ms]; p99: rank 99, 1 of 2 into [2.5 s, 5 s]
    assert values["p50"] == [pytest.approx(0.051), None]
    assert values["p99"] == [3.75, None]
    assert backd["observations"] == 100


def test_rate_use_is_calls_over_the_limit_the_interval_gives():
    one = bucket(T0, **{"call|shoplazza|store|500": 60})  # 2/s: 120 a minute
    two = bucket(T0 + 60_000)
    [line] = chart_data.rate_use([one, two], 60_000)["series"]
    assert line["label"] == "shoplazza/store"
    assert (line["values"], line["calls"], line["limit"]) == ([50.0, 0.0], [60, 0], [120, 120])


def test_hours_take_minute_only_families_from_the_minutes_and_leave_older_hours_empty():
    fake = fakeredis.FakeRedis(decode_responses=True)
    now = redis_now_ms(fake)
    this_hour = now // series.HOUR_MS
    fake.hset(keys.stats_hour(this_hour), "done|backd|cancel|succeeded|100|", 2)
    fake.hset(keys.stats_hour(this_hour - 100), "done|backd|cancel|succeeded|100|", 7)
    fake.hset(keys.stats_minute(now // series.MINUTE_MS), "retry|backd|cancel", 3)
    buckets = hours(fake, now)
    assert len(buckets) == series.HOURS_KEPT
    assert (buckets[-1].total("done"), buckets[-1].total("retry")) == (2, 3)
    assert (buckets[-101].total("done"), buckets[-101].total("retry")) == (7, None)
    assert [b.total("retry") for b in minutes(fake, now)][-1] == 3


def finish(store: CommandStore, key: str, state: CommandState, reason=None) -> None:
    claim = store.claim(store.admit(make_envelope(key, order_id=f"O-{key}")).command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, state, None, reason=reason)
    store.tally.flush()  # a worker adds its counts within a second (store/tally.py)


def test_the_payload_counts_what_the_scripts_counted(store):
    finish(store, "a", CommandState.SUCCEEDED)
    finish(store, "b", CommandState.DEAD, DeadReason.NOT_FOUND)
    for span in ("3h", "7d"):
        data = payload(store.client, span)
        outcomes = {s["label"]: s["total"] for s in data["charts"][0]["series"]}
        assert outcomes == {"succeeded": 1, "already_done": 0, "dead": 1, "discarded": 0}
        assert len(data["t"]) == (180 if span == "3h" else 168)


def test_the_api_needs_a_bearer_and_the_page_json_a_session(client, store):  # noqa: F811
    finish(store, "a", CommandState.SUCCEEDED)
    assert client.get("/api/charts").status_code == 401
    reply = client.get("/api/charts?range=7d", headers=bearer("vic"))
    assert reply.status_code == 200
    assert reply.json()["step_s"] == 3600
    assert client.get("/api/charts?range=1y", headers=bearer("vic")).status_code == 422
    assert client.get("/charts.json").status_code == 303
    sign_in(client, "vic")
    assert client.get("/charts.json").json()["charts"][0]["series"][0]["total"] == 1
    overview = client.get("/").text
    assert 'data-charts-url="/charts.json"' in overview
    assert '<script src="/static/charts/charts.js" defer></script>' in overview
    assert client.get("/static/charts/charts.css").status_code == 200
    assert client.get("/static/uplot/uPlot.iife.min.js").status_code == 200
    assert client.get("/static/uplot/LICENSE").status_code == 404  # only what the page loads


def test_the_overview_tables_see_outcomes_by_provider_kind_and_state_in_either_field_form():
    fake = fakeredis.FakeRedis(decode_responses=True)
    now = redis_now_ms(fake)
    hour = keys.stats_hour(now // series.HOUR_MS)
    fake.hset(hour, "done|backd|cancel|dead|100|not_found", 2)
    fake.hset(hour, "done|backd|cancel|dead|250|rejected", 1)
    fake.hset(hour, "done|backd|cancel|dead", 4)  # written before the charts' labels
    [(_, families)] = hourly(fake, now, hours=1)
    assert families["done"] == {("backd", "cancel", "dead"): 7.0}


def test_tabs_share_one_read_per_span_while_it_is_fresh(store):
    now = [100.0]
    cache = ChartCache(store.client, ttl_s=2.0, clock=lambda: now[0])
    for _ in range(50):  # fifty tabs within the same two seconds
        cache.payload("3h")
    assert cache.reads == 1
    finish(store, "a", CommandState.SUCCEEDED)
    now[0] += 2.0
    assert cache.payload("3h")["charts"][0]["series"][0]["total"] == 1
    cache.payload("7d")
    assert cache.reads == 3
