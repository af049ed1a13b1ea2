"""Failed sign-ins: a growing delay, a lockout per name, a cap per address; each logged, audited."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from structlog.testing import capture_logs

from config.web import SignInLimits
from store import keys
from tests.unit.web.test_web_app import csrf_of, web_settings
from tests.unit.web.test_web_sessions import Clock
from web import create_app

LIMITS = SignInLimits(lockout_after=3, window_s=900, lockout_s=600, first_delay_s=1,
                      max_delay_s=30, failures_per_address=5)  # fmt: skip


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(store, published, clock) -> TestClient:
    web = web_settings().web.model_copy(update={"sign_in": LIMITS})
    app = create_app(web_settings().model_copy(update={"web": web}), store, published,
                     clock=clock)  # fmt: skip
    return TestClient(app, follow_redirects=False)


def attempt(client: TestClient, name: str = "alice", password: str = "wrong"):
    token = csrf_of(client)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def audit(store) -> list[dict[str, str]]:
    return [fields for _, fields in store.client.xrange(keys.audit())]


def test_each_failure_doubles_the_wait_before_the_next_attempt(client, clock):
    assert attempt(client).status_code == 401
    early = attempt(client, password="pw-alice")
    assert (early.status_code, early.headers["retry-after"]) == (429, "1")
    assert "wait 1 s" in early.text
    clock.advance(seconds=1)
    assert attempt(client).status_code == 401
    assert attempt(client).headers["retry-after"] == "2"
    clock.advance(seconds=2)
    assert attempt(client, password="pw-alice").status_code == 303, "right, once the wait ends"
    client.cookies.clear()  # another browser
    assert attempt(client, "alice", "wrong").status_code == 401, "a success starts afresh"


def test_the_name_locks_after_three_failures_and_each_is_logged_and_audited(client, clock, store):
    with capture_logs() as logs:
        for _ in range(3):
            assert attempt(client).status_code == 401
            clock.advance(seconds=30)
        locked = attempt(client, password="pw-alice")
    assert locked.status_code == 429, "even the right password, while locked"
    assert "locked" in locked.text
    assert int(locked.headers["retry-after"]) == 600 - 30
    events = [entry["event"] for entry in logs if entry["event"].startswith("sign_in")]
    assert events == ["sign_in_failed"] * 3 + ["sign_in_locked", "sign_in_refused"]
    assert all(entry.get("user") == "alice" for entry in logs if "user" in entry)
    entries = audit(store)
    assert [e["action"] for e in entries] == ["sign_in_failed"] * 3 + ["sign_in_locked"]
    assert {e["actor"] for e in entries} == {"alice"}
    assert "testclient" in entries[0]["why"], "the address is recorded"
    assert "wrong" not in repr(logs) + repr(entries), "the password is in neither"
    clock.advance(seconds=600)
    assert attempt(client, password="pw-alice").status_code == 303, "the lockout ran out"


def test_unknown_names_lock_the_same_way(client, clock):
    for _ in range(3):
        assert attempt(client, "nobody").status_code == 401
        clock.advance(seconds=30)
    assert "locked" in attempt(client, "nobody").text


def test_an_address_trying_many_names_is_capped(client, clock, store):
    for i in range(5):
        assert attempt(client, f"name-{i}").status_code == 401
    refused = attempt(client, password="pw-alice")
    assert refused.status_code == 429
    assert "from your address" in refused.text
    actions = [e["action"] for e in audit(store)]
    assert actions == ["sign_in_failed"] * 5 + ["sign_in_address_limited"]
    clock.advance(seconds=30)
    assert attempt(client, password="pw-alice").status_code == 429, "for the whole window"


def test_concurrent_guesses_cannot_pass_the_limit(client, store):
    """Each attempt is counted before its password is checked."""
    assert attempt(client).status_code == 401
    answers = [attempt(client).status_code for _ in range(10)]
    assert answers == [429] * 10
    assert [e["action"] for e in audit(store)] == ["sign_in_failed"]
