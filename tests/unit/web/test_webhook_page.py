"""The webhooks page's forms: subscribe, rotate, disable, enable, delete, replay deliveries.

The secret is shown once; replay takes one, or plans a run over a filter (a dry run);
operators only, CSRF, and every change audited with its reason.
"""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from runs.delivery_runs import DeliveryRunDriver
from schemas import CommandState
from store import keys
from store.command_store import Claim, CommandStore
from store.outcomes import Outcomes
from store.webhooks.deliveries import DeadDelivery, Deliveries
from store.webhooks.gaps import Gaps
from tests.factories import make_envelope
from tests.unit.web.test_web_app import sign_in, web_settings
from web import create_app

HOOK = "https://hooks.example.com/ordercmd"


@pytest.fixture
def client(store: CommandStore) -> TestClient:
    return TestClient(create_app(web_settings(), store, lambda ids: None), follow_redirects=False)


def flash(client: TestClient) -> str:
    page = client.get("/webhooks").text
    found = re.search(r'<div class="flash" role="status">([^<]*)</div>', page)
    return found.group(1) if found else ""


def subscribe(client: TestClient, csrf: str, url: str = HOOK) -> tuple[str, str]:
    reply = client.post("/webhooks", data={"csrf_token": csrf, "url": url,
                                           "events": ["succeeded", "dead"]})  # fmt: skip
    assert reply.status_code == 200, reply.text
    sub_id = re.search(r"Subscribed <code>(wh_[0-9a-f]+)</code>", reply.text).group(1)
    secret = re.search(r'<pre id="webhook-secret">(whsec_[^<]+)</pre>', reply.text).group(1)
    return sub_id, secret


def audit(store: CommandStore) -> list[tuple[str, str]]:
    return [(e["action"], e["why"]) for _, e in store.client.xrange(keys.audit())]


def test_subscribe_shows_the_secret_once_and_refuses_a_secret_in_the_url(client, store):
    csrf = sign_in(client)
    sub_id, secret = subscribe(client, csrf)
    page = client.get("/webhooks")
    assert f'data-subscription-id="{sub_id}"' in page.text
    assert secret not in page.text
    assert secret not in str(store.client.xrange(keys.audit()))
    refused = client.post("/webhooks", data={"csrf_token": csrf, "url": f"{HOOK}?token=abc",
                                             "events": ["dead"]})  # fmt: skip
    assert refused.status_code == 303
    assert flash(client).startswith("Not done: url: a webhook URL may not carry a secret")
    client.post("/webhooks", data={"csrf_token": csrf, "url": HOOK, "events": ["boom"]})
    assert flash(client).startswith("Not done: events: event kinds must be some of")
    assert store.client.zcard(keys.webhooks()) == 1


def test_rotate_disable_enable_delete_are_audited_with_the_reason(client, store):
    csrf = sign_in(client)
    sub_id, old = subscribe(client, csrf)
    rotated = client.post(f"/webhooks/{sub_id}/rotate",
                          data={"csrf_token": csrf, "overlap_h": "2", "why": "leaked"})  # fmt: skip
    new = re.search(r'<pre id="webhook-secret">(whsec_[^<]+)</pre>', rotated.text).group(1)
    assert new != old
    assert "also signs for 2.0 h" in rotated.text
    assert "2 secrets signing" in client.get("/webhooks").text
    client.post(f"/webhooks/{sub_id}/disable", data={"csrf_token": csrf, "why": "moving"})
    assert flash(client) == f"Disabled {sub_id}: its events wait until it is enabled."
    assert "Disabled: moving" in client.get("/webhooks").text
    client.post(f"/webhooks/{sub_id}/enable", data={"csrf_token": csrf, "why": "moved"})
    assert "0 dead deliveries replayed" in flash(client)
    client.post(f"/webhooks/{sub_id}/delete", data={"csrf_token": csrf, "why": "done"})
    assert flash(client) == f"Deleted {sub_id}."
    assert [a for a, _ in audit(store)] == ["webhook_add", "webhook_rotate", "webhook_disable",
                                            "webhook_enable", "webhook_remove"]  # fmt: skip
    assert audit(store)[1][1].endswith(": leaked")
    assert audit(store)[2][1] == f"{sub_id}: moving"
    client.post(f"/webhooks/{sub_id}/delete", data={"csrf_token": csrf, "why": "again"})
    assert flash(client) == f"Not done: no webhook subscription {sub_id}"


def test_a_missing_reason_csrf_or_a_viewer_is_refused(client, store):
    csrf = sign_in(client)
    sub_id, _ = subscribe(client, csrf)
    assert client.post(f"/webhooks/{sub_id}/disable", data={"csrf_token": csrf}).status_code == 422
    assert client.post(f"/webhooks/{sub_id}/disable", data={"why": "x"}).status_code == 403
    viewer = TestClient(client.app, follow_redirects=False)
    viewer_csrf = sign_in(viewer, "vic", "pw-vic")
    page = viewer.get("/webhooks").text
    assert "subscribe-form" not in page
    assert "Disable" not in page
    refused = viewer.post(f"/webhooks/{sub_id}/disable", data={"csrf_token": viewer_csrf,
                                                               "why": "x"})  # fmt: skip
    assert refused.status_code == 403
    assert "disabled" not in Deliveries(store.client).state(sub_id)


