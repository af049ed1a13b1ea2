"""The operator API for webhooks: viewers read, operators act, every change audited.

Subscribe (the secret shown once), bad URLs refused, rotate, disable and enable, list and
replay dead deliveries.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from schemas import CommandState
from store import keys
from store.command_store import Claim, CommandStore
from store.outcomes import Outcomes
from store.webhooks.deliveries import DeadDelivery, Deliveries
from store.webhooks.gaps import Gaps
from tests.factories import make_envelope
from tests.unit.web.test_web_app import bearer, sign_in, web_settings
from web import create_app

HOOK = "https://hooks.example.com/ordercmd"


@pytest.fixture
def client(store: CommandStore) -> TestClient:
    return TestClient(create_app(web_settings(), store, lambda ids: None), follow_redirects=False)


def test_subscribe_shows_the_secret_once_and_refuses_bad_urls(client):
    made = client.post("/api/webhooks", json={"url": HOOK, "events": ["dead"]}, headers=bearer())
    assert made.status_code == 201, made.text
    assert made.json()["secret"].startswith("whsec_")
    listed = client.get("/api/webhooks", headers=bearer("vic"))
    assert made.json()["secret"] not in listed.text
    assert [s["id"] for s in listed.json()] == [made.json()["id"]]
    for url in ("https://u:p@hooks.example.com/x", f"{HOOK}?token=abc", "http://hooks.example.com"):
        refused = client.post(
            "/api/webhooks", json={"url": url, "events": ["dead"]}, headers=bearer()
        )
        assert refused.status_code == 422, url
    bad_kind = client.post(
        "/api/webhooks", json={"url": HOOK, "events": ["boom"]}, headers=bearer()
    )
    assert bad_kind.status_code == 422
    assert client.post("/api/webhooks", json={"url": HOOK, "events": ["dead"]},
                       headers=bearer("vic")).status_code == 403  # fmt: skip


def test_rotate_disable_enable_and_remove_are_audited(client):
    sub_id = client.post("/api/webhooks", json={"url": HOOK, "events": ["dead"]},
                         headers=bearer()).json()["id"]  # fmt: skip
    rotated = client.post(
        f"/api/webhooks/{sub_id}/rotate", json={"overlap_s": 60}, headers=bearer()
    )
    assert rotated.json()["secret"].startswith("whsec_")
    assert client.get("/api/webhooks", headers=bearer()).json()[0]["secrets_signing"] == 2
    client.post(f"/api/webhooks/{sub_id}/disable", json={"why": "receiver moved"}, headers=bearer())
    assert client.get("/api/webhooks", headers=bearer()).json()[0]["state"]["disabled"] == "1"
    assert client.post(f"/api/webhooks/{sub_id}/enable", headers=bearer()).json()["replayed"] == 0
    assert "disabled" not in client.get("/api/webhooks", headers=bearer()).json()[0]["state"]
    assert client.post(f"/api/webhooks/{sub_id}/remove", headers=bearer()).status_code == 200
    assert client.post(f"/api/webhooks/{sub_id}/remove", headers=bearer()).status_code == 404
    audit = client.get("/api/audit", headers=bearer()).json()["items"]
    assert [e["action"] for e in reversed(audit)] == [
        "webhook_add", "webhook_rotate", "webhook_disable", "webhook_enable", "webhook_remove"
    ]  # fmt: skip


def test_dead_deliveries_are_listed_and_replayed_once(client, store):
    sub_id = client.post("/api/webhooks", json={"url": HOOK, "events": ["succeeded"]},
                         headers=bearer()).json()["id"]  # fmt: skip
    claim = store.claim(store.admit(make_envelope("k")).command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.SUCCEEDED, None)
    [event] = Outcomes(store.client).read("0-0")
    dead = DeadDelivery(sub_id, event, 8, "HTTP 503", 1)
    store.client.zadd(keys.webhook_dead_letters(), {dead.member: 1})
    store.client.hset(keys.webhook_dead_letter_bodies(), dead.member, dead.body())
    listed = client.get("/api/webhooks/dead", params={"event": "succeeded"}, headers=bearer("vic"))
    assert [d["event"]["command_id"] for d in listed.json()] == [claim.command_id]
    dry = client.post("/api/webhooks/dead/replay", json={"command_id": claim.command_id},
                      headers=bearer())  # fmt: skip
    assert dry.json() == {"dry_run": True, "count": 1}
    body = {"subscription_id": sub_id, "dry_run": False}
    assert (
        client.post("/api/webhooks/dead/replay", json=body, headers=bearer()).json()["count"] == 1
    )
    assert (
        client.post("/api/webhooks/dead/replay", json=body, headers=bearer()).json()["count"] == 0
    )
    assert [e.command_id for e in Deliveries(store.client).redeliveries(sub_id)] == [
        claim.command_id
    ]


def test_the_webhooks_page_shows_a_disabled_endpoint_and_no_secret(client):
    made = client.post("/api/webhooks", json={"url": HOOK, "events": ["dead"]}, headers=bearer())
    sub_id = made.json()["id"]
    client.post(f"/api/webhooks/{sub_id}/disable", json={"why": "gone"}, headers=bearer())
    assert client.get("/webhooks").status_code in (303, 401)
    sign_in(client, "vic", "pw-vic")
    page = client.get("/webhooks")
    assert page.status_code == 200
    assert f'data-subscription-id="{sub_id}"' in page.text
    assert "Disabled: gone" in page.text
    assert made.json()["secret"] not in page.text


def test_filling_a_gap_refuses_bad_input_and_fills_once(client, store):
    sub_id = client.post("/api/webhooks", json={"url": HOOK, "events": ["succeeded"]},
                         headers=bearer()).json()["id"]  # fmt: skip
    why = {"why": "lagged"}
    no_gap = client.post(f"/api/webhooks/{sub_id}/gaps/0/fill", json=why, headers=bearer())
    assert no_gap.status_code == 409
    assert "no unfilled gap number 0" in no_gap.json()["detail"]
    assert client.post("/api/webhooks/wh_nope/gaps/0/fill", json=why,
                       headers=bearer()).status_code == 404  # fmt: skip
    assert client.post(f"/api/webhooks/{sub_id}/gaps/-1/fill", json=why,
                       headers=bearer()).status_code == 422  # fmt: skip
    assert client.post(f"/api/webhooks/{sub_id}/gaps/0/fill", json={},
                       headers=bearer()).status_code == 422  # fmt: skip
    assert client.post(f"/api/webhooks/{sub_id}/gaps/0/fill", json=why,
                       headers=bearer("vic")).status_code == 403  # fmt: skip
    claim = store.claim(store.admit(make_envelope("k")).command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.SUCCEEDED, None)
    Gaps(store.client).record(sub_id, "0-0", f"{2**42}-0")
    filled = client.post(f"/api/webhooks/{sub_id}/gaps/0/fill", json=why, headers=bearer())
    assert filled.json() == {"id": sub_id, "gap": 0, "rebuilt": 1}
    listed = client.get("/api/webhooks", headers=bearer()).json()[0]
    assert listed["gaps"][0]["filled"] == 1
    again = client.post(f"/api/webhooks/{sub_id}/gaps/0/fill", json=why, headers=bearer())
    assert again.status_code == 409
    assert [e.command_id for e in Deliveries(store.client).redeliveries(sub_id)] == [
        claim.command_id
    ]
