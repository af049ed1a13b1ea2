"""API tokens and producer keys carry a key id: at most one argon2 per request, failures capped."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient
from structlog.testing import capture_logs

from config.web import KeyLimits, ProducerKey, WebSettings
from tests.unit.web.test_web_app import FAST, TOKENS, stored, web_settings
from web import create_app, credentials

ALICE_ID = TOKENS["alice"].split("_")[1]
PRODUCER_KEY = "oc_feedfacecafebeef_producer-key-0123456789"


@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """The argon2 verifications the credentials module asks for (by hash)."""
    seen: list[str] = []
    real = credentials.verify

    def counting(hashed, secret):
        seen.append(hashed)
        return real(hashed, secret)

    monkeypatch.setattr(credentials, "verify", counting)
    credentials._verified.clear()
    return seen


@pytest.fixture
def client(store, published) -> TestClient:
    limits = KeyLimits(failures_per_address=50, failures_per_key_id=3, window_s=300)
    base = web_settings()
    web = base.web.model_copy(
        update={"keys": limits, "producers": {"shop": ProducerKey(key_hash=stored(PRODUCER_KEY))}}
    )
    return TestClient(create_app(base.model_copy(update={"web": web}), store, published),
                      follow_redirects=False)  # fmt: skip


def api(client: TestClient, token: str):
    return client.get("/api/dead-letters", headers={"Authorization": f"Bearer {token}"})


def test_unknown_and_malformed_keys_cost_no_hash_work(client, hashes):
    bogus = ["oc_0123456789abcdef_made-up-0123456789", "token-alice-0123456789",
             "oc_XYZ_short", "Bearer", "x" * 300, PRODUCER_KEY]  # fmt: skip
    for token in bogus:
        assert api(client, token).status_code == 401, token
    assert hashes == [], "a producer's key is unknown to /api, and nothing else matches"


def test_a_key_costs_one_verification_then_none(client, hashes):
    for _ in range(5):
        assert api(client, TOKENS["alice"]).status_code == 200
    assert len(hashes) == 1
    answer = client.post("/v1/commands", json={}, headers={"X-API-Key": PRODUCER_KEY})
    assert answer.status_code == 422, "the producer's key is good; its body is not"
    assert len(hashes) == 2


def test_wrong_secrets_for_a_key_id_stop_being_verified_past_the_limit(client, hashes):
    wrong = f"oc_{ALICE_ID}_wrong-secret-0123456789"
    with capture_logs() as logs:
        answers = [api(client, wrong).status_code for _ in range(6)]
    assert answers == [401, 401, 401, 429, 429, 429]
    assert len(hashes) == 3, "one argon2 each, then none"
    refused = [entry for entry in logs if entry["event"] == "key_refused"]
    assert len(refused) == 6
    assert {entry["key_id"] for entry in refused} == {ALICE_ID}
    assert "wrong-secret" not in repr(logs), "no secret in the log"


def test_a_key_verified_before_the_flood_still_works(client, hashes):
    assert api(client, TOKENS["alice"]).status_code == 200
    for _ in range(5):
        api(client, f"oc_{ALICE_ID}_wrong-secret-0123456789")
    assert api(client, TOKENS["alice"]).status_code == 200


def test_an_address_past_its_limit_is_refused_without_verification(store, published, hashes):
    limits = KeyLimits(failures_per_address=4, failures_per_key_id=100, window_s=300)
    web = web_settings().web.model_copy(update={"keys": limits})
    client = TestClient(create_app(web_settings().model_copy(update={"web": web}), store,
                                   published))  # fmt: skip
    answers = [api(client, f"oc_{i:016x}_made-up-0123456789").status_code for i in range(6)]
    assert answers == [401, 401, 401, 401, 429, 429]
    assert api(client, f"oc_{ALICE_ID}_wrong-secret-0123456789").status_code == 429
    assert hashes == []


def test_keys_without_a_key_id_are_refused_at_startup_with_the_way_out():
    with pytest.raises(ValidationError, match="hash-secret --generate"):
        WebSettings(producers={"shop": ProducerKey(key_hash=FAST.hash("old-style-key"))})


def test_two_keys_with_one_key_id_are_refused():
    twin = PRODUCER_KEY.replace("producer", "another")
    with pytest.raises(ValidationError, match="share a key id"):
        WebSettings(producers={"a": ProducerKey(key_hash=stored(PRODUCER_KEY)),
                               "b": ProducerKey(key_hash=stored(twin))})  # fmt: skip
