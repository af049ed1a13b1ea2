"""Server-side sessions (OWASP): revoked at logout, idle and absolute limits, new id at sign-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from config.web import SessionLimits
from store import keys
from tests.unit.web.test_web_app import csrf_of, sign_in, web_settings
from web import create_app
from web.sessions import COOKIE


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(store, published, clock):
    return create_app(web_settings(), store, published, clock=clock)


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def signed_in(reply_or_client: TestClient) -> bool:
    return reply_or_client.get("/").status_code == 200


def browser_with(app, cookie: str) -> TestClient:
    """Another browser that carries only a copy of ``cookie``."""
    other = TestClient(app, follow_redirects=False)
    other.cookies.set(COOKIE, cookie, domain="testserver.local")
    return other


def test_the_cookie_holds_only_a_random_id_with_the_usual_flags(store, published):
    secure = web_settings().web.model_copy(update={"secure_cookies": True})
    settings = web_settings().model_copy(update={"web": secure})
    client = TestClient(create_app(settings, store, published), follow_redirects=False)
    header = client.get("/login").headers["set-cookie"]
    name, value = header.split(";")[0].split("=", 1)
    assert name == COOKIE
    assert len(value) >= 43, "32 random bytes, URL-safe"
    assert "csrf" not in value, "no data: an id only"
    assert "." not in value, "no signature either"
    flags = {flag.strip().lower() for flag in header.split(";")[1:]}
    assert {"httponly", "samesite=strict", "secure", "path=/"} <= flags
    assert not any(flag.startswith(("max-age", "expires")) for flag in flags), "a browser session"
    assert len(list(store.client.scan_iter(keys.session("*")))) == 1


def test_a_cookie_copied_before_logout_is_refused_after_it(app, client, store):
    token = sign_in(client)
    copied = client.cookies[COOKIE]
    assert signed_in(browser_with(app, copied)), "the copy works while the session lives"
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    thief = browser_with(app, copied)
    assert thief.get("/").status_code == 303
    assert thief.get("/").headers["location"].startswith("/login")
    replay = thief.post("/logout", data={"csrf_token": token})
    assert replay.status_code == 401, "the old session's CSRF token is gone with it"
    assert not list(store.client.scan_iter(keys.session("*"))), "nothing left in Redis"


def test_signing_in_issues_a_new_id_and_ends_the_old_one(app, client):
    csrf_of(client)
    before = client.cookies[COOKIE]
    sign_in(client)
    after = client.cookies[COOKIE]
    assert after != before
    old = browser_with(app, before)
    assert old.get("/").status_code == 303
    assert 'name="csrf_token"' in old.get("/login").text
    assert old.cookies[COOKIE] != before, "the ended id is not brought back"


def test_an_id_the_server_never_issued_is_never_adopted(app):
    fixed = browser_with(app, "chosen-by-an-attacker-0123456789012345678901")
    fixed.get("/login")
    assert fixed.cookies[COOKIE] != "chosen-by-an-attacker-0123456789012345678901"
    sign_in(fixed)
    assert fixed.cookies[COOKIE] != "chosen-by-an-attacker-0123456789012345678901"


def test_a_session_ends_after_30_idle_minutes(client, clock):
    sign_in(client)
    for _ in range(4):  # active every 29 minutes for almost two hours: still signed in
        clock.advance(minutes=29)
        assert signed_in(client)
    clock.advance(minutes=30, seconds=1)
    assert client.get("/").status_code == 303


def test_a_session_ends_8_hours_after_sign_in_however_active(client, clock):
    sign_in(client)
    for _ in range(31):  # a request every 15 minutes up to 7 h 45 min
        clock.advance(minutes=15)
        assert signed_in(client)
    clock.advance(minutes=15, seconds=1)
    assert client.get("/").status_code == 303
    sign_in(client)
    assert signed_in(client), "signing in again starts a new 8 hours"


def test_the_limits_come_from_the_settings(store, published, clock):
    limits = SessionLimits(idle_s=60, absolute_s=150)
    web = web_settings().web.model_copy(update={"session": limits})
    app = create_app(web_settings().model_copy(update={"web": web}), store, published,
                     clock=clock)  # fmt: skip
    client = TestClient(app, follow_redirects=False)
    sign_in(client)
    clock.advance(seconds=59)
    assert signed_in(client)
    clock.advance(seconds=61)
    assert not signed_in(client), "idle for 61 s"
    sign_in(client)
    for _ in range(2):
        clock.advance(seconds=50)
        assert signed_in(client)
    clock.advance(seconds=51)
    assert not signed_in(client), "151 s after sign-in"


def test_redis_expires_a_session_by_itself(client, store):
    sign_in(client)
    [key] = store.client.scan_iter(keys.session("*"))
    assert 0 < store.client.pttl(key) <= 30 * 60 * 1000


def test_a_request_running_at_logout_cannot_bring_the_session_back(app, client, store):
    sign_in(client)
    sessions = app.user_middleware[0].kwargs["store"]
    session_id = client.cookies[COOKIE]
    data, created_ms = sessions.load(session_id)
    sessions.delete(session_id)  # the logout, while another request holds the data
    assert sessions.save(session_id, data, created_ms, new=False) is False
    assert sessions.load(session_id) is None


def test_an_address_starts_a_bounded_number_of_signed_out_sessions(store, published, clock):
    limits = SessionLimits(anonymous_per_address=3)
    web = web_settings().web.model_copy(update={"session": limits})
    app = create_app(web_settings().model_copy(update={"web": web}), store, published,
                     clock=clock)  # fmt: skip
    browsers = [TestClient(app, follow_redirects=False) for _ in range(4)]
    for browser in browsers:
        browser.get("/login")
    assert [COOKIE in browser.cookies for browser in browsers] == [True, True, True, False]
    assert len(list(store.client.scan_iter(keys.session("*")))) == 3, "a flood fills no Redis"
    token = csrf_of(browsers[3])
    refused = browsers[3].post("/login", data={"name": "alice", "password": "pw-alice",
                                               "csrf_token": token})  # fmt: skip
    assert refused.status_code == 403, "no session, no CSRF token: this address waits"
    sign_in(browsers[0])
    assert signed_in(browsers[0]), "sessions already started sign in as usual"
