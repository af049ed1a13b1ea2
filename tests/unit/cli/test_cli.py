"""The ``ordercmd`` command with click's CliRunner against a private Redis (no worker needed)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import redis
from click.testing import Result

from redisconn.process import pick_free_port
from schemas import CommandState, DeadReason
from store import keys
from store.claims import worker_name
from store.command_store import Claim, CommandStore
from store.records import read_record
from tests.factories import make_envelope
from worker.app import QUEUE, app

SECRET = "sk_live_TOPSECRET"


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def refused(result: Result, code: int = 1) -> str:
    """The error text of a refused invocation: one line, no traceback."""
    assert result.exit_code == code, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), (
        f"a traceback, not an error: {result.exception!r}"
    )
    return result.stderr


def submitted_id(result: Result) -> str:
    return str(json.loads(ok(result))["command_id"])


def make_dead(store: CommandStore, key: str, **overrides: Any) -> str:
    """A dead letter (``not_found``) made the way a worker would: admit, claim, finish dead."""
    command_id = store.admit(make_envelope(key, **overrides)).command_id
    claim = store.claim(command_id)
    assert isinstance(claim, Claim), claim
    store.finish(claim, CommandState.DEAD, None, reason=DeadReason.NOT_FOUND, message="404")
    return command_id


def ordercmd_keys(client: redis.Redis) -> list[str]:
    return sorted(str(k) for k in client.keys(f"{keys.PREFIX}:*"))


CANCEL = ("submit", "cancel", "--provider", "backd", "--account", "acme", "--order", "BO-1")
UPDATE = ("submit", "update", "--provider", "backd", "--account", "acme", "--order", "BO-1")
SHOP_UPDATE = ("submit", "update", "--provider", "shoplazza", "--account", "store", "--order", "1")
REFUND = ("submit", "refund", "--provider", "shoplazza", "--account", "store", "--order", "1001")


# --- submit: the happy path ----------------------------------------------------------------


def test_submit_cancel_prints_the_command_id(run, redis_client):
    # When a cancel is submitted
    output = ok(run(*CANCEL, "--reason", "customer asked"))
    # Then the output names the new command and how to follow it, and the store has it queued
    command_id = output.split()[1]
    assert output.startswith(f"admitted {command_id} (key content:")
    assert f"ordercmd status {command_id}" in output
    record = read_record(redis_client, command_id)
    assert record is not None
    assert record.state is CommandState.QUEUED
    assert record.envelope.command.model_dump(exclude_none=True) == {
        "kind": "cancel",
        "provider": "backd",
        "account": "acme",
        "order_id": "BO-1",
        "reason": "customer asked",
    }


def test_submit_json_is_parseable_and_a_repeat_is_the_existing_command(run):
    first = json.loads(ok(run(*CANCEL, "--key", "evt-1", "--json")))
    again = json.loads(ok(run(*CANCEL, "--key", "evt-1", "--json")))
    assert first == {
        "command_id": first["command_id"],
        "admitted": "new",
        "idempotency_key": "evt-1",
    }
    assert again == first | {"admitted": "existing"}
    assert "already admitted as" in ok(run(*CANCEL, "--key", "evt-1"))


def test_submit_sends_one_message_to_the_broker_in_the_configured_redis(
    run, redis_client, redis_url
):
    # When a command is admitted from the shell
    command_id = submitted_id(run(*CANCEL, "--json"))
    # Then its message is on the ordercmd queue of the configured Redis, with the id as task id
    assert app.conf.broker_url == redis_url, (
        "worker.app's Celery config is evaluated once per process: it was built earlier with "
        "another URL, so CLI publishes go elsewhere"
    )
    messages = [json.loads(m) for m in redis_client.lrange(QUEUE, 0, -1)]
    assert [m["headers"]["id"] for m in messages] == [command_id]


def test_submit_update_with_a_patch(run, redis_client):
    changes = '{"note": "leave at the door"}'
    command_id = submitted_id(run(*SHOP_UPDATE, "--changes", changes, "--json"))
    record = read_record(redis_client, command_id)
    assert record is not None
    assert record.envelope.command.changes.changed() == {"note": "leave at the door"}  # type: ignore[union-attr]


def test_submit_refund_with_an_amount_and_line_items(run, redis_client):
    lines = ("--line-item", "li-1:2", "--line-item", "sku:with:colons:1")
    command_id = submitted_id(run(*REFUND, "--amount", "12.5", *lines, "--json"))
    record = read_record(redis_client, command_id)
    assert record is not None
    command = record.envelope.command.model_dump(mode="json")
    assert (command["amount"], command["line_items"]) == (
        "12.50",
        [{"id": "li-1", "quantity": 2}, {"id": "sku:with:colons", "quantity": 1}],
    )


# --- submit: bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "names"),
    [
        pytest.param((*REFUND, "--amount", "ten"), 1, "amount:", id="amount-not-a-number"),
        pytest.param((*REFUND, "--amount", "-5"), 1, "amount:", id="amount-negative"),
        pytest.param((*REFUND, "--amount", "1.001"), 1, "amount:", id="amount-sub-cent"),
        pytest.param((*REFUND, "--amount", "NaN"), 1, "amount:", id="amount-nan"),
        pytest.param(
            (*UPDATE, "--changes", "{note: x}"), 1, "changes: not valid JSON", id="changes-not-json"
        ),
        pytest.param(
            (*UPDATE, "--changes", '{"colour": "red"}'), 1, "changes.colour:", id="changes-unknown"
        ),
        pytest.param((*UPDATE, "--changes", "[1, 2]"), 1, "changes", id="changes-not-an-object"),
        pytest.param(
            (*UPDATE, "--changes", "{}"), 1, "name at least one field", id="changes-empty"
        ),
        pytest.param(
            (*REFUND, "--amount", "5", "--line-item", "li-1"), 1, "line_items:", id="line-no-qty"
        ),
        pytest.param(
            (*REFUND, "--amount", "5", "--line-item", "li-1:two"), 1, "line_items:", id="line-qty"
        ),
        pytest.param(
            (*REFUND, "--amount", "5", "--line-item", ":2"), 1, "line_items", id="line-no-id"
        ),
        pytest.param(
            (*REFUND, "--amount", "5", "--line-item", "li-1:0"), 1, "line_items", id="line-zero"
        ),
        pytest.param(
            (*REFUND, "--line-item", "li-1:1"), 1, "amount:", id="line-items-without-amount"
        ),
        pytest.param(
            ("submit", "cancel", "--provider", "amazon", "--account", "acme", "--order", "1"),
            2,
            "--provider",
            id="unknown-provider",
        ),
        pytest.param(
            ("submit", "cancel", "--provider", "backd", "--account", "nope", "--order", "1"),
            1,
            "account: 'nope' is not configured",
            id="unknown-account",
        ),
        pytest.param(
            ("submit", "cancel", "--provider", "backd", "--account", "store", "--order", "1"),
            1,
            "account: 'store' is a shoplazza account, not backd",
            id="account-of-another-provider",
        ),
        pytest.param(
            ("submit", "cancel", "--provider", "backd", "--account", "acme", "--order", "a b"),
            1,
            "order_id:",
            id="order-with-space",
        ),
        pytest.param((*CANCEL, "--key", "evt 1"), 1, "idempotency_key:", id="key-with-space"),
        pytest.param((*CANCEL, "--key", "k" * 256), 1, "idempotency_key:", id="key-too-long"),
        pytest.param((*CANCEL, "--key", ""), 1, "idempotency_key:", id="key-empty"),
        pytest.param(CANCEL[:-2], 2, "Missing option '--order'", id="order-missing"),
        pytest.param((*CANCEL, "--reason", ""), 1, "reason:", id="reason-empty"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_admitted(
    args, code, names, run, redis_client
):
    # When a submission with one bad value is made
    message = refused(run(*args), code)
    # Then the error names the field, and nothing reached the store or the broker
    assert names in message
    assert ordercmd_keys(redis_client) == []
    assert redis_client.llen(QUEUE) == 0


def test_a_key_reused_for_other_content_is_a_conflict(run):
    ok(run(*CANCEL, "--key", "evt-1"))
    other = ("submit", "cancel", "--provider", "backd", "--account", "acme", "--order", "BO-2")
    assert "idempotency_key: 'evt-1' was already used" in refused(run(*other, "--key", "evt-1"))


def test_bad_settings_are_a_clear_error_without_the_secret(run, monkeypatch):
    # Given an account whose base URL is malformed
    monkeypatch.setenv("ORDERCMD_ACCOUNTS__ACME__BASE_URL", "not a url")
    # When any command runs
    message = refused(run(*CANCEL))
    # Then it names the setting and shows no credential
    assert "accounts.acme" in message
    assert "base_url" in message
    assert SECRET not in message


def test_an_unreachable_redis_is_a_clear_error_without_its_password(run, monkeypatch):
    # Given a Redis URL with a password, where nothing listens
    url = f"redis://:hunter2secret@127.0.0.1:{pick_free_port()}/0"
    monkeypatch.setenv("ORDERCMD_REDIS_URL", url)
    # When a command needs the store
    message = refused(run("status", "abc"))
    # Then it is a one-line error naming Redis, and the password is not in it
    assert "redis" in message.lower()
    assert "hunter2secret" not in message


def test_a_missing_config_file_is_a_clear_error(run, monkeypatch, tmp_path):
    monkeypatch.setenv("ORDERCMD_CONFIG", str(tmp_path / "nope.toml"))
    assert "ORDERCMD_CONFIG: no such file" in refused(run("status", "--order", "backd:acme:1"))


# --- status --------------------------------------------------------------------------------


def test_status_json_of_a_submitted_command(run):
    command_id = submitted_id(run(*CANCEL, "--json"))
    record = json.loads(ok(run("status", command_id, "--json")))
    assert (record["id"], record["state"], record["envelope"]["command"]["order_id"]) == (
        command_id,
        "queued",
        "BO-1",
    )
    assert command_id in ok(run("status", command_id))


def test_status_of_an_order_lists_its_commands_oldest_first(run):
    first = submitted_id(run(*CANCEL, "--json"))
    second = submitted_id(
        run(*UPDATE, "--changes", '{"merchant_order_status": "packing"}', "--json")
    )
    records = json.loads(ok(run("status", "--order", "backd:acme:BO-1", "--json")))
    assert [(r["id"], r["state"]) for r in records] == [(first, "queued"), (second, "waiting")]
    assert json.loads(ok(run("status", "--order", "backd:acme:BO-404", "--json"))) == []


def test_status_of_a_running_command_names_its_worker_and_lease(run, store):
    command_id = submitted_id(run(*CANCEL, "--json"))
    claim = store.claim(command_id)
    assert isinstance(claim, Claim)
    record = json.loads(ok(run("status", command_id, "--json")))
    assert record["state"] == "running"
    assert record["running_on"] == worker_name()
    assert record["running_since"]
    assert record["lease_until"] > record["running_since"]
    text = ok(run("status", command_id))
    holder = rf"running on {re.escape(worker_name())} since [\d-]+ [\d:]+, lease until [\d:]+"
    assert re.search(holder, text)


def test_status_of_an_unknown_command_says_so(run):
    assert "no command nope (unknown, or expired)" in refused(run("status", "nope"))


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("abc", "--order", "backd:acme:1"), id="id and order"),
        pytest.param(("abc", "--providers"), id="id and providers"),
    ],
)
def test_status_takes_at_most_one_of_id_order_providers(args, run):
    assert "give at most one of COMMAND_ID, --order" in refused(run("status", *args), 2)


@pytest.mark.parametrize("order", ["backd", "backd:acme", "nocolons"])
def test_status_order_must_name_provider_account_and_order(order, run):
    message = refused(run("status", "--order", order), 2)
    assert "--order" in message
    assert "PROVIDER:ACCOUNT:ORDER_ID" in message


# --- dlq -----------------------------------------------------------------------------------


def test_dlq_list_of_an_empty_queue(run):
    assert json.loads(ok(run("dlq", "list", "--json"))) == {"total": 0, "items": []}
    assert "dead letters: 0 of 0" in ok(run("dlq", "list"))


def test_dlq_list_shows_dead_letters_and_filters_them(run, store):
    # Given a dead letter at Backd
    command_id = make_dead(store, "k1")
    # When the queue is listed, all and filtered
    listed = json.loads(ok(run("dlq", "list", "--json")))
    by_reason = json.loads(ok(run("dlq", "list", "--reason", "not_found", "--json")))
    elsewhere = json.loads(ok(run("dlq", "list", "--provider", "fastpod", "--json")))
    # Then it shows where it should, with its reason
    assert listed["total"] == 1
    assert [(i["id"], i["state"], i["dead_reason"]) for i in listed["items"]] == [
        (command_id, "dead", "not_found")
    ]
    assert by_reason == listed
    assert elsewhere == {"total": 0, "items": []}
    assert "dead letters: 1 of 1" in ok(run("dlq", "list"))


@pytest.mark.parametrize(
    ("args", "names"),
    [
        pytest.param(("--reason", "bored"), "--reason", id="unknown-reason"),
        pytest.param(("--provider", "amazon"), "--provider", id="unknown-provider"),
        pytest.param(("--limit", "0"), "--limit", id="limit-zero"),
        pytest.param(("--offset", "-1"), "--offset", id="negative-offset"),
    ],
)
def test_dlq_list_refuses_bad_filters(args, names, run):
    assert names in refused(run("dlq", "list", *args), 2)


def test_dlq_list_refuses_two_filters_at_once_clearly(run):
    message = refused(run("dlq", "list", "--reason", "auth", "--provider", "backd"))
    assert "reason or by provider" in message


def test_dlq_show_of_a_dead_letter(run, store):
    command_id = make_dead(store, "k1")
    record = json.loads(ok(run("dlq", "show", command_id, "--json")))
    assert (record["id"], record["dead_reason"], record["last_message"]) == (
        command_id,
        "not_found",
        "404",
    )
    assert "not_found" in ok(run("dlq", "show", command_id))


@pytest.mark.parametrize("action", ["show", "replay", "discard"])
def test_dlq_actions_on_an_unknown_or_live_command_say_why(action, run, store):
    # Given a queued (live) command
    live = store.admit(make_envelope("k1")).command_id
    why = () if action == "show" else ("--why", "test")
    # When / Then acting on it, or on an unknown id, is refused saying why, and nothing is audited
    assert f"command {live} is queued, not dead" in refused(run("dlq", action, live, *why))
    assert "no command nope" in refused(run("dlq", action, "nope", *why))
    assert store.client.xlen(keys.audit()) == 0


@pytest.mark.parametrize("action", ["replay", "discard"])
def test_dlq_replay_and_discard_require_why(action, run, store):
    command_id = make_dead(store, "k1")
    assert "Missing option '--why'" in refused(run("dlq", action, command_id), 2)
    assert store.client.xlen(keys.audit()) == 0


def test_dlq_replay_requeues_and_audits(run, store):
    # Given a dead letter
    command_id = make_dead(store, "k1")
    # When an operator replays it
    output = ok(run("dlq", "replay", command_id, "--why", "order exists now", "--actor", "alice"))
    # Then it is queued again with a message on the broker, out of the queue, and audited
    assert output.strip() == f"replayed {command_id}: queued"
    record = read_record(store.client, command_id)
    assert record is not None
    assert (record.state, record.dead_reason) == (CommandState.QUEUED, None)
    assert json.loads(ok(run("dlq", "list", "--json")))["total"] == 0
    assert [json.loads(m)["headers"]["id"] for m in store.client.lrange(QUEUE, 0, -1)] == [
        command_id
    ]
    [(_, entry)] = store.client.xrange(keys.audit())
    assert {k: v for k, v in entry.items() if k != "at_ms"} == {
        "action": "replay",
        "command_id": command_id,
        "actor": "alice",
        "why": "order exists now",
    }


def test_dlq_discard_removes_and_audits(run, store):
    command_id = make_dead(store, "k1")
    output = ok(run("dlq", "discard", command_id, "--why", "refunded by hand", "--actor", "bob"))
    assert output.strip() == f"discarded {command_id}"
    assert json.loads(ok(run("dlq", "list", "--json")))["total"] == 0
    assert json.loads(ok(run("status", command_id, "--json")))["state"] == "discarded"
    [(_, entry)] = store.client.xrange(keys.audit())
    assert {k: v for k, v in entry.items() if k != "at_ms"} == {
        "action": "discard",
        "command_id": command_id,
        "actor": "bob",
        "why": "refunded by hand",
    }
    assert "is discarded, not dead" in refused(run("dlq", "discard", command_id, "--why", "x"))


def test_status_shows_what_each_read_showed(run, store):
    from tests.factories import make_read_attempt

    command_id = store.admit(make_envelope("read")).command_id
    claim = store.claim(command_id)
    assert isinstance(claim, Claim), claim
    store.finish(claim, CommandState.DEAD, make_read_attempt(), reason=DeadReason.REJECTED)
    assert "after_refusal: impossible" in ok(run("status", command_id))
    record = json.loads(ok(run("status", command_id, "--json")))
    assert record["attempts"][0]["read"]["purpose"] == "after_refusal"
