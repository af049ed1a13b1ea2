"""Structured logs: one JSON line per event, with the command's coordinates and no secrets."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog

from providers.errors import OrderNotFound
from providers.fake import FakeProvider
from tests.builders import make_runtime
from tests.factories import make_envelope
from worker.executor import execute
from worker.logs import PER_TASK_LOGGERS, REDACTED, configure_logging, redact_secrets
from worker.runtime import Runtime

SECRET = "sk_live_TOPSECRET"


@pytest.mark.parametrize(
    "name",
    [
        "secret_key",
        "client_secret",
        "access_token",
        "token",
        "password",
        "db_PASSWORD",
        "authorization",
        "Authorization",
        "api_key",
    ],
)
def test_fields_named_like_a_credential_are_blanked(name):
    event = {"event": "calling provider", name: SECRET, "command_id": "c1", "order_id": "O-1"}
    assert redact_secrets(None, "info", event) == {
        "event": "calling provider",
        name: REDACTED,
        "command_id": "c1",
        "order_id": "O-1",
    }


def test_other_fields_are_left_alone():
    event = {"event": "x", "provider": "backd", "attempt": 2, "outcome": "retrying"}
    assert redact_secrets(None, "info", dict(event)) == event


def test_credentials_inside_a_nested_mapping_are_blanked():
    # Given headers logged as one field, as an HTTP trace would
    event = {"event": "request", "headers": {"Authorization": f"Basic {SECRET}", "Accept": "*/*"}}
    # When the event is redacted
    redacted = redact_secrets(None, "info", event)
    # Then the credential inside is gone too
    assert SECRET not in json.dumps(redacted)


@pytest.fixture
def json_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Logging configured as a worker does, into a buffer; returns a reader of its JSON lines."""
    buffer = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", buffer)  # configure_logging writes to stderr as it is now
        configure_logging("INFO")
    # Loggers cached on first use would keep this buffer after the test: leave nothing cached.
    structlog.configure(cache_logger_on_first_use=False)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield read
    structlog.reset_defaults()
    logging.captureWarnings(False)


@pytest.fixture
def runtime() -> Runtime:
    fake = FakeProvider(statuses={"BO-000001": "open"})
    fake.script("BO-000002", OrderNotFound(provider="fake", status_code=404))
    return make_runtime(fake, secret_key=SECRET)


def attempt_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == "command attempt"]


def test_an_attempt_is_one_json_line_with_the_command_coordinates(runtime, json_lines):
    # Given a command the provider will accept
    command_id = runtime.store.admit(make_envelope("k1")).command_id
    # When a worker executes it
    execute(command_id, runtime)
    # Then one JSON line says which command, where, which attempt and how it ended
    [line] = attempt_lines(json_lines())
    assert {k: line[k] for k in ("command_id", "provider", "kind", "order_id", "attempt")} == {
        "command_id": command_id,
        "provider": "backd",
        "kind": "cancel",
        "order_id": "BO-000001",
        "attempt": 1,
    }
    assert (line["outcome"], line["level"]) == ("succeeded", "info")
    assert line["timestamp"].endswith("Z")


def test_a_dead_letter_is_logged_with_its_reason_and_no_secret(runtime, json_lines):
    command_id = runtime.store.admit(make_envelope("k2", order_id="BO-000002")).command_id
    execute(command_id, runtime)
    lines = json_lines()
    [line] = attempt_lines(lines)
    assert (line["command_id"], line["outcome"], line["reason"]) == (
        command_id,
        "dead",
        "not_found",
    )
    assert SECRET not in json.dumps(lines)


def test_a_credential_passed_to_a_logger_never_reaches_the_output(json_lines):
    structlog.get_logger("ordercmd.test").info("connecting", token=SECRET, account="acme")
    [line] = json_lines()
    assert (line["token"], line["account"], line["event"]) == (REDACTED, "acme", "connecting")


@pytest.mark.parametrize(("level", "per_task_lines"), [("INFO", False), ("DEBUG", True)])
def test_celerys_per_task_lines_come_only_at_debug(level, per_task_lines, monkeypatch):
    # ordercmd's line per attempt says more than Celery's "received" and "succeeded in" pair
    root = logging.getLogger()
    kept = [(logger, logger.level) for logger in map(logging.getLogger, PER_TASK_LOGGERS)]
    kept.append((root, root.level))
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    try:
        configure_logging(level)
        enabled = [logging.getLogger(n).isEnabledFor(logging.INFO) for n in PER_TASK_LOGGERS]
        assert enabled == [per_task_lines] * len(PER_TASK_LOGGERS)
        assert logging.getLogger("celery.worker.consumer").isEnabledFor(logging.INFO)
    finally:
        for logger, old in kept:
            logger.setLevel(old)
        structlog.reset_defaults()
        logging.captureWarnings(False)
