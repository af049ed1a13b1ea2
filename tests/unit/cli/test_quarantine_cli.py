"""``ordercmd quarantine list`` and ``ordercmd status --quarantine`` against a private Redis."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis

from schemas.quarantine import QuarantinedMessage, QuarantineReason
from store.quarantine import Quarantine
from tests.builders import invoke_cli


@pytest.fixture
def quarantine(redis_url: str, use_settings: Callable[..., None]) -> Quarantine:
    use_settings(redis_url)
    return Quarantine(redis.Redis.from_url(redis_url, decode_responses=True))


def refuse(
    quarantine: Quarantine, reason: QuarantineReason, raw: bytes, *, seconds_ago: float = 0
) -> None:
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)  # newest first: never the same ms
    quarantine.add(
        QuarantinedMessage(
            reason=reason, detail=f"{reason} here", queue="ordercmd",
            received_at=at, size_bytes=len(raw), raw=raw, worker="w1@host",
        )
    )  # fmt: skip


def test_list_prints_the_counts_and_each_message_with_its_reason(quarantine):
    refuse(quarantine, QuarantineReason.NOT_JSON, b"this is not json {", seconds_ago=1)
    refuse(quarantine, QuarantineReason.FOREIGN_TASK, b'{"task": "celery.backend_cleanup"}')
    result = invoke_cli("quarantine", "list")
    assert result.exit_code == 0, result.output
    assert "2 kept, 2 all time (foreign_task 1, not_json 1)" in result.output
    rows = [line for line in result.output.splitlines() if "_" in line and "│" in line]
    assert [("foreign_task" in row, "not_json" in row) for row in rows] == [
        (True, False),
        (False, True),
    ]
    assert '{"task": "celery.backe' in rows[0]
    assert "this is not json {" in rows[1]


def test_list_json_has_the_raw_bytes(quarantine):
    refuse(quarantine, QuarantineReason.NOT_JSON, b"\xff\xfe garbage")
    result = invoke_cli("quarantine", "list", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["kept"], data["all_time"]) == (1, {"not_json": 1})
    (item,) = data["entries"]
    assert base64.b64decode(item["raw"]) == b"\xff\xfe garbage"
    assert (item["reason"], item["queue"], item["worker"]) == ("not_json", "ordercmd", "w1@host")


def test_status_shows_the_quarantine_line(quarantine):
    result = invoke_cli("status", "--quarantine")
    assert result.exit_code == 0, result.output
    assert "quarantined broker messages: 0 kept, 0 all time" in result.output
    refuse(quarantine, QuarantineReason.OVERSIZED, b"x" * 10)
    data = json.loads(invoke_cli("status", "--quarantine", "--json").stdout)
    assert (data["kept"], [e["reason"] for e in data["entries"]]) == (1, ["oversized"])


def test_status_refuses_quarantine_with_a_command_id(quarantine):
    result = invoke_cli("status", "abc", "--quarantine")
    assert result.exit_code == 2
    assert "at most one of" in result.output


def test_the_bare_status_summary_has_the_quarantine_line(quarantine):
    refuse(quarantine, QuarantineReason.NOT_JSON, b"not json")
    result = invoke_cli("status")
    assert result.exit_code == 0, result.output
    assert "quarantined broker messages: 1 kept, 1 all time (not_json 1)" in result.output
    data = json.loads(invoke_cli("status", "--json").stdout)
    assert data["quarantine"] == {"kept": 1, "all_time": {"not_json": 1}}
