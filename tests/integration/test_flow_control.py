"""Flow control across worker processes: the shared rate limit, 429 pauses, the circuit breaker.

Four worker processes share each provider account's limits through Redis (``store.flow``); the
sandbox's timestamps and counters show what reached the provider.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from celery import Celery
from click.testing import CliRunner

from cli.main import cli
from cli.providers_status import read_provider_status
from providers.http.client import READ_ATTEMPTS
from schemas import AttemptOutcome, CommandState
from store import keys
from store.flow import BreakerPolicy, FlowControl
from store.records import read_records
from tests.integration.harness import settle_all, wait_for

pytestmark = pytest.mark.integration

WORKERS, THREADS = 4, 4
LIMIT_PER_S = 4.0  # the rate-limited account: 4 requests/s, burst 1
# Our limiter may grant a held slot up to 50 ms early (claim's early_ms): over 40 grants
# (~10 s) that is well inside 5 %.
RATE_TOLERANCE = 0.05
# A correct 429 pause still lets the calls in flight when it starts, and the burst released
# when it ends, find the bucket full: up to burst - 1 = 3 429s per admitted call.
MAX_429_PER_COMMAND = 3
POLICY = BreakerPolicy(cool_down_s=5.0)  # what the workers run with (ORDERCMD_BREAKER__*)
OUTAGE_S = 3.0
# Once the probe closes the breaker, the parked commands should all be through within this
# (FastPOD's limit here is 200/s): nothing holds them any more.
RECOVERY_S = 10.0


@pytest.fixture
def ordercmd_env(ordercmd_env: dict[str, str], sandbox) -> dict[str, str]:
    """A second Shoplazza store limited to 4/s burst 1; FastPOD's limit out of the way."""
    return ordercmd_env | {
        "ORDERCMD_ACCOUNTS__LIMITED__PROVIDER": "shoplazza",
        "ORDERCMD_ACCOUNTS__LIMITED__BASE_URL": sandbox.shoplazza_url("limited"),
        "ORDERCMD_ACCOUNTS__LIMITED__ACCESS_TOKEN": "shoplazza-sandbox-token",
        "ORDERCMD_ACCOUNTS__LIMITED__TIMEOUT_S": "1.5",
        "ORDERCMD_ACCOUNTS__LIMITED__RATE_PER_S": str(LIMIT_PER_S),
        "ORDERCMD_ACCOUNTS__LIMITED__BURST": "1",
        "ORDERCMD_ACCOUNTS__POD__RATE_PER_S": "200",
        "ORDERCMD_ACCOUNTS__POD__BURST": "50",
        "ORDERCMD_BREAKER__COOL_DOWN_S": str(POLICY.cool_down_s),
    }


def start_fleet(start_worker, broker_url: str) -> None:
    """Start the worker processes and wait until every one answers a ping (it consumes)."""
    for _ in range(WORKERS):
        start_worker(pool="threads", concurrency=THREADS)
    app = Celery("ordercmd-test-ping", broker=broker_url, set_as_current=False)
    try:
        wait_for(
            lambda: len(app.control.ping(timeout=0.5)) >= WORKERS,
            timeout_s=60,
            what=f"{WORKERS} workers to answer a ping",
        )
    finally:
        app.close()


def cancels(sandbox, provider: str, account: str, state: str, count: int) -> list[dict[str, str]]:
    orders = sandbox.admin.create_orders(provider, state, count)
    return [
        {"kind": "cancel", "provider": provider, "account": account, "order_id": o} for o in orders
    ]


def stamps(mutations: list[dict[str, Any]]) -> list[float]:
    return sorted(datetime.fromisoformat(m["at"]).timestamp() for m in mutations)


def busiest_second(times: list[float]) -> int:
    """The most mutations stamped within any one second."""
    return max(sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times))


