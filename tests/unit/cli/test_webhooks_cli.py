"""``ordercmd webhooks`` from the shell: add, list, rotate, disable, enable, remove, replay.

The secret is printed once (never by list); a bad URL is refused with a one-line error.
"""

from __future__ import annotations

import getpass
import json

from store import keys
from store.outcomes import Outcomes
from store.webhooks.deliveries import DeadDelivery, Deliveries
from store.webhooks.gaps import Gaps
from tests.factories import make_envelope

HOOK = "https://hooks.example.com/ordercmd"


def test_a_subscription_from_the_shell_from_add_to_remove(run, store):
    added = run("webhooks", "add", HOOK, "--event", "dead", "--event", "succeeded", "--json")
    assert added.exit_code == 0, added.output
    made = json.loads(added.output)
    secret, sub_id = made["secret"], made["id"]
    listed = run("webhooks", "list")
    assert sub_id in listed.output
    assert "enabled" in listed.output
    assert secret not in listed.output
    rotated = run("webhooks", "rotate", sub_id, "--overlap", "60")
    assert rotated.output.startswith("secret whsec_")
    assert json.loads(run("webhooks", "list", "--json").output)[0]["secrets_signing"] == 2
    assert run("webhooks", "disable", sub_id, "--why", "moving").exit_code == 0
    assert "DISABLED moving" in run("webhooks", "list").output
    assert "0 dead deliveries replayed" in run("webhooks", "enable", sub_id).output
    assert run("webhooks", "remove", sub_id).output.strip() == f"removed {sub_id}"
    assert run("webhooks", "list", "--json").output.strip() == "[]"


def test_a_url_carrying_a_secret_is_refused_in_one_line(run):
    refused = run("webhooks", "add", f"{HOOK}?token=abc", "--event", "dead")
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: a webhook URL may not carry a secret")
    assert "abc" not in refused.output


def test_dead_deliveries_are_listed_and_replayed_once(run, store):
    sub_id = json.loads(run("webhooks", "add", HOOK, "--event", "succeeded", "--json").output)["id"]
    store.admit(make_envelope("k"))
    store.discard_pending(store.lane_ids("backd:acme:BO-000001")[0], actor="t", why="t")
    [event] = Outcomes(store.client).read("0-0")
    dead = DeadDelivery(sub_id, event, 8, "HTTP 503", 1)
    store.client.zadd(keys.webhook_dead_letters(), {dead.member: 1})
    store.client.hset(keys.webhook_dead_letter_bodies(), dead.member, dead.body())
    assert "after 8: HTTP 503" in run("webhooks", "dead", "--subscription", sub_id).output
    dry = run("webhooks", "replay", "--dry-run").output
    assert f"  1  {sub_id}  discarded  HTTP 503" in dry
    assert "would replay 1 deliveries (plan wh" in dry
    assert len(Deliveries(store.client).dead()) == 1
    refused = run("webhooks", "replay", "--yes")
    assert refused.exit_code == 2
    assert "--why is needed to replay" in refused.output
    done = run("webhooks", "replay", "--event", "discarded", "--yes", "--why", "back", "--json")
    assert json.loads(done.output) | {"run": ""} == {
        "dry_run": False, "count": 1, "run": "", "status": "done"}  # fmt: skip
    nothing = run("webhooks", "replay", "--yes", "--why", "again")
    assert "would replay 0 deliveries" in nothing.output
    assert Deliveries(store.client).redeliveries(sub_id)[0].command_id == event.command_id
    listed = run("webhooks", "runs").output
    assert f"done  1 of 1 at 50/s  by {getpass.getuser()}" in listed
    run_id = json.loads(done.output)["run"]
    assert run("webhooks", "cancel", run_id).output.startswith(f"Error: run {run_id} is done")
    assert run("webhooks", "cancel", "whnope").output.startswith("Error: no bulk run whnope")
    assert run("webhooks", "new-secret").output.startswith("whsec_")


def test_a_subscription_for_one_producer_and_a_bad_producer_name(run):
    added = run("webhooks", "add", HOOK, "--event", "dead", "--producer", "shop-events", "--json")
    assert json.loads(added.output)["producer"] == "shop-events"
    refused = run("webhooks", "add", HOOK, "--event", "dead", "--producer", "shop events")
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: producer 'shop events': letters, digits")


def test_gaps_are_listed_and_filled_once_from_the_shell(run, store):
    sub_id = json.loads(run("webhooks", "add", HOOK, "--event", "succeeded", "--json").output)["id"]
    unknown = run("webhooks", "fill-gap", "wh_nope", "--why", "x")
    assert unknown.output.startswith("Error: no webhook subscription wh_nope")
    none = run("webhooks", "fill-gap", sub_id, "--why", "x")
    assert none.output.startswith(f"Error: {sub_id} has no unfilled gap number 0")
    assert run("webhooks", "fill-gap", sub_id).exit_code == 2  # --why is required
    Gaps(store.client).record(sub_id, "0-0", "1-0")
    assert run("webhooks", "gaps", sub_id).output.strip() == "0  after 0-0 before 1-0  (not filled)"
    filled = run("webhooks", "fill-gap", sub_id, "--why", "lagged")
    assert filled.output.strip() == f"gap 0 of {sub_id}: 0 final events rebuilt and queued"
    assert "(filled: 0 rebuilt)" in run("webhooks", "gaps", sub_id).output
