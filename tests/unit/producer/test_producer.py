"""The producer API on a fakeredis store: admission once per key, refusals at the door."""

from __future__ import annotations

from typing import Any

import pytest

from config.settings import Settings
from producer import Producer, Submission
from providers.errors import IdempotencyConflict, InvalidSubmission
from schemas import CommandState
from store.command_store import Admitted, CommandStore
from store.records import read_record


def make_settings() -> Settings:
    """A Backd account ``acme`` and a Shoplazza account ``store``."""
    return Settings(
        accounts={
            "acme": {
                "provider": "backd",
                "base_url": "http://backd.invalid",
                "public_key": "pk",
                "secret_key": "sk",
            },
            "store": {
                "provider": "shoplazza",
                "base_url": "http://shop.invalid",
                "access_token": "tok",
            },
        }
    )


def cancel(**overrides: Any) -> dict[str, Any]:
    """A cancel at Backd as a producer would send it."""
    return {
        "kind": "cancel",
        "provider": "backd",
        "account": "acme",
        "order_id": "BO-1",
    } | overrides


@pytest.fixture
def producer(store: CommandStore, published: list[str]) -> Producer:
    return Producer(make_settings(), store, published.extend)


def stored_keys(store: CommandStore) -> list[str]:
    return sorted(str(k) for k in store.client.keys("*"))


def test_the_same_key_and_content_twice_is_one_command(producer, published):
    # Given a first submission
    first = producer.submit(cancel(), idempotency_key="evt-1")
    # When the same command is submitted again under the same key
    again = producer.submit(cancel(), idempotency_key="evt-1")
    # Then the second returns the first command and sends nothing more
    assert first == Submission(first.command_id, "evt-1", Admitted.NEW)
    assert again == Submission(first.command_id, "evt-1", Admitted.EXISTING)
    assert published == [first.command_id]


def test_the_same_key_with_other_content_is_a_conflict(producer, store, published):
    first = producer.submit(cancel(), idempotency_key="evt-1")
    with pytest.raises(IdempotencyConflict) as info:
        producer.submit(cancel(order_id="BO-2"), idempotency_key="evt-1")
    assert str(info.value).startswith("idempotency_key: 'evt-1' was already used")
    assert info.value.command_id == first.command_id
    assert store.order_ids("backd:acme:BO-2") == []
    assert published == [first.command_id]


def test_without_a_key_one_is_derived_from_the_content(producer):
    # When the same content is submitted twice without a key, and other content once
    first = producer.submit(cancel(reason="asked"))
    again = producer.submit(cancel(reason="asked"))
    other = producer.submit(cancel(reason="changed mind"))
    # Then the same content is the same command under a content key; other content is not
    assert first.idempotency_key.startswith("content:")
    assert again == Submission(first.command_id, first.idempotency_key, Admitted.EXISTING)
    assert other.admitted is Admitted.NEW
    assert other.idempotency_key != first.idempotency_key


def test_the_derived_key_ignores_whitespace_the_schema_strips(producer):
    first = producer.submit(cancel(order_id="BO-1"))
    again = producer.submit(cancel(order_id="  BO-1 "))
    assert again.command_id == first.command_id


def test_the_admitted_record_is_the_validated_envelope(producer, store):
    submission = producer.submit(cancel(reason="asked"), idempotency_key="evt-1")
    record = read_record(store.client, submission.command_id)
    assert record is not None
    assert record.state is CommandState.QUEUED
    assert record.envelope.command.model_dump(exclude_none=True) == cancel(reason="asked")
    assert (record.envelope.idempotency_key, record.envelope.source) == ("evt-1", "api")


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        pytest.param(
            cancel(account="nope"), "'nope' is not configured (acme, store)", id="unknown"
        ),
        pytest.param(
            cancel(provider="shoplazza", account="acme"),
            "'acme' is a backd account, not shoplazza",
            id="other-provider",
        ),
    ],
)
def test_an_account_that_does_not_fit_is_refused(command, reason, producer, store, published):
    with pytest.raises(InvalidSubmission) as info:
        producer.submit(command)
    assert info.value.problems == [("account", reason)]
    assert stored_keys(store) == []
    assert published == []


