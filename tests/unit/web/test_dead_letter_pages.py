"""The dead-letter page and forms on fakeredis: totals, sort, selection, confirmation, errors."""

from __future__ import annotations

import re
import time

from schemas import DeadReason
from store import keys
from store.records import read_record
from tests.unit.web import test_web_app as web_app
from tests.unit.web.test_web_app import make_dead, sign_in

client = web_app.client  # a fixture shared with test_web_app
published = web_app.published  # a fixture shared with test_web_app


def audit(store) -> list[dict[str, str]]:
    return [fields for _, fields in store.client.xrange(keys.audit())]


def five_dead(store) -> list[str]:
    """Five dead letters, oldest first: two not_found at Backd, then auth at Shoplazza and Backd."""
    made = []
    plan = [("k0", DeadReason.NOT_FOUND, {}), ("k1", DeadReason.NOT_FOUND, {}),
            ("k2", DeadReason.AUTH, {"provider": "shoplazza", "account": "store"}),
            ("k3", DeadReason.AUTH, {}), ("k4", DeadReason.EXHAUSTED, {})]  # fmt: skip
    for n, (key, reason, where) in enumerate(plan):
        made.append(make_dead(store, key, reason, order_id=f"O-{n}", **where))
        time.sleep(0.002)  # deaths are timed in ms
    return made


def listed(page_text: str) -> list[str]:
    return re.findall(r'<tr data-command-id="([^"]+)"', page_text)


def select(client, token: str, ids: list[str], action: str, **extra: str):
    data = {"csrf_token": token, "ids": ids, "action": action, "back": "/dead-letters", **extra}
    return client.post("/dead-letters/selection", data=data)


def test_the_list_shows_short_ids_totals_and_labelled_times(client, store):
    made = five_dead(store)
    sign_in(client, "vic")
    page = client.get("/dead-letters")
    assert listed(page.text) == made[::-1]
    assert f'<code title="{made[0]}">{made[0][:10]}…</code>' in page.text
    assert f'data-copy="{made[0]}"' in page.text
    assert re.search(r"<strong>5</strong> dead letters match", page.text)
    assert re.search(r'not_found <b>2</b>.*auth <b>2</b>|auth <b>2</b>.*not_found <b>2</b>',
                     page.text, re.S)  # fmt: skip
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" data-utc>[^<]+ UTC</time>',
                     page.text)  # fmt: skip
    assert 'id="dead-letter-rows"' in page.text
    assert "selection-form" not in page.text  # a viewer gets no checkboxes or buttons


def test_totals_follow_the_filter_and_say_when_they_are_a_bound(client, store):
    five_dead(store)
    sign_in(client)
    assert "<strong>2</strong> dead letters match" in client.get("/dead-letters?reason=auth").text
    both = client.get("/dead-letters?reason=auth&provider=shoplazza").text
    assert "At most <strong>1</strong> match" in both
    assert len(listed(both)) == 1


def test_sorts_by_death_either_way_and_by_provider_or_reason(client, store):
    made = five_dead(store)
    sign_in(client)
    oldest = client.get("/dead-letters?sort=oldest").text
    assert listed(oldest) == made
    assert '<input type="hidden" name="sort" value="oldest">' in oldest  # filtering keeps it
    by_provider = listed(client.get("/dead-letters?sort=provider").text)
    assert by_provider == [made[4], made[3], made[1], made[0], made[2]]  # backd, then shoplazza
    by_reason = listed(client.get("/dead-letters?sort=reason").text)
    assert by_reason == [made[3], made[2], made[4], made[1], made[0]]  # auth, exhausted, not_found
    foreign = client.get("/dead-letters?sort=provider&cursor=7:x")
    assert "is not one this listing handed out" in foreign.text
    bad = client.get("/dead-letters?sort=attempts")
    assert "sort: &#39;attempts&#39; is not one of" in bad.text
    assert listed(bad.text) == []


def test_replaying_a_selection_replays_those_and_audits_each(client, store, published):
    made = five_dead(store)
    token = sign_in(client)
    reply = select(client, token, [made[0], made[2], made[4]], "replay", why="provider fixed")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/dead-letters"
    assert sorted(published) == sorted([made[0], made[2], made[4]])
    assert [read_record(store.client, i).state for i in made] == [
        "queued", "dead", "queued", "dead", "queued"]  # fmt: skip
    entries = audit(store)
    assert [(e["action"], e["actor"], e["why"]) for e in entries] == [
        ("replay", "alice", "provider fixed")] * 3  # fmt: skip
    page = client.get("/dead-letters")
    assert '<div class="flash" role="status">Replayed 3 of 3.</div>' in page.text
    assert listed(page.text) == [made[3], made[1]]


def test_discarding_a_selection_asks_first_then_discards(client, store):
    made = five_dead(store)
    token = sign_in(client)
    asked = select(client, token, [made[1], made[3]], "discard", why="duplicates")
    assert asked.status_code == 200
    assert "Discard 2 dead letters?" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert 'value="duplicates"' in asked.text  # the reason typed in the bar is kept
    assert audit(store) == []
    assert [read_record(store.client, i).state for i in made].count("dead") == 5
    done = select(client, token, [made[1], made[3]], "discard", why="duplicates", confirm="yes")
    assert done.status_code == 303
    assert read_record(store.client, made[1]).state == "discarded"
    assert read_record(store.client, made[3]).state == "discarded"
    assert [e["action"] for e in audit(store)] == ["discard", "discard"]