def test_four_workers_share_one_rate_limit(sandbox, store, producer, start_worker, redis_url):
    # Given: a store limited by us to 4/s burst 1, and a sandbox bucket too big to ever 429
    sandbox.admin.update_settings(shoplazza_bucket_size=100_000, shoplazza_leak_per_s=100_000.0)
    commands = cancels(sandbox, "shoplazza", "limited", "placed", 40)
    start_fleet(start_worker, redis_url)
    # When: 40 cancels go in at once, to 16 worker threads in 4 processes
    ids = [s.command_id for s in producer.submit_many(commands)]
    records = settle_all(store.client, ids, timeout_s=60)
    # Then: the gate granted them at the limit (Redis time of each granting claim), not above it
    # and not far below it, and the provider refused none
    granted = sorted(int(store.client.hget(keys.command(i), "claimed_ms")) / 1000 for i in ids)
    times = stamps(sandbox.admin.mutations(provider="shoplazza"))
    rate, achieved = ((len(t) - 1) / (t[-1] - t[0]) for t in (granted, times))
    statuses = sandbox.admin.requests()["shoplazza"]["by_status"]
    figure = (
        f"40 cancels, {WORKERS} workers x {THREADS} threads, limit {LIMIT_PER_S:g}/s burst 1: "
        f"granted {rate:.2f}/s over {granted[-1] - granted[0]:.2f} s (busiest second "
        f"{busiest_second(granted)}), arrived {achieved:.2f}/s (busiest second "
        f"{busiest_second(times)}), sandbox statuses {statuses}"
    )
    print(figure)
    assert {r.state for r in records.values()} == {CommandState.SUCCEEDED}, figure
    assert len(times) == 40, figure
    assert LIMIT_PER_S * 0.8 <= rate <= LIMIT_PER_S * (1 + RATE_TOLERANCE), figure
    # burst 1: 5 grants span 1 s, and a held slot may be used up to one interval late: one more
    assert busiest_second(granted) <= LIMIT_PER_S + 2, figure
    # arrivals are printed, not asserted: the in-process sandbox stamps a request when its event
    # loop gets to it, and on a loaded CI machine it stamped 3 within 2 ms of grants 250 ms apart
    assert "429" not in statuses, figure
    assert all(len(r.attempts) == 1 for r in records.values()), "waiting spends no attempt"


def pause_windows(records) -> list[tuple[float, float]]:
    """``(from, to)`` epoch seconds during which a 429 paused the account (Retry-After)."""
    windows = []
    for record in records:
        for a in record.attempts:
            if a.outcome is AttemptOutcome.RATE_LIMITED and a.retry_in_s:
                end = a.started_at.timestamp() + a.duration_ms / 1000
                windows.append((end, end + a.retry_in_s))
    return windows


def test_a_429_pauses_the_account_for_every_worker(
    sandbox, store, producer, start_worker, redis_url
):
    # Given: the sandbox store admits one request, then one per second; we allow 2/s burst 4
    sandbox.admin.update_settings(shoplazza_bucket_size=1, shoplazza_leak_per_s=1.0)
    commands = cancels(sandbox, "shoplazza", "store", "placed", 12)
    start_fleet(start_worker, redis_url)
    # When: 12 cancels go in at once, to 16 worker threads in 4 processes
    ids = [s.command_id for s in producer.submit_many(commands)]
    waited = watch_pauses(store, ids, timeout_s=90)
    records = list(settle_all(store.client, ids, timeout_s=5).values())
    # Then: 429s come back as rate_limited attempts that spend nothing; other commands wait on
    # the pause; the provider sees few 429s
    statuses = sandbox.admin.requests()["shoplazza"]["by_status"]
    limited = [a for r in records for a in r.attempts if a.outcome is AttemptOutcome.RATE_LIMITED]
    inside = calls_inside_pauses(records)
    figure = (
        f"12 cancels, sandbox bucket 1 leaking 1/s, our limit 2/s burst 4: "
        f"{statuses.get('429', 0)} x 429 at the sandbox ({len(limited)} rate_limited attempts), "
        f"{len(waited)} commands parked on a pause, {len(inside)} calls started inside a "
        f"Retry-After pause: {inside[:4]}"
    )
    print(figure)
    assert {r.state for r in records} == {CommandState.SUCCEEDED}, figure
    assert limited, figure
    assert all(a.http_status == 429 and (a.retry_in_s or 0) >= 1 for a in limited), figure
    assert len(waited) >= 2, figure
    assert statuses.get("429", 0) <= MAX_429_PER_COMMAND * len(ids), figure
    assert not inside, figure


def watch_pauses(store, ids: list[str], *, timeout_s: float) -> set[str]:
    """Until every command ends: the ones seen parked on the account's 429 pause."""
    waited: set[str] = set()

    def done() -> bool:
        records = [r for r in read_records(store.client, ids) if r is not None]
        waited.update(r.id for r in records if "paused after a 429" in r.last_message)
        return all(r.terminal for r in records)

    wait_for(done, timeout_s=timeout_s, what="every command to finish")
    return waited


def calls_inside_pauses(records) -> list[tuple[str, int, str]]:
    """Attempts that started while a 429 of an earlier attempt still paused the account."""
    windows = pause_windows(records)
    margin_s = 0.05  # the attempt's start is read a few ms before its gate
    return [
        (r.id[:8], a.number, str(a.outcome))
        for r in records
        for a in r.attempts
        if any(lo + margin_s < a.started_at.timestamp() < hi - margin_s for lo, hi in windows)
    ]


