"""The refund fingerprint is written with its attempt and every later claim carries it."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import Attempt, AttemptOutcome, Fingerprint, RefundPrint
from store import keys
from store.command_store import Claim, CommandStore, Spend
from store.records import read_record
from tests.factories import make_envelope


def claimed(store: CommandStore, command_id: str) -> Claim:
    claim = store.claim(command_id)
    assert isinstance(claim, Claim), claim
    return claim


def attempt(number: int, fingerprint: Fingerprint | None) -> Attempt:
    return Attempt(
        number=number,
        started_at=datetime(2026, 12, 1, tzinfo=UTC),
        duration_ms=5,
        outcome=AttemptOutcome.RETRY,
        fingerprint=fingerprint,
    )


FIRST = Fingerprint(records=(RefundPrint(amount="7.5", status="approved", created="x"),))
LATER = Fingerprint(records=())


def test_the_first_fingerprint_is_kept_for_every_later_claim(store):
    command_id = store.admit(make_envelope()).command_id
    claim = claimed(store, command_id)
    assert claim.fingerprint is None
    store.retry(claim, attempt(1, FIRST), delay_s=0, spend=Spend.ATTEMPT, reconcile_first=True)

    second = claimed(store, command_id)
    store.retry(second, attempt(2, LATER), delay_s=0, spend=Spend.ATTEMPT, reconcile_first=True)
    third = claimed(store, command_id)

    assert (second.fingerprint, third.fingerprint) == (FIRST, FIRST)
    record = read_record(store.client, command_id)
    assert record is not None
    assert [a.fingerprint for a in record.attempts] == [FIRST, LATER]


def test_a_fingerprint_kept_before_the_call_survives_a_delivery_that_dies(store):
    command_id = store.admit(make_envelope()).command_id
    claim = claimed(store, command_id)
    assert store.extend_lease(claim, fingerprint=FIRST)
    assert store.extend_lease(claim, fingerprint=LATER)  # the first one kept stays
    # the delivery dies here: nothing recorded, the lease runs out, another worker claims
    store.client.hset(keys.command(command_id), "lease_until", 0)

    assert claimed(store, command_id).fingerprint == FIRST
