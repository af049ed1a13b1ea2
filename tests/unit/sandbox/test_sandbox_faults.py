"""Sandbox fault pipeline in-process: injected errors, latency, outages, bad replies, replays."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from sandbox import FaultSettings, SandboxConfig, SandboxState, create_app
from sandbox.faults import FaultPlan
from sandbox.testing import FakeClock, backd_headers, fastpod_headers, shoplazza_headers

AUTH = backd_headers()
CANCEL = {"backd_order_id": "BO-000001"}
FIND = "/backd/find_order/BO-000001"


def make_client(clock: FakeClock | None = None, **config) -> TestClient:
    state = SandboxState(SandboxConfig(**config), clock=clock or FakeClock())
    return TestClient(create_app(state=state))


@pytest.fixture
def client() -> TestClient:
    return make_client()


def set_faults(client: TestClient, **settings) -> None:
    response = client.post("/_admin/faults", json=settings)
    assert response.status_code == 200, response.text


def cancel(client: TestClient, key: str | None = None, headers: dict[str, str] | None = None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/backd/cancel_order", headers=(headers or AUTH) | extra, json=CANCEL)


def mutation_count(client: TestClient) -> Any:
    return client.get("/_admin/mutations").json()["count"]


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        (FIND, AUTH, {"data": None, "message": "Internal Server Error"}),
        ("/shoplazza/s/openapi/2022-01/orders/1001-00000001", shoplazza_headers(), {"errors": []}),
        ("/fastpod/v1/orders/F237-000001", fastpod_headers(), {"status": False}),
    ],
)
def test_error_rate_one_fails_every_request_in_the_provider_shape(client, path, headers, body):
    set_faults(client, error_rates={"500": 1.0})

    response = client.get(path, headers=headers)

    assert response.status_code == 500
    assert set(body) <= set(response.json())


def test_injected_errors_apply_nothing_and_are_counted(client):
    set_faults(client, provider="backd", error_rates={"503": 1.0})

    response = cancel(client)

    assert (response.status_code, response.headers["retry-after"]) == (503, "1")
    assert mutation_count(client) == 0
    counts = client.get("/_admin/requests").json()["backd"]
    assert counts == {"total": 1, "by_status": {"503": 1}, "by_fault": {"error_503": 1}}


def test_injected_422_says_locked(client):
    set_faults(client, provider="backd", error_rates={"422": 1.0})

    assert "locked" in cancel(client).json()["message"]


def test_script_runs_before_the_rates_and_only_for_its_provider(client):
    set_faults(client, provider="backd", script=["503", "ok", "502"])

    statuses = [client.get(FIND, headers=AUTH).status_code for _ in range(4)]
    fastpod = client.get("/fastpod/v1/orders/F237-000001", headers=fastpod_headers())

    assert statuses == [503, 200, 502, 200]
    assert fastpod.status_code == 200


def test_mutations_scope_leaves_reads_alone(client):
    set_faults(client, error_rates={"500": 1.0}, scope="mutations")

    assert client.get(FIND, headers=AUTH).status_code == 200
    assert cancel(client).status_code == 500


def test_seeded_rates_replay_identically():
    def statuses(seed: int) -> list[int]:
        client = make_client(seed=seed, faults={"backd": FaultSettings(error_rates={500: 0.5})})
        return [client.get(FIND, headers=AUTH).status_code for _ in range(20)]

    assert statuses(7) == statuses(7)
    assert {200, 500} == set(statuses(7))
    assert statuses(7) != statuses(8)


def test_latency_is_fixed_plus_seeded_jitter(client):
    plan = FaultPlan(FaultSettings(latency_ms=100, jitter_ms=50), random.Random(1))
    again = FaultPlan(FaultSettings(latency_ms=100, jitter_ms=50), random.Random(1))
    delays = [plan.delay_s() for _ in range(5)]
    set_faults(client, latency_ms=120)

    started = time.monotonic()
    client.get(FIND, headers=AUTH)

    assert time.monotonic() - started >= 0.12
    assert delays == [again.delay_s() for _ in range(5)]
    assert all(0.1 <= d <= 0.15 for d in delays)


def test_outage_answers_503_until_it_ends():
    clock = FakeClock()
    client = make_client(clock)
    set_faults(client, provider="fastpod", outage_for_s=30)

    during = client.get("/fastpod/v1/orders/F237-000001", headers=fastpod_headers())
    other = client.get(FIND, headers=AUTH)
    clock.advance(31)
    after = client.get("/fastpod/v1/orders/F237-000001", headers=fastpod_headers())

    assert (during.status_code, during.headers["retry-after"]) == (503, "30")
    assert other.status_code == 200
    assert after.status_code == 200


def test_timeout_holds_then_applies(client):
    set_faults(client, provider="backd", script=["timeout"], timeout_hold_s=0.2)

    started = time.monotonic()
    response = cancel(client)

    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200
    assert mutation_count(client) == 1


def test_html_gateway_page_applies_nothing(client):
    set_faults(client, provider="backd", bad_response_rates={"html": 1.0})

    response = cancel(client)

    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text
    assert mutation_count(client) == 0


def test_truncated_json_is_applied_but_unparseable(client):
    set_faults(client, provider="backd", bad_response_rates={"truncated_json": 1.0})

    response = cancel(client)

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert mutation_count(client) == 1


def test_wrong_content_type_keeps_the_json_body(client):
    set_faults(client, provider="backd", bad_response_rates={"wrong_content_type": 1.0})

    response = client.get(FIND, headers=AUTH)

    assert response.headers["content-type"].startswith("text/html")
    assert response.json()["error"] is False


def test_huge_body_is_valid_but_huge(client):
    set_faults(client, provider="backd", bad_response_rates={"huge": 1.0}, huge_body_bytes=200_000)

    response = client.get(FIND, headers=AUTH)

    assert len(response.content) > 200_000
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.json()["data"]["backd_order_id"] == "BO-000001"


@pytest.mark.parametrize(
    "settings",
    [
        {"error_rates": {"500": 0.7}, "reply_lost_rate": 0.5},
        {"error_rates": {"200": 0.1}},
        {"script": ["explode"]},
        {"bogus": 1},
    ],
)
def test_bad_fault_settings_are_refused(client, settings):
    assert client.post("/_admin/faults", json=settings).status_code == 400
    with pytest.raises(ValidationError):
        FaultSettings.model_validate(settings)


def test_idempotency_key_replays_without_applying_again(client):
    first = cancel(client, key="k-1")
    replay = cancel(client, key="k-1")

    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    [logged] = client.get("/_admin/mutations").json()["mutations"]
    assert logged["idempotency_key"] == "k-1"
    assert client.get("/_admin/requests").json()["backd"]["by_fault"]["replayed"] == 1


def test_a_new_key_or_no_key_is_a_new_request(client):
    cancel(client, key="k-1")

    fresh = cancel(client, key="k-2")

    assert fresh.json()["error"] is True  # already cancelled: refused, not applied
    assert mutation_count(client) == 1


def test_refusals_are_not_stored_for_replay(client):
    assert (
        client.post("/backd/refund", headers=AUTH | {"Idempotency-Key": "r"}, json={}).status_code
        == 400
    )
    body = {"backd_order_id": "BO-000002", "merchant_order_id": "MO-000002", "refund_amount": 5}

    retried = client.post("/backd/refund", headers=AUTH | {"Idempotency-Key": "r"}, json=body)

    assert retried.json()["error"] is False
    assert mutation_count(client) == 1


def test_keys_do_not_replay_across_accounts():
    client = make_client(backd_keys={"pk_a": "sk_a", "pk_b": "sk_b"})
    cancel(client, key="same", headers=backd_headers("pk_a", "sk_a"))

    other = cancel(client, key="same", headers=backd_headers("pk_b", "sk_b"))

    assert "idempotent-replayed" not in other.headers
    assert other.json()["error"] is True
