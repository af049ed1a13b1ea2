"""A batch's admission items, built on first read, are what validating each envelope would give."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from producer import prepared_batch
from producer.prepared_batch import PreparedBatch
from producer.validation import to_command, to_envelope
from schemas import CommandEnvelope
from store.admission import Prepared
from tests.factories import SUBMITTED_AT
from tests.strategies import commands


def validated(data: dict[str, object], *, source: str, producer: str | None) -> Prepared:
    """The item of one command as ``submit`` builds it: its envelope validated in full."""
    envelope = to_envelope(
        to_command(data),
        idempotency_key=None,
        submitted_at=SUBMITTED_AT,
        source=source,
        producer=producer,
    )
    return Prepared.of(envelope)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepared_batch, "utcnow", lambda: SUBMITTED_AT)


@given(
    st.lists(commands(), min_size=1, max_size=8),
    st.sampled_from(["api", "bulk:b-1", "stream"]),
    st.none() | st.just("shop-app"),
)
def test_every_item_is_the_one_a_validated_envelope_gives(data, source, producer):
    # Given commands validated together, their first envelope validated in full
    first = validated(data[0], source=source, producer=producer)
    envelope = CommandEnvelope.model_validate_json(first.envelope_json)
    batch = PreparedBatch(envelope, [to_command(d) for d in data])
    # Then each item, read in any order, is the one built from its own validated envelope
    expected = [validated(d, source=source, producer=producer) for d in data]
    assert list(reversed(batch)) == expected[::-1]
    assert list(batch) == expected
    # And each item's JSON validates back into the same envelope
    for item in batch:
        assert CommandEnvelope.model_validate_json(item.envelope_json).model_dump_json() == (
            item.envelope_json
        )


def test_an_item_is_built_only_when_read():
    data = [
        {"kind": "cancel", "provider": "backd", "account": "a", "order_id": f"o{i}"}
        for i in range(5)
    ]
    models = [to_command(d) for d in data]
    first = to_envelope(models[0], idempotency_key=None, submitted_at=SUBMITTED_AT, source="api")
    batch = PreparedBatch(first, models)
    assert len(batch) == 5
    assert batch._built == []
    # When a chunk is sliced, its items and none after them are built
    chunk = batch[1:3]
    assert [item.lane for item in chunk] == ["backd:a:o1", "backd:a:o2"]
    assert len(batch._built) == 3
    assert batch[-1].lane == "backd:a:o4"
    assert batch[5:] == []
