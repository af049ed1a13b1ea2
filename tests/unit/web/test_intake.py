"""The HTTP intake through Starlette's TestClient on a fakeredis store: every answer it gives."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from config.settings import Settings
from config.web import ProducerKey, WebSettings, stored_form
from store import keys
from store.command_store import CommandStore
from web import create_app
from web.credentials import KeyRefused, authenticate

KEY = "oc_5e1f0c9a8b7d6e4f_test-shop-events-0123456789"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # tests only
LIMIT = 4096
AUTH = {"Authorization": f"Bearer {KEY}"}


def make_settings(**web: Any) -> Settings:
    return Settings(
        accounts={
            "acme": {
                "provider": "backd",
                "base_url": "http://b.invalid",
                "public_key": "pk",
                "secret_key": "sk_live_SECRET",
            },
            "store": {
                "provider": "shoplazza",
                "base_url": "http://s.invalid",
                "access_token": "shp_SECRET",
            },
        },
        web={
            "producers": {"shop-events": {"key_hash": stored_form(KEY, FAST_HASHER.hash(KEY))}},
            "max_body_bytes": LIMIT,
            "session_secret": "s" * 32,
            **web,
        },
    )


@pytest.fixture
def client(store: CommandStore, published: list[str]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(), store, published.extend)) as test_client:
        yield test_client


def cancel(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "cancel",
        "provider": "backd",
        "account": "acme",
        "order_id": "BO-1",
    } | overrides


def errors(response) -> list[tuple[str, str]]:
    return [(e["field"], e["reason"]) for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "send an API key: Authorization: Bearer <key>, or X-API-Key"),
        ({"Authorization": "Bearer nope"}, "unknown API key"),
        ({"X-API-Key": "nope"}, "unknown API key"),
        (
            {"Authorization": f"Basic {KEY}"},
            "send an API key: Authorization: Bearer <key>, or X-API-Key",
        ),
    ],
)
def test_without_a_valid_key_the_answer_is_401_and_nothing_is_admitted(
    client, store, headers, reason
):
    response = client.post("/v1/commands", json=cancel(), headers=headers)
    assert (response.status_code, errors(response)) == (401, [("authorization", reason)])
    assert response.headers["www-authenticate"] == "Bearer"
    assert store.client.keys(keys.command("*")) == []


def test_a_new_command_is_202_with_its_status_url_and_either_header_works(client, published):
    response = client.post("/v1/commands", json=cancel(), headers={"X-API-Key": KEY})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "new"
    assert body["status_url"] == f"/v1/commands/{body['command_id']}"
    assert body["idempotency_key"].startswith("content:")
    assert published == [body["command_id"]]
    status = client.get(body["status_url"], headers=AUTH)
    assert status.status_code == 200
    assert status.json() | {"submitted_at": 0, "created_at": 0, "updated_at": 0} == {
        "command_id": body["command_id"],
        "state": "queued",
        "idempotency_key": body["idempotency_key"],
        "source": "http",
        "batch_id": None,
        "command": cancel(),
        "submitted_at": 0,
        "created_at": 0,
        "updated_at": 0,
        "next_attempt_at": None,
        "dead_reason": None,
        "waiting_for": None,
        "waiting_until": None,
        "backlog_place": None,
        "last_message": "",
        "attempts": [],
    }
    assert "SECRET" not in status.text


def test_the_same_key_and_content_is_200_and_other_content_is_409(client, published):
    first = client.post("/v1/commands", json=cancel(), headers=AUTH | {"Idempotency-Key": "e-1"})
    again = client.post("/v1/commands", json=cancel(idempotency_key="e-1"), headers=AUTH)
    other = client.post(
        "/v1/commands", json=cancel(reason="x"), headers=AUTH | {"Idempotency-Key": "e-1"}
    )
    command_id = first.json()["command_id"]
    assert (first.status_code, again.status_code, other.status_code) == (202, 200, 409)
    assert again.json() == first.json() | {"status": "existing"}
    assert other.json() == {
        "errors": [
            {"field": "idempotency_key", "reason": "'e-1' was used before for a different command"}
        ],
        "command_id": command_id,
    }
    assert published == [command_id]


def test_a_header_key_and_another_body_key_are_refused(client):
    response = client.post(
        "/v1/commands", json=cancel(idempotency_key="a"), headers=AUTH | {"Idempotency-Key": "b"}
    )
    assert response.status_code == 422
    assert errors(response) == [
        ("idempotency_key", "differs from the Idempotency-Key header; send one")
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (cancel(account="nobody"), [("account", "'nobody' is not configured (acme, store)")]),
        (
            cancel(kind="refund", amount="1.234", order_id=""),
            [
                ("order_id", "String should have at least 1 character"),
                ("amount", "Decimal input should have no more than 2 decimal places"),
            ],
        ),
        ({"provider": "backd"}, [("kind", "Unable to extract tag using discriminator 'kind'")]),
        (
            cancel(kind="update", changes={"note": 1}),
            [("changes.note", "Extra inputs are not permitted")],
        ),
        (
            cancel(idempotency_key="has space"),
            [("idempotency_key", "String should match pattern '^[\\x21-\\x7e]+$'")],
        ),
        ([1, 2], [("body", "Input should be a valid dictionary or object to extract fields from")]),
    ],
)
def test_field_errors_are_422_naming_each_field(client, store, body, expected):
    response = client.post("/v1/commands", json=body, headers=AUTH)
    assert response.status_code == 422
    assert errors(response)[: len(expected)] == expected
    assert store.client.keys(keys.command("*")) == []


def test_a_body_that_is_not_json_is_422(client):
    response = client.post(
        "/v1/commands", content=b"{nope", headers=AUTH | {"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert errors(response)[0][0] == "body"


def test_a_body_over_the_limit_is_413_by_declared_or_streamed_size(client, store):
    big = b'{"kind": "cancel", "reason": "' + b"x" * LIMIT + b'"}'
    declared = client.post("/v1/commands", content=big, headers=AUTH)
    streamed = client.post("/v1/commands", content=iter([big[:100], big[100:]]), headers=AUTH)
    for response in (declared, streamed):
        assert response.status_code == 413
        assert errors(response) == [("body", f"larger than the limit of {LIMIT} bytes")]
    assert "content-length" not in streamed.request.headers
    assert store.client.keys(keys.command("*")) == []


def test_a_batch_is_admitted_whole_with_one_result_per_item(client, published):
    first = client.post("/v1/commands", json=cancel(), headers=AUTH).json()
    items = [cancel(), cancel(order_id="BO-2", idempotency_key="k2")]
    response = client.post("/v1/commands:batch", json={"commands": items}, headers=AUTH)
    assert response.status_code == 202
    results = response.json()["results"]
    assert [(r["index"], r["status"], r["idempotency_key"]) for r in results] == [
        (0, "existing", first["idempotency_key"]),
        (1, "new", "k2"),
    ]
    assert results[0]["command_id"] == first["command_id"]
    again = client.post("/v1/commands:batch", json={"commands": items}, headers=AUTH)
    assert again.status_code == 200
    assert len(published) == 2


def test_one_invalid_item_refuses_the_whole_batch_with_indexed_errors(client, store):
    items = [cancel(), cancel(kind="refund", amount="x"), cancel(order_id="BO-3")]
    response = client.post("/v1/commands:batch", json={"commands": items}, headers=AUTH)
    assert (response.status_code, errors(response)) == (
        422,
        [("commands[1].amount", "Input should be a valid decimal")],
    )
    items = [
        cancel(account="nobody"),
        cancel(idempotency_key="k"),
        cancel(reason="r", idempotency_key="k"),
    ]
    response = client.post("/v1/commands:batch", json={"commands": items}, headers=AUTH)
    assert (response.status_code, errors(response)) == (
        422,
        [
            ("commands[0].account", "'nobody' is not configured (acme, store)"),
            ("commands[2].idempotency_key", "the same key as commands[1] with other content"),
        ],
    )
    assert store.client.keys(keys.command("*")) == []


def test_an_unknown_command_is_404_and_a_malformed_id_422(client):
    assert client.get("/v1/commands/0123abc", headers=AUTH).status_code == 404
    assert client.get("/v1/commands/a%20b", headers=AUTH).status_code == 422
    assert client.get("/v1/commands/0123abc").status_code == 401


def test_the_openapi_document_describes_the_intake_with_its_models(client):
    spec = client.get("/openapi.json", headers=AUTH).json()
    post = spec["paths"]["/v1/commands"]["post"]
    refs = {
        code: r["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        for code, r in post["responses"].items()
    }
    assert refs == {
        "202": "Accepted",
        "200": "Accepted",
        "409": "Conflict",
        "401": "Errors",
        "413": "Errors",
        "422": "Errors",
        "503": "Unavailable",
    }
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert {s["$ref"].split("/")[-1] for s in body["oneOf"]} == {
        "CancelBody",
        "UpdateBody",
        "RefundBody",
    }
    assert {"ProducerBearer", "ProducerApiKey"} <= set(spec["components"]["securitySchemes"])
    batch = spec["paths"]["/v1/commands:batch"]["post"]["responses"]
    assert batch["202"]["content"]["application/json"]["schema"]["$ref"].endswith("BatchAccepted")
    status = spec["paths"]["/v1/commands/{command_id}"]["get"]["responses"]["200"]
    assert status["content"]["application/json"]["schema"]["$ref"].endswith("CommandView")


def test_a_verified_key_is_remembered_so_the_next_requests_skip_argon2():
    key = "oc_1234567890abcdef_slow-key-0123456789"
    hashed = PasswordHasher().hash(key)  # the default cost, tens of milliseconds
    web = WebSettings(producers={"shop": ProducerKey(key_hash=stored_form(key, hashed))})
    client = fakeredis.FakeRedis(decode_responses=True)
    started = time.perf_counter()
    assert authenticate(client, web, key, "10.0.0.1", {"producer"}).name == "shop"
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(100):
        assert authenticate(client, web, key, "10.0.0.1", {"producer"}).name == "shop"
    hundred_s = time.perf_counter() - started
    assert hundred_s < first_s, (
        f"100 cached checks took {hundred_s:.4f} s, one argon2 {first_s:.4f} s"
    )
    with pytest.raises(KeyRefused):
        authenticate(client, web, "oc_1234567890abcdef_other-key-0123456789", "10.0.0.1",
                     {"producer"})  # fmt: skip


def test_a_commands_status_shows_what_each_read_showed(client, store):
    from schemas import CommandState, DeadReason
    from store.command_store import Claim
    from tests.factories import make_envelope, make_read_attempt

    command_id = store.admit(make_envelope("read")).command_id
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.DEAD, make_read_attempt(), reason=DeadReason.REJECTED)
    view = client.get(f"/v1/commands/{command_id}", headers=AUTH).json()
    assert view["attempts"][0]["read"]["showed"] == "impossible"
