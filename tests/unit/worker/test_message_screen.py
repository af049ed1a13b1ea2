"""The broker screens as pure functions: every hostile case gets its reason, a good message none."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from schemas.quarantine import QuarantineReason
from tests.hostile_corpus import Case, call, corpus, envelope
from worker.app import EXECUTE_TASK
from worker.message_screen import Hostile, check_task, parse_envelope

MAX_BYTES = 64 * 1024
VICTIM = "0123456789abcdef0123456789abcdef"
CASES = corpus(VICTIM)


def screened(raw: bytes) -> QuarantineReason | None:
    """Both screens as the worker applies them: the Redis envelope, its body, then the task."""
    try:
        payload = parse_envelope(raw, max_bytes=MAX_BYTES, codecs={"base64"})
        try:
            body: Any = base64.b64decode(payload["body"] or "")
        except ValueError as exc:  # the transport's trial decoding
            raise Hostile(QuarantineReason.BAD_ENCODING, str(exc)) from None
        content = (payload.get("content-type"), payload.get("content-encoding"))
        check_task(payload.get("headers"), body, content, tasks={EXECUTE_TASK}, max_bytes=MAX_BYTES)
    except Hostile as hostile:
        return hostile.reason
    return None


def test_the_corpus_covers_every_reason_but_celerys_own_refusal():
    assert {case.reason for case in CASES} == set(QuarantineReason) - {QuarantineReason.REFUSED}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_hostile_message_is_refused_with_its_reason(case: Case):
    assert screened(case.raw) == case.reason


def test_ordercmds_own_message_passes_both_screens():
    good = envelope("good", call([VICTIM], embed={"callbacks": None}), task_id=VICTIM)
    assert screened(json.dumps(good).encode()) is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (
            {"task": EXECUTE_TASK, "id": VICTIM, "timelimit": [None, 0]},
            QuarantineReason.BAD_HEADERS,
        ),
        ({"task": EXECUTE_TASK, "id": VICTIM, "retries": True}, QuarantineReason.BAD_HEADERS),
        ({"task": EXECUTE_TASK, "id": VICTIM, "shadow": 5}, QuarantineReason.BAD_HEADERS),
        ({"task": EXECUTE_TASK, "id": "x" * 200}, QuarantineReason.BAD_HEADERS),
        ({"task": EXECUTE_TASK, "id": VICTIM, "group": "g"}, QuarantineReason.WORKFLOW),
        (
            {"task": EXECUTE_TASK, "id": VICTIM, "compression": "zlib"},
            QuarantineReason.CONTENT_TYPE,
        ),
        ("not headers", QuarantineReason.BAD_ENVELOPE),
    ],
)
def test_task_headers_are_checked_on_any_transport(headers: Any, reason: QuarantineReason):
    body = json.dumps(call([VICTIM])).encode()
    with pytest.raises(Hostile) as refused:
        check_task(headers, body, ("application/json", "utf-8"), tasks={EXECUTE_TASK}, max_bytes=99)
    assert refused.value.reason is reason


def test_an_oversized_body_is_refused_before_it_is_parsed():
    body = b"[" * 1000
    with pytest.raises(Hostile) as refused:
        check_task(
            {"task": EXECUTE_TASK, "id": VICTIM}, body, ("application/json", None),
            tasks={EXECUTE_TASK}, max_bytes=999,
        )  # fmt: skip
    assert refused.value.reason is QuarantineReason.OVERSIZED


def test_details_are_one_bounded_line():
    with pytest.raises(Hostile) as refused:
        parse_envelope(b"{" + b"x" * 10_000, max_bytes=MAX_BYTES, codecs=())
    assert len(refused.value.detail) <= 200