def test_a_selection_needs_ids_a_known_action_and_a_reason(client, store, published):
    made = five_dead(store)
    token = sign_in(client)
    for ids, action, error in [
        ([], "replay", "select at least one dead letter"),
        ([made[0]], "explode", "action: choose Replay or Discard"),
        (["../etc"], "replay", "is not a command id"),
        ([made[0]] * 2 + [f"x{i}" for i in range(101)], "replay", "at most 100"),
    ]:
        reply = select(client, token, ids, action, why="x")
        assert reply.status_code == 303, (ids, action)
        page = client.get(reply.headers["location"]).text
        assert re.search(r'<div class="error" role="alert">Nothing done: [^<]*' + re.escape(error),
                         page), error  # fmt: skip
    no_reason = select(client, token, [made[0]], "replay")
    assert no_reason.status_code == 422
    assert "why: say why, for the audit log" in no_reason.text
    assert f'name="ids" value="{made[0]}"' in no_reason.text  # the selection is kept
    confirmed_without_reason = select(client, token, [made[0]], "discard", confirm="yes")
    assert confirmed_without_reason.status_code == 422
    assert published == []
    assert audit(store) == []


def test_unknown_or_no_longer_dead_ids_are_reported_and_the_rest_done(client, store, published):
    made = five_dead(store)
    token = sign_in(client)
    reply = select(client, token, [made[0], "0123456789abcdef", made[0]], "replay", why="x")
    page = client.get(reply.headers["location"]).text
    assert "Replayed 1 of 2." in page  # the repeated id counts once
    assert 'role="alert">Not done: 0123456789abcdef: no command 0123456789abcdef' in page
    again = select(client, token, [made[0]], "replay", why="x")
    page = client.get(again.headers["location"]).text
    assert f"{made[0]}: command {made[0]} is queued, not dead" in page
    assert "Replayed 0" not in page
    assert published == [made[0]]


def test_a_viewer_or_a_forged_form_cannot_act_on_a_selection(client, store):
    made = five_dead(store)
    token = sign_in(client, "vic")
    assert select(client, token, made, "replay", why="x").status_code == 403
    client.post("/logout", data={"csrf_token": token})
    token = sign_in(client)
    assert select(client, "forged", made, "replay", why="x").status_code == 403
    no_token = client.post("/dead-letters/selection", data={"ids": made, "action": "replay",
                                                            "why": "x"})  # fmt: skip
    assert no_token.status_code == 403
    assert audit(store) == []


def test_discarding_one_from_its_page_asks_first(client, store):
    dead = make_dead(store, "a")
    token = sign_in(client)
    asked = client.post(f"/dead-letters/{dead}/discard", data={"why": "dup", "csrf_token": token})
    assert asked.status_code == 200
    assert "Discard 1 dead letter?" in asked.text
    assert read_record(store.client, dead).state == "dead"
    done = client.post(f"/dead-letters/{dead}/discard",
                       data={"why": "dup", "csrf_token": token, "confirm": "yes"})  # fmt: skip
    assert done.status_code == 303
    assert read_record(store.client, dead).state == "discarded"


def test_a_refused_edit_keeps_the_text_and_reason_and_shows_an_alert(client, store):
    dead = make_dead(store, "a", order_id="O-1")
    token = sign_in(client)
    typed = '{"kind": "cancel", "provider": "backd", "account": "acme", "order_id": "O-2"}'
    form = {"command": typed, "why": "wrong order", "csrf_token": token}
    reply = client.post(f"/dead-letters/{dead}/edit", data=form)
    assert reply.status_code == 422
    assert ('<div class="error" role="alert">Not edited: order_id: an edit keeps the command'
            in reply.text)  # fmt: skip
    assert "&#34;order_id&#34;: &#34;O-2&#34;" in reply.text  # the operator's text, not the stored
    assert 'value="wrong order"' in reply.text
    assert 'class="flash"' not in reply.text
    missing_why = client.post(f"/dead-letters/{dead}/edit",
                              data={"command": typed, "csrf_token": token})  # fmt: skip
    assert missing_why.status_code == 422
    assert "why: say why, for the audit log" in missing_why.text
    assert read_record(store.client, dead).state == "dead"
    assert audit(store) == []


def test_a_refused_replay_is_an_error_not_news(client, store):
    dead = make_dead(store, "a")
    token = sign_in(client)
    client.post(f"/dead-letters/{dead}/replay", data={"why": "x", "csrf_token": token})
    again = client.post(f"/dead-letters/{dead}/replay", data={"why": "x", "csrf_token": token})
    page = client.get(again.headers["location"]).text
    assert re.search(r'class="error" role="alert">Not replayed: command \S+ is queued', page)
    nothing = client.post(f"/dead-letters/{dead}/replay", data={"csrf_token": token})
    assert "Not replayed: why: say why" in client.get(nothing.headers["location"]).text
