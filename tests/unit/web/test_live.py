"""Live pages: versions behind the session, one reader per process, polls that do not slide it."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from providers.accounts import BackdAccount
from schemas import CommandState
from store.command_store import Claim
from store.pauses import Pauses, Target
from tests.factories import make_envelope
from tests.unit.web.test_web_app import client, published, sign_in, web_settings  # noqa: F401
from tests.unit.web.test_web_sessions import Clock
from web import create_app
from web.live import LiveVersions

LIVE = {"X-Live": "1"}


def version_of(client: TestClient, scope: str) -> str:  # noqa: F811
    reply = client.get("/live/version", params={"scope": scope}, headers=LIVE)
    assert reply.status_code == 200, reply.text
    return reply.json()["version"]


def rendered_at(page: str) -> tuple[str, str]:
    """The scope and version a page says it was rendered at."""
    found = re.search(r'data-live-scope="([^"]+)" data-live-version="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1), found.group(2)


@pytest.fixture
def fresh(store, published):  # noqa: F811
    """A client whose versions are read anew on every request (no caching between steps)."""
    app = create_app(web_settings(), store, published)
    app.state.live_versions = LiveVersions(store.client, ttl_s=0)
    return TestClient(app, follow_redirects=False)


def test_versions_are_for_signed_in_sessions_and_known_scopes(client):  # noqa: F811
    assert client.get("/live/version", params={"scope": "store"}).status_code == 401
    sign_in(client, "vic")
    assert client.get("/live/version", params={"scope": "store"}).status_code == 200
    for bad in ("everything", "command:", "command:a b", "command:" + "x" * 65, "store:1"):
        reply = client.get("/live/version", params={"scope": bad})
        assert reply.status_code == 422, bad
        assert "scope" in reply.text


def test_the_store_version_moves_when_a_command_is_admitted_claimed_and_finished(fresh, store):
    sign_in(fresh)
    seen = [version_of(fresh, "store")]
    assert version_of(fresh, "store") == seen[0]  # nothing happened: unchanged
    command_id = store.admit(make_envelope("k1")).command_id
    seen.append(version_of(fresh, "store"))
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    seen.append(version_of(fresh, "store"))
    store.finish(claim, CommandState.SUCCEEDED, None, message="ok")
    seen.append(version_of(fresh, "store"))
    assert len(set(seen)) == 4, seen


def test_the_store_version_moves_when_an_operator_pauses_an_account(fresh, store):
    # a pause changes no command: other tabs learn of it from the audit stream
    sign_in(fresh)
    before = version_of(fresh, "store")
    acme = BackdAccount(provider="backd", base_url="http://b.invalid", public_key="p",
                        secret_key="s")  # fmt: skip
    pauses = Pauses(store.client, {"acme": acme})
    pauses.pause(Target("backd", "acme"), actor="olivia", why="provider incident")
    assert version_of(fresh, "store") != before


def test_since_the_current_version_is_answered_with_no_content(fresh, store):
    sign_in(fresh)
    current = version_of(fresh, "store")
    reply = fresh.get("/live/version", params={"scope": "store", "since": current}, headers=LIVE)
    assert (reply.status_code, reply.content) == (204, b"")
    store.admit(make_envelope("k1"))
    reply = fresh.get("/live/version", params={"scope": "store", "since": current}, headers=LIVE)
    assert reply.status_code == 200
    assert reply.json()["version"] != current


def test_a_command_page_is_rendered_at_the_version_its_scope_reports(fresh, store):
    sign_in(fresh)
    command_id = store.admit(make_envelope("k1")).command_id
    scope, at = rendered_at(fresh.get(f"/commands/{command_id}").text)
    assert scope == f"command:{command_id}"
    assert version_of(fresh, scope) == at
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    moved = version_of(fresh, scope)
    assert moved != at
    assert rendered_at(fresh.get(f"/commands/{command_id}").text) == (scope, moved)
    store.finish(claim, CommandState.SUCCEEDED, None, message="ok")
    assert version_of(fresh, scope) not in (at, moved)


@pytest.mark.parametrize("path", ["/", "/search?order_id=x", "/dead-letters", "/workers"])
def test_lists_and_the_overview_are_live_on_the_store_scope(fresh, path):
    sign_in(fresh)
    page = fresh.get(path).text
    scope, at = rendered_at(page)
    assert (scope, at) == ("store", version_of(fresh, "store"))
    assert 'data-live="page"' in page
    assert '<script src="/static/live.js"></script>' in page


def test_one_reader_per_process_whatever_the_number_of_tabs(store):
    now = [100.0]
    versions = LiveVersions(store.client, ttl_s=1.0, clock=lambda: now[0])
    for _ in range(50):  # fifty tabs polling within the same second
        versions.version("store")
        versions.version("command:abc")
    assert versions.reads == 2
    now[0] += 1.0
    versions.version("store")
    assert versions.reads == 3


def test_live_polls_do_not_keep_an_idle_session_alive(store, published):  # noqa: F811
    clock = Clock()
    browser = TestClient(create_app(web_settings(), store, published, clock=clock),
                         follow_redirects=False)  # fmt: skip
    sign_in(browser)
    clock.advance(minutes=20)  # the page polls and refreshes itself; nobody clicks
    assert browser.get("/live/version", params={"scope": "store"}, headers=LIVE).is_success
    assert browser.get("/", headers=LIVE).status_code == 200
    clock.advance(minutes=10, seconds=1)  # 30 min after the last click
    assert browser.get("/live/version", params={"scope": "store"}, headers=LIVE).status_code == 401
    assert browser.get("/").status_code == 303


def test_the_live_script_is_served(client):  # noqa: F811
    reply = client.get("/static/live.js")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/javascript")
    assert "visibilitychange" in reply.text


def test_every_page_links_an_icon_the_app_serves(fresh):
    sign_in(fresh)
    assert '<link rel="icon" href="/static/favicon.svg"' in fresh.get("/").text
    for path in ("/static/favicon.svg", "/favicon.ico"):
        icon = fresh.get(path)
        assert (icon.status_code, icon.headers["content-type"]) == (200, "image/svg+xml"), path
