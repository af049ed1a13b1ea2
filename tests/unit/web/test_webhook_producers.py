"""Webhooks per producer: each gets only its own commands' outcomes and manages its own.

The intake records who submitted a command; producers subscribe, rotate and remove by API key.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from config.web import stored_form
from config.webhooks import WebhookPolicy
from schemas import CommandState
from store import keys
from store.command_store import Claim, CommandStore
from store.outcomes import Outcomes
from store.records import read_record
from store.webhooks.subscriptions import Subscriptions
from tests.unit.web.test_intake import FAST_HASHER, KEY, cancel, errors, make_settings
from tests.unit.web.test_web_app import TOKENS, bearer, stored
from tests.webhook_receiver import Receiver
from web import create_app
from worker.webhooks import Sender, delivery_client

OTHER_KEY = "oc_0be4e4e4e4e4e4e4_test-other-shop-0123456789"
SHOP = {"Authorization": f"Bearer {KEY}"}
OTHER = {"Authorization": f"Bearer {OTHER_KEY}"}
HOOK = "https://hooks.example.com/ordercmd"


def settings() -> Any:
    return make_settings(
        producers={name: {"key_hash": stored_form(key, FAST_HASHER.hash(key))}
                   for name, key in (("shop-events", KEY), ("other-shop", OTHER_KEY))},
        operators={"alice": {"role": "operator", "token_hash": stored(TOKENS["alice"])}},
    )  # fmt: skip


@pytest.fixture
def client(store: CommandStore, published: list[str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), store, published.extend)) as test_client:
        yield test_client


def submit_and_finish(client: TestClient, store: CommandStore, headers: dict, order: str) -> str:
    reply = client.post("/v1/commands", json=cancel(order_id=order), headers=headers)
    assert reply.status_code == 202, reply.text
    claim = store.claim(reply.json()["command_id"])
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.SUCCEEDED, None, message="ok")
    return claim.command_id


def test_the_intake_records_the_producer_and_its_outcomes_name_it(client, store):
    command_id = submit_and_finish(client, store, SHOP, "BO-1")
    record = read_record(store.client, command_id)
    assert record is not None
    assert record.envelope.producer == "shop-events"
    [event] = Outcomes(store.client).of_command(command_id)
    assert event.producer == "shop-events"
    assert event.as_dict()["producer"] == "shop-events"


def test_a_producers_subscription_gets_only_its_own_commands(client, store):
    receiver = Receiver().start()
    try:
        mine = client.post("/v1/webhooks", json={"url": receiver.url, "events": ["succeeded"]},
                           headers=SHOP)  # fmt: skip
        assert mine.status_code == 201, mine.text
        assert mine.json()["producer"] == "shop-events"
        everyone = client.post("/api/webhooks", json={"url": receiver.url + "/all",
                               "events": ["succeeded"]}, headers=bearer())  # fmt: skip
        own = submit_and_finish(client, store, SHOP, "BO-1")
        submit_and_finish(client, store, OTHER, "BO-2")
        policy = WebhookPolicy(base_s=0.001, cap_s=0.002)
        subs = Subscriptions(store.client, settings())
        with delivery_client() as http:
            sender = Sender(store.client, http, policy, rng=random.Random(1), sleep=lambda s: 0)
            for sub_id in (mine.json()["id"], everyone.json()["id"]):
                while sender.deliver(subs.get(sub_id)) == "more":
                    pass
        got = [(r.path, json.loads(r.body)["data"]["command_id"]) for r in receiver.requests]
    finally:
        receiver.stop()
    assert [c for p, c in got if not p.endswith("/all")] == [own]
    assert len([c for p, c in got if p.endswith("/all")]) == 2


def test_a_producer_sees_and_changes_only_its_own_subscriptions(client, store):
    sub_id = client.post("/v1/webhooks", json={"url": HOOK, "events": ["dead"]},
                         headers=SHOP).json()["id"]  # fmt: skip
    assert [s["id"] for s in client.get("/v1/webhooks", headers=SHOP).json()] == [sub_id]
    assert client.get("/v1/webhooks", headers=OTHER).json() == []
    for path, body in [("rotate", {}), ("disable", {"why": "x"}), ("enable", None),
                       ("remove", None)]:  # fmt: skip
        refused = client.post(f"/v1/webhooks/{sub_id}/{path}", json=body, headers=OTHER)
        assert refused.status_code == 404, path
        assert errors(refused)[0][0] == "subscription_id"
    rotated = client.post(f"/v1/webhooks/{sub_id}/rotate", json={"overlap_s": 5}, headers=SHOP)
    assert rotated.json()["secret"].startswith("whsec_")
    assert client.post(f"/v1/webhooks/{sub_id}/remove", headers=SHOP).json()["removed"] is True
    # operators see every producer's, and the audit names the producer that acted
    actors = [e["actor"] for _, e in store.client.xrange(keys.audit())]
    assert actors == ["producer:shop-events"] * 3


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"url": f"{HOOK}?token=abc", "events": ["dead"]}, "url", "may not carry a secret"),
        ({"url": "https://u:p@hooks.example.com/", "events": ["dead"]}, "url", "credentials"),
        ({"url": "http://hooks.example.com/", "events": ["dead"]}, "url", "loopback"),
        ({"url": HOOK, "events": ["boom"]}, "events[0]", ""),
        ({"url": HOOK, "events": []}, "events", ""),
        ({"url": HOOK, "events": ["dead"], "producer": "other-shop"}, "producer", ""),
    ],
)
def test_bad_subscriptions_are_422_naming_the_field(client, body, field, reason):
    refused = client.post("/v1/webhooks", json=body, headers=SHOP)
    assert refused.status_code == 422, refused.text
    [(named, why)] = errors(refused)
    assert named == field
    assert reason in why


def test_without_a_key_the_producer_api_is_401(client):
    assert client.get("/v1/webhooks").status_code == 401
    assert client.post("/v1/webhooks", json={"url": HOOK, "events": ["dead"]}).status_code == 401


def test_an_operator_names_the_producer_and_a_bad_name_is_refused(client):
    made = client.post("/api/webhooks", json={"url": HOOK, "events": ["dead"],
                       "producer": "shop-events"}, headers=bearer())  # fmt: skip
    assert made.json()["producer"] == "shop-events"
    assert [s["id"] for s in client.get("/v1/webhooks", headers=SHOP).json()] == [made.json()["id"]]
    bad = client.post("/api/webhooks", json={"url": HOOK, "events": ["dead"],
                      "producer": "no spaces"}, headers=bearer())  # fmt: skip
    assert bad.status_code == 422
