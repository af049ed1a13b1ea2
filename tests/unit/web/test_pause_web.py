"""Operator pauses on the web: the providers page's forms, ``/api/pauses``, ``/metrics``.

Viewers see pauses and cannot set them; every pause and resume needs a reason and is audited;
bad input is refused naming the field (provider, account, why).
"""

from __future__ import annotations

import pytest

from store import keys
from tests.unit.web.test_web_app import bearer, client, published, sign_in  # noqa: F401


def test_an_operator_pauses_and_resumes_an_account_by_api_audited(client, store):  # noqa: F811
    body = {"provider": "shoplazza", "account": "store", "why": "provider asked us to stop"}
    reply = client.post("/api/pauses/pause", json=body, headers=bearer())
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"target": "shoplazza:store", "state": "paused", "held": 0}
    rows = {r["account"]: r for r in client.get("/api/pauses", headers=bearer("vic")).json()}
    assert rows["store"]["state"] == "paused"
    assert (rows["store"]["actor"], rows["store"]["why"]) == ("alice", body["why"])
    assert rows["acme"]["state"] == "running"
    reply = client.post("/api/pauses/resume", json=body | {"why": "ok now"}, headers=bearer())
    assert reply.json()["state"] == "resumed"
    audit = client.get("/api/audit", headers=bearer("vic")).json()["items"]
    assert [(a["action"], a["target"], a["why"]) for a in audit] == [
        ("resume", "shoplazza:store", "ok now"),
        ("pause", "shoplazza:store", "provider asked us to stop"),
    ]


def test_a_viewer_reads_pauses_but_cannot_set_them(client, store):  # noqa: F811
    body = {"provider": "backd", "why": "x"}
    assert client.post("/api/pauses/pause", json=body, headers=bearer("vic")).status_code == 403
    assert client.post("/api/pauses/pause", json=body).status_code == 401
    assert store.client.hgetall(keys.paused()) == {}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"provider": "acme", "why": "x"}, "provider", "'acme' is not a provider"),
        ({"provider": "backd", "account": "store", "why": "x"}, "account", "not a backd account"),
        ({"provider": "backd", "why": "   "}, "why", "a reason is required"),
    ],
)
def test_bad_input_to_the_api_is_a_422_naming_the_field(client, store, body, field, words):  # noqa: F811
    reply = client.post("/api/pauses/pause", json=body, headers=bearer())
    assert reply.status_code == 422
    [problem] = reply.json()["detail"]
    assert problem["field"] == field
    assert words in problem["problem"]
    assert store.client.xlen(keys.audit()) == 0


def test_a_missing_reason_is_a_422_naming_why_and_a_resume_of_nothing_a_409(client):  # noqa: F811
    reply = client.post("/api/pauses/pause", json={"provider": "backd"}, headers=bearer())
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["body", "why"]
    reply = client.post("/api/pauses/resume", json={"provider": "backd", "why": "x"},
                        headers=bearer())  # fmt: skip
    assert reply.status_code == 409
    assert "backd is not paused" in reply.json()["detail"]


def test_the_providers_page_pauses_with_a_reason_and_shows_it(client, store):  # noqa: F811
    csrf = sign_in(client)
    page = client.get("/providers").text
    assert 'data-target="shoplazza:store" data-state="running"' in page
    assert 'action="/providers/pause"' in page
    reply = client.post("/providers/pause", data={"target": "shoplazza:store", "why": "",
                                                   "csrf_token": csrf})  # fmt: skip
    assert reply.status_code == 303
    assert (
        '<div class="error" role="alert">Not done: why: a reason is required'
        in client.get("/providers").text
    )
    reply = client.post("/providers/pause", data={"target": "shoplazza:store", "why": "storm",
                                                   "csrf_token": csrf})  # fmt: skip
    assert reply.status_code == 303
    page = client.get("/providers").text
    assert "Paused shoplazza:store: 0 command(s) held." in page
    assert 'data-target="shoplazza:store" data-state="paused"' in page
    assert "storm" in page
    assert 'action="/providers/resume"' in page
    assert "paused by an operator: store" in client.get("/").text
    audit = client.get("/audit").text
    assert "<code>shoplazza:store</code>" in audit


def test_the_page_form_needs_csrf_and_an_operator(client, store):  # noqa: F811
    sign_in(client)
    form = {"target": "backd", "why": "x"}
    assert client.post("/providers/pause", data=form).status_code == 403
    client.cookies.clear()
    csrf = sign_in(client, "vic")
    page = client.get("/providers").text
    assert 'data-target="backd:acme"' in page
    assert 'action="/providers/pause"' not in page, "viewers get no form"
    assert client.post("/providers/pause", data=form | {"csrf_token": csrf}).status_code == 403
    assert store.client.hgetall(keys.paused()) == {}


def test_metrics_show_operator_pauses_and_held_commands(client, store):  # noqa: F811
    client.post("/api/pauses/pause", json={"provider": "backd", "why": "x"}, headers=bearer())
    text = client.get("/metrics", headers=bearer("vic")).text
    assert 'ordercmd_operator_paused{account="acme",provider="backd"} 1.0' in text
    assert 'ordercmd_operator_paused{account="store",provider="shoplazza"} 0.0' in text
    assert 'ordercmd_held_commands{account="acme",provider="backd"} 0.0' in text