@pytest.mark.timeout(120)
def test_an_outage_opens_the_breaker_parks_commands_and_a_probe_closes_it(
    sandbox, store, settings, producer, start_worker, redis_url
):
    # Given: four workers, then a 3 s outage at FastPOD (503 to every request)
    pod = cancels(sandbox, "fastpod", "pod", "new_order", 32)
    backd = cancels(sandbox, "backd", "acme", "order_placed", 8)
    start_fleet(start_worker, redis_url)
    sandbox.admin.set_faults("fastpod", outage_for_s=OUTAGE_S)
    started = time.monotonic()
    # When: 32 FastPOD cancels (and 8 at Backd) go in at once
    pod_ids = [s.command_id for s in producer.submit_many(pod)]
    backd_ids = [s.command_id for s in producer.submit_many(backd)]
    timeline = watch_breaker(store, settings, pod_ids + backd_ids, started, timeout_s=150)
    # Then: the breaker opened during the outage, commands waited without spending attempts,
    # one probe closed it after the cool-down, and every command completed
    records = settle_all(store.client, pod_ids + backd_ids, timeout_s=5)
    failed = {i: sum(a.http_status == 503 for a in records[i].attempts) for i in pod_ids}
    outage_503s = sandbox.admin.requests()["fastpod"]["by_fault"].get("outage", 0)
    figure = (
        f"32 FastPOD cancels, {OUTAGE_S:g} s outage: {timeline}; 503s at the sandbox "
        f"{outage_503s}; 503 attempts per command max {max(failed.values())} "
        f"(distribution {dict(Counter(failed.values()))}); attempts per command max "
        f"{max(len(r.attempts) for r in records.values())}"
    )
    print(figure)
    states = {r.state for r in records.values()}
    assert states <= {CommandState.SUCCEEDED, CommandState.ALREADY_DONE}, figure
    assert timeline["opened_s"] < OUTAGE_S, figure
    assert timeline["cli_state"] == "open", figure
    assert timeline["backd_done_s"] < timeline["probe_s"], "another account is not held back"
    # times are seen by polling every 0.1 s, so the opening may be noticed a little late
    assert POLICY.cool_down_s - 0.5 <= timeline["probe_s"] - timeline["opened_s"], figure
    assert timeline["closed_s"] - timeline["probe_s"] < 5, figure
    assert max(failed.values()) <= 2, figure  # waiting on the breaker spends nothing
    # each attempt that met the outage passed the gate: at most one in flight per thread when
    # the breaker opened, and the failures that opened it
    let_through = sum(failed.values())
    assert let_through <= WORKERS * THREADS + POLICY.failures, figure
    # the provider saw those attempts, a read among them up to READ_ATTEMPTS times (a 5xx to
    # a mutation is ambiguous: the retry reads the order first, and reads retry in-request)
    assert let_through <= outage_503s <= let_through * READ_ATTEMPTS, figure
    assert timeline["done_s"] - timeline["closed_s"] <= RECOVERY_S, figure


def watch_breaker(
    store, settings, ids: list[str], started: float, *, timeout_s: float
) -> dict[str, Any]:
    """Poll the FastPOD breaker (``status --providers``) until every command ends.

    Returns:
        Seconds from ``started`` to the breaker first seen open, half-open with its probe, and
        closed again; the state ``ordercmd status --providers --json`` showed once open; the
        time the Backd commands were done, and the highest ``opened`` count seen.
    """
    flow = FlowControl(store.client)
    seen: dict[str, Any] = {}

    def done() -> bool:
        now = round(time.monotonic() - started, 1)
        pod = next(r for r in read_provider_status(settings, flow) if r.account == "pod")
        state = str(pod.breaker.state)
        if state == "open" and "opened_s" not in seen:
            seen.update(opened_s=now, cli_state=cli_breaker_state("pod"))
        if state == "half-open" and "probe_s" not in seen:
            seen["probe_s"] = now
        if state == "closed" and "opened_s" in seen and "closed_s" not in seen:
            seen.setdefault("probe_s", now)  # the probe may come and go between two polls
            seen["closed_s"] = now
        seen["opened"] = max(seen.get("opened", 0), pod.breaker.opened)
        records = read_records(store.client, ids)
        if "backd_done_s" not in seen and all(
            r and r.terminal for r in records if r and r.envelope.command.provider == "backd"
        ):
            seen["backd_done_s"] = now
        seen["done_s"] = now
        return all(r is not None and r.terminal for r in records)

    wait_for(done, timeout_s=timeout_s, what="every command to finish")
    return seen


def cli_breaker_state(account: str) -> str:
    """The breaker state of ``account`` as ``ordercmd status --providers --json`` prints it."""
    result = CliRunner().invoke(cli, ["status", "--providers", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["account"]: row for row in json.loads(result.stdout)}
    return str(rows[account]["breaker"]["state"])