def dead_delivery(store: CommandStore, sub_id: str, n: int) -> DeadDelivery:
    claim = store.claim(store.admit(make_envelope(f"k-{n}", order_id=f"BO-{n}")).command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.SUCCEEDED, None)
    event = Outcomes(store.client).of_command(claim.command_id)[-1]
    dead = DeadDelivery(sub_id, event, 8, "HTTP 503", n)
    store.client.zadd(keys.webhook_dead_letters(), {dead.member: n})
    store.client.hset(keys.webhook_dead_letter_bodies(), dead.member, dead.body())
    return dead


def test_replay_one_then_plan_start_and_cancel_a_replay_run(client, store):
    csrf = sign_in(client)
    sub_id, _ = subscribe(client, csrf)
    deads = [dead_delivery(store, sub_id, n) for n in range(1, 5)]
    page = client.get("/webhooks").text
    assert 'Dead deliveries <span class="muted">(4' in page
    one = {"csrf_token": csrf, "subscription_id": sub_id, "event_id": deads[0].event.event_id,
           "why": "receiver back"}  # fmt: skip
    client.post("/webhooks/dead/replay", data=one)
    assert flash(client) == f"Replayed 1 dead delivery ({deads[0].event.event_id})."
    client.post("/webhooks/dead/replay", data=one)
    assert flash(client).startswith("Not done: ")
    # many: a plan with counts (nothing replayed), then a start at a rate, then the drivers
    planned = client.post("/webhooks/runs", data={"csrf_token": csrf, "subscription_id": sub_id,
                                                  "why": "receiver back"})  # fmt: skip
    run_url = planned.headers["location"]
    run_page = client.get(run_url).text
    assert "Dry run: 3 dead deliveries would be replayed." in run_page
    assert f"<td><code>{sub_id}</code></td><td>succeeded</td><td>HTTP 503</td>" in run_page
    assert len(Deliveries(store.client).dead()) == 3
    run_id = run_url.rsplit("/", 1)[1]
    client.post(f"{run_url}/start", data={"csrf_token": csrf, "rate": "1000"})
    assert "Started at 1000 per second." in client.get(run_url).text
    assert DeliveryRunDriver(store.client).drive(run_id).results == {"queued": 3}
    assert client.get(f"{run_url}/progress").json()["status"] == "done"
    assert Deliveries(store.client).dead() == []
    assert len(Deliveries(store.client).redeliveries(sub_id)) == 4
    assert run_id in client.get("/webhooks").text
    # a plan can be cancelled; a bad filter or nothing matching plans nothing
    more = dead_delivery(store, sub_id, 9)
    later = client.post("/webhooks/runs", data={"csrf_token": csrf, "command_id":
                        more.event.command_id, "why": "x"}).headers["location"]  # fmt: skip
    client.post(f"{later}/cancel", data={"csrf_token": csrf})
    assert "Cancelled." in client.get(later).text
    client.post("/webhooks/runs", data={"csrf_token": csrf, "event": "nope", "why": "x"})
    assert flash(client).startswith("Not planned: event: not one of")
    client.post("/webhooks/runs", data={"csrf_token": csrf, "command_id": "nope", "why": "x"})
    assert flash(client) == "No dead delivery matches where command_id=nope."
    assert client.post("/webhooks/runs", data={"csrf_token": csrf}).status_code == 422
    assert [a for a, _ in audit(store)].count("webhook_replay") == 2  # the one that found none too
    assert [a for a, _ in audit(store)].count("bulk_replay_start") == 1


def test_a_gap_is_shown_and_filled_from_the_page(client, store):
    csrf = sign_in(client)
    sub_id, _ = subscribe(client, csrf)
    dead_delivery(store, sub_id, 1)  # a command that succeeded, and its outcome event
    Gaps(store.client).record(sub_id, "0-0", f"{2**42}-0")
    page = client.get("/webhooks").text
    assert "Gap 0: it lagged past the outcome stream's bound" in page
    assert f'action="/webhooks/{sub_id}/gaps/0/fill"' in page
    client.post(f"/webhooks/{sub_id}/gaps/0/fill", data={"csrf_token": csrf, "why": "lagged"})
    assert flash(client) == f"Gap 0 of {sub_id}: 1 final events rebuilt from the records."
    assert "Filled: 1 final events rebuilt" in client.get("/webhooks").text
    client.post(f"/webhooks/{sub_id}/gaps/0/fill", data={"csrf_token": csrf, "why": "again"})
    assert flash(client) == f"Not done: {sub_id} has no unfilled gap number 0"
