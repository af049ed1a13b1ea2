"""``ordercmd status``: a wait reads as a wait, with what for and until when; never a retry."""

from __future__ import annotations

from datetime import UTC, datetime

from cli.output import state_label, wait_line
from schemas import CommandRecord, CommandState, WaitingFor
from tests.factories import make_envelope

AT = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def record(**fields: object) -> CommandRecord:
    return CommandRecord(
        id="c1", envelope=make_envelope("k"), created_at=AT, updated_at=AT, **fields
    )  # type: ignore[arg-type]


def test_a_rate_wait_says_so_with_its_slot_and_no_attempt_spent():
    waiting = record(state=CommandState.WAITING, waiting_for=WaitingFor.RATE, waiting_until=AT)
    assert state_label(waiting) == "waiting (rate)"
    assert wait_line(waiting) == (
        "waiting for its slot under the account's rate limit, until 2026-12-06 03:00:00"
        " (no attempt spent)"
    )


def test_a_backlog_wait_gives_its_place_and_an_eta():
    waiting = record(state=CommandState.WAITING, waiting_for=WaitingFor.BACKLOG,
                     backlog_place=7, waiting_until=AT)  # fmt: skip
    assert state_label(waiting) == "waiting (backlog)"
    assert "place 7, ETA about 2026-12-06 03:00:00" in wait_line(waiting)


def test_a_retry_is_no_wait():
    retrying = record(state=CommandState.RETRYING, next_attempt_at=AT)
    assert (state_label(retrying), wait_line(retrying)) == ("retrying", "")
