"""The dashboard over fakeredis: sign-in, roles, pages and the operator API (shared fixtures)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from config.settings import Settings
from config.web import Operator, WebSettings, stored_form
from schemas import CommandState, DeadReason
from store.command_store import Claim, CommandStore
from tests.factories import make_envelope
from web import create_app

FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # tests only: cheap hashes
ACCOUNTS: dict[str, Any] = {
    "acme": {"provider": "backd", "base_url": "http://127.0.0.1:1", "public_key": "pk",
             "secret_key": "sk"},
    "store": {"provider": "shoplazza", "base_url": "http://127.0.0.1:1", "access_token": "t"},
}  # fmt: skip
TOKENS = {
    "alice": "oc_a11ce00000000001_token-alice-0123456789",
    "vic": "oc_0000000000000f1c_token-vic-0123456789",
}


def stored(key: str) -> str:
    """A key's stored form (key id and a cheap hash)."""
    return stored_form(key, FAST.hash(key))


def web_settings(**overrides: Any) -> Settings:
    operators = {
        "alice": Operator(role="operator", password_hash=FAST.hash("pw-alice"),
                          token_hash=stored(TOKENS["alice"])),
        "vic": Operator(role="viewer", password_hash=FAST.hash("pw-vic"),
                        token_hash=stored(TOKENS["vic"])),
    }  # fmt: skip
    web = WebSettings(session_secret="s" * 32, secure_cookies=False, operators=operators,
                      **overrides)  # fmt: skip
    return Settings(accounts=ACCOUNTS, web=web)


class Published(list[str]):
    def __call__(self, command_ids) -> None:
        self.extend(command_ids)


@pytest.fixture
def published() -> Published:
    return Published()


@pytest.fixture
def client(store, published) -> TestClient:
    return TestClient(create_app(web_settings(), store, published), follow_redirects=False)


def make_dead(store: CommandStore, key: str, reason=DeadReason.NOT_FOUND, **overrides) -> str:
    command_id = store.admit(make_envelope(key, **overrides)).command_id
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.DEAD, None, reason=reason, message="gone")
    return command_id


def csrf_of(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def sign_in(client: TestClient, name: str = "alice", password: str | None = None) -> str:
    """Sign in through the form; the CSRF token of the new session."""
    token = csrf_of(client)
    reply = client.post("/login", data={"name": name, "password": password or f"pw-{name}",
                                        "csrf_token": token, "next": "/"})  # fmt: skip
    assert reply.status_code == 303, reply.text
    return csrf_of(client, "/")


def bearer(name: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


def test_every_page_sends_a_stranger_to_sign_in(client):
    for path in ["/", "/search?order_id=x", "/dead-letters", "/runs", "/audit", "/commands/x"]:
        reply = client.get(path)
        assert reply.status_code == 303, path
        assert reply.headers["location"].startswith("/login?next="), path


def test_signing_in_shows_the_overview_with_the_users_role(client, store):
    make_dead(store, "a")
    sign_in(client, "vic")
    page = client.get("/")
    assert page.status_code == 200
    assert "vic (viewer)" in page.text
    assert "no data" in page.text  # breaker and rate limit are not reported yet
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_signing_in_needs_the_forms_csrf_token(client):
    csrf_of(client)
    reply = client.post("/login", data={"name": "alice", "password": "pw-alice"})
    assert reply.status_code == 403
    assert client.get("/").status_code == 303


def test_the_command_page_shows_attempts_and_the_orders_commands(client, store):
    dead = make_dead(store, "a", order_id="O-7")
    other = store.admit(make_envelope("b", order_id="O-7", kind="refund")).command_id
    sign_in(client)
    page = client.get(f"/commands/{dead}")
    assert page.status_code == 200
    assert "not_found" in page.text
    assert other in page.text
    assert 'id="replay-form"' in page.text


def test_the_command_page_of_a_running_command_shows_who_holds_it_and_until_when(client, store):
    command_id = store.admit(make_envelope("a", order_id="O-8")).command_id
    assert isinstance(store.claim(command_id), Claim)
    sign_in(client, "vic")
    page = client.get(f"/commands/{command_id}")
    holder = re.search(r'<td id="holder">(.*?)</td>', page.text, re.DOTALL)
    assert holder is not None
    assert re.fullmatch(
        r"running on <code>[^<:]+:\d+</code> since .+, lease until .+", holder.group(1)
    )


def test_search_by_order_id_finds_it_at_every_account(client, store):
    backd = make_dead(store, "a", order_id="O-9")
    shop = store.admit(make_envelope("b", order_id="O-9", provider="shoplazza",
                                     account="store")).command_id  # fmt: skip
    store.admit(make_envelope("c", order_id="O-10"))
    sign_in(client, "vic")
    page = client.get("/search?order_id=O-9")
    assert backd in page.text
    assert shop in page.text
    assert page.text.count('data-command-id="') == 2


def test_the_api_replays_and_audits_with_a_token(client, store, published):
    dead = make_dead(store, "a")
    reply = client.post(f"/api/dead-letters/{dead}/replay", json={"why": "fixed"},
                        headers=bearer())  # fmt: skip
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"command_id": dead, "state": "queued"}
    assert published == [dead]
    audit = client.get("/api/audit", headers=bearer("vic")).json()["items"]
    assert [(e["action"], e["actor"], e["command_id"], e["why"]) for e in audit] == [
        ("replay", "alice", dead, "fixed")
    ]


def test_the_api_refuses_missing_tokens_and_viewers(client, store):
    dead = make_dead(store, "a")
    assert client.get("/api/dead-letters").status_code == 401
    wrong = {"Authorization": "Bearer x"}
    assert client.get("/api/dead-letters", headers=wrong).status_code == 401
    reply = client.post(
        f"/api/dead-letters/{dead}/replay", json={"why": "x"}, headers=bearer("vic")
    )
    assert reply.status_code == 403
    listed = client.get("/api/dead-letters", headers=bearer("vic")).json()
    assert [item["id"] for item in listed["items"]] == [dead]


def test_metrics_render_the_stats_and_depths(client, store):
    make_dead(store, "a")
    store.tally.flush()  # a worker adds its counts within a second (store/tally.py)
    assert client.get("/metrics").status_code == 401
    text = client.get("/metrics", headers=bearer("vic")).text
    assert "ordercmd_dead_letters 1.0" in text
    assert 'ordercmd_commands_total{kind="cancel",outcome="dead",provider="backd"} 1.0' in text
    assert 'ordercmd_latency_seconds_bucket{le="+Inf",provider="backd"} 1.0' in text


def test_the_command_page_and_the_api_show_what_each_read_showed(client, store):
    from tests.factories import make_read_attempt

    command_id = store.admit(make_envelope("r")).command_id
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    store.finish(claim, CommandState.DEAD, make_read_attempt(), reason=DeadReason.REJECTED)
    sign_in(client)
    page = client.get(f"/commands/{command_id}").text
    assert "after_refusal: impossible (order order_confirmed)" in page
    assert "a refund is needed instead" in page
    record = client.get(f"/api/commands/{command_id}", headers=bearer()).json()
    assert record["attempts"][0]["read"]["showed"] == "impossible"
