"""``GET /v1/commands/{id}?wait=``: a long poll woken by the outcome stream, on a real Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis
from starlette.testclient import TestClient

from schemas import CommandState, DeadReason
from store.command_store import Claim, CommandStore, StoreLimits
from tests.factories import make_envelope
from tests.unit.web.test_intake import AUTH, make_settings
from web import create_app
from web.waiting import Waiters, waiters_of


@pytest.fixture
def real_store(redis_client: redis.Redis) -> CommandStore:
    return CommandStore(
        redis_client, StoreLimits(retention_s=3600, guard_ms=60_000, lease_ms=30_000)
    )


@pytest.fixture
def client(real_store: CommandStore) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(), real_store, lambda ids: None)) as test_client:
        yield test_client


def running(store: CommandStore, key: str = "k-1", order_id: str = "BO-1") -> Claim:
    claim = store.claim(store.admit(make_envelope(key, order_id=order_id)).command_id)
    assert isinstance(claim, Claim)
    return claim


def test_a_wait_answers_when_the_command_dies(client, real_store):
    claim = running(real_store)
    later = threading.Timer(
        0.3, real_store.finish, (claim, CommandState.DEAD, None), {"reason": DeadReason.AUTH}
    )
    later.start()
    started = time.monotonic()
    response = client.get(f"/v1/commands/{claim.command_id}?wait=20", headers=AUTH)
    elapsed = time.monotonic() - started
    later.join()
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["dead_reason"]) == ("dead", "auth")
    assert 0.25 < elapsed < 3


def test_a_wait_times_out_with_the_state_as_it_is(client, real_store):
    claim = running(real_store)
    started = time.monotonic()
    response = client.get(f"/v1/commands/{claim.command_id}?wait=0.4", headers=AUTH)
    assert response.json()["state"] == "running"
    assert 0.35 < time.monotonic() - started < 3
    assert waiters_of(client.app, real_store.client).waiting == 0


def test_a_finished_command_answers_at_once_and_an_unknown_one_is_404(client, real_store):
    claim = running(real_store)
    real_store.finish(claim, CommandState.SUCCEEDED, None)
    started = time.monotonic()
    assert client.get(f"/v1/commands/{claim.command_id}?wait=20", headers=AUTH).json()["state"] == (
        "succeeded"
    )
    assert time.monotonic() - started < 1
    assert client.get("/v1/commands/nope?wait=1", headers=AUTH).status_code == 404
    assert client.get("/v1/commands/nope?wait=-1", headers=AUTH).status_code == 422


def test_past_the_waiter_limit_a_request_is_answered_at_once(client, real_store):
    client.app.state.outcome_waiters = Waiters(real_store.client, max_waiters=0)
    claim = running(real_store)
    started = time.monotonic()
    assert client.get(f"/v1/commands/{claim.command_id}?wait=20", headers=AUTH).json()["state"] == (
        "running"
    )
    assert time.monotonic() - started < 1


def test_many_waiters_are_woken_by_one_reader(client, real_store):
    claims = [running(real_store, f"k-{n}", f"BO-{n}") for n in range(8)]
    answers: dict[str, str] = {}

    def poll(command_id: str) -> None:
        answers[command_id] = client.get(f"/v1/commands/{command_id}?wait=20", headers=AUTH).json()[
            "state"
        ]

    threads = [threading.Thread(target=poll, args=(c.command_id,)) for c in claims]
    for thread in threads:
        thread.start()
    waiters = waiters_of(client.app, real_store.client)
    deadline = time.monotonic() + 5
    while waiters.waiting < len(claims) and time.monotonic() < deadline:
        time.sleep(0.01)
    for claim in claims:
        real_store.finish(claim, CommandState.SUCCEEDED, None)
    for thread in threads:
        thread.join(10)
    assert answers == {c.command_id: "succeeded" for c in claims}
    assert waiters.waiting == 0