@pytest.mark.parametrize(
    ("command", "field"),
    [
        pytest.param(cancel(order_id=""), "order_id", id="empty-order"),
        pytest.param(cancel(kind="archive"), "command", id="unknown-kind"),
        pytest.param(cancel(provider="amazon"), "provider", id="unknown-provider"),
        pytest.param(cancel(colour="red"), "colour", id="extra-field"),
        pytest.param(cancel(kind="refund", amount="-1"), "amount", id="negative-amount"),
        pytest.param(cancel(kind="refund", amount="1.001"), "amount", id="sub-cent-amount"),
        pytest.param(cancel(kind="update", changes={"note": "x"}), "changes.note", id="bad-patch"),
    ],
)
def test_bad_input_is_refused_naming_the_field(command, field, producer, store):
    with pytest.raises(InvalidSubmission) as info:
        producer.submit(command)
    assert field in [f for f, _ in info.value.problems], info.value.problems
    assert stored_keys(store) == []


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces-only"),
        pytest.param("evt 1", id="inner-space"),
        pytest.param("é", id="non-ascii"),
        pytest.param("k" * 256, id="too-long"),
    ],
)
def test_a_bad_idempotency_key_is_refused(key, producer, store, published):
    # When a command is submitted under a malformed key
    with pytest.raises(InvalidSubmission) as info:
        producer.submit(cancel(), idempotency_key=key)
    # Then the error names the key, and nothing was admitted or sent
    assert [f for f, _ in info.value.problems] == ["idempotency_key"]
    assert stored_keys(store) == []
    assert published == []


def test_the_longest_key_is_accepted(producer):
    assert producer.submit(cancel(), idempotency_key="k" * 255).admitted is Admitted.NEW


def test_submit_many_with_one_bad_item_admits_nothing(producer, store, published):
    # Given three commands of which the last has two problems
    commands = [cancel(), cancel(order_id="BO-2"), cancel(order_id="", colour="red")]
    # When they are submitted together
    with pytest.raises(InvalidSubmission) as info:
        producer.submit_many(commands)
    # Then each problem is named with its index, and nothing at all was admitted or sent
    assert sorted(f for f, _ in info.value.problems) == ["[2].colour", "[2].order_id"]
    assert str(info.value).startswith("[2].")
    assert stored_keys(store) == []
    assert published == []


def test_submit_many_names_an_account_problem_by_index(producer, store):
    with pytest.raises(InvalidSubmission) as info:
        producer.submit_many([cancel(), cancel(account="nope")])
    assert [f for f, _ in info.value.problems] == ["[1].account"]
    assert stored_keys(store) == []


def test_only_lane_heads_are_published(producer, store, published):
    # Given three commands, two of them for the same order
    commands = [
        cancel(kind="refund"),
        cancel(order_id="BO-2"),
        cancel(),
    ]
    # When they are submitted together
    submissions = producer.submit_many(commands)
    # Then all are admitted, in order, and only the head of each order's lane is sent
    assert [s.admitted for s in submissions] == [Admitted.NEW] * 3
    assert published == [submissions[0].command_id, submissions[1].command_id]
    assert store.lane_ids("backd:acme:BO-1") == [
        submissions[0].command_id,
        submissions[2].command_id,
    ]
    # And a later command behind a busy head is not sent either
    later = producer.submit(cancel(kind="update", changes={"merchant_order_status": "x"}))
    assert later.admitted is Admitted.NEW
    assert published == [submissions[0].command_id, submissions[1].command_id]


def test_submit_many_of_nothing_admits_and_sends_nothing(producer, store, published):
    assert producer.submit_many([]) == []
    assert stored_keys(store) == []
    assert published == []
