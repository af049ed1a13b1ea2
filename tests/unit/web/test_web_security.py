"""Every state-changing route refuses strangers (401), forged forms (403) and viewers (403)."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from store import keys
from store.records import read_record
from tests.unit.web import test_web_app as web_app
from tests.unit.web.test_web_app import bearer, csrf_of, make_dead, sign_in

client = web_app.client  # a fixture shared with test_web_app
published = web_app.published  # a fixture shared with test_web_app


def every_route(routes):
    """Routes of the app, through included routers (kept apart by this FastAPI version)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from every_route(route.original_router.routes)
        else:
            yield route


def post_routes(app, *, api: bool) -> list[str]:
    return sorted(
        route.path
        for route in every_route(app.routes)
        if isinstance(route, APIRoute)
        and route.methods & {"POST", "PUT", "PATCH", "DELETE"}
        and route.path.startswith("/api/") == api
        and route.path not in ("/login",)
        and not route.path.startswith("/v1/")
    )


def concrete(path: str, command_id: str) -> str:
    return path.replace("{command_id}", command_id).replace("{run_id}", "run1")


def nothing_changed(store, command_id: str) -> None:
    record = read_record(store.client, command_id)
    assert record is not None
    assert record.state == "dead"
    assert store.client.xlen(keys.audit()) == 0


def test_the_form_routes_are_the_ones_expected(client):
    assert post_routes(client.app, api=False) == [
        "/bulk",
        "/bulk/drafts/{draft_id}/start",
        "/bulk/{batch_id}/cancel",
        "/dead-letters/selection",
        "/dead-letters/{command_id}/discard",
        "/dead-letters/{command_id}/edit",
        "/dead-letters/{command_id}/replay",
        "/logout",
        "/providers/pause",
        "/providers/resume",
        "/runs",
        "/runs/{run_id}/cancel",
        "/runs/{run_id}/start",
        "/webhooks",
        "/webhooks/dead/replay",
        "/webhooks/runs",
        "/webhooks/runs/{run_id}/cancel",
        "/webhooks/runs/{run_id}/start",
        "/webhooks/{sub_id}/delete",
        "/webhooks/{sub_id}/disable",
        "/webhooks/{sub_id}/enable",
        "/webhooks/{sub_id}/gaps/{number}/fill",
        "/webhooks/{sub_id}/rotate",
    ]


def test_form_routes_without_a_session_are_401(client, store):
    dead = make_dead(store, "a")
    for path in post_routes(client.app, api=False):
        reply = client.post(concrete(path, dead), data={"why": "x", "command": "{}"})
        assert reply.status_code == 401, path
    nothing_changed(store, dead)


def test_form_routes_without_the_csrf_token_are_403(client, store):
    dead = make_dead(store, "a")
    sign_in(client)
    for path in post_routes(client.app, api=False):
        reply = client.post(concrete(path, dead), data={"why": "x", "command": "{}"})
        assert reply.status_code == 403, path
        bad = client.post(concrete(path, dead), data={"why": "x", "csrf_token": "forged"})
        assert bad.status_code == 403, path
    nothing_changed(store, dead)
    assert client.get("/").status_code == 200, "still signed in"


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Origin": "https://evil.example"}, "another origin"),
        ({"Sec-Fetch-Site": "cross-site"}, "a cross-site fetch"),
        ({"Sec-Fetch-Site": "same-site"}, "a sibling site"),
    ],
)
def test_a_form_with_a_valid_token_from_elsewhere_is_403(client, store, headers, why):
    dead = make_dead(store, "a")
    token = sign_in(client)
    reply = client.post(f"/dead-letters/{dead}/replay", data={"why": "x", "csrf_token": token},
                        headers=headers)  # fmt: skip
    assert reply.status_code == 403, why
    nothing_changed(store, dead)


def test_a_viewer_cannot_act_even_with_a_valid_form(client, store):
    dead = make_dead(store, "a")
    token = sign_in(client, "vic")
    for path in post_routes(client.app, api=False):
        if path == "/logout":
            continue
        reply = client.post(concrete(path, dead), data={"why": "x", "csrf_token": token,
                                                        "command": "{}"})  # fmt: skip
        assert reply.status_code == 403, path
    nothing_changed(store, dead)
    page = client.get(f"/commands/{dead}")
    assert "replay-form" not in page.text
    assert "only operators" in page.text


def test_an_operators_form_replays(client, store, published):
    dead = make_dead(store, "a")
    token = sign_in(client)
    reply = client.post(
        f"/dead-letters/{dead}/replay",
        data={"why": "fixed", "csrf_token": token},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert reply.status_code == 303
    assert published == [dead]
    assert "Replayed: now queued" in client.get(reply.headers["location"]).text


def test_api_actions_without_a_token_are_401_and_with_a_viewers_403(client, store):
    dead = make_dead(store, "a")
    paths = post_routes(client.app, api=True)
    # 6 for dead letters and runs, 7 for webhooks, 2 for delivery replay runs, 2 for pauses
    assert len(paths) == 18, paths
    for path in paths:
        body = {"why": "x", "command": {}}
        assert client.post(concrete(path, dead), json=body).status_code == 401, path
        viewer = client.post(concrete(path, dead), json=body, headers=bearer("vic"))
        assert viewer.status_code in (403, 422), path
    nothing_changed(store, dead)


def test_a_session_cookie_is_no_api_credential(client, store):
    dead = make_dead(store, "a")
    sign_in(client)
    assert client.post(f"/api/dead-letters/{dead}/replay", json={"why": "x"}).status_code == 401
    nothing_changed(store, dead)


def test_signing_out_needs_the_token_and_ends_the_session(client):
    token = sign_in(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/").status_code == 303


def test_sign_in_never_redirects_off_site(client):
    token = csrf_of(client)
    for target in ["//evil.example/", "https://evil.example/", "/\\evil.example"]:
        reply = client.post("/login", data={"name": "alice", "password": "pw-alice",
                                            "csrf_token": token, "next": target})  # fmt: skip
        assert reply.headers["location"] == "/", target
        token = csrf_of(client, "/")
