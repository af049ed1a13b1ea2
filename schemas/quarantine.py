"""A broker message the worker refused: why, where from, when, and its raw bytes (cut short)."""

from __future__ import annotations

import base64
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_serializer, field_validator


class QuarantineReason(StrEnum):
    """Why a broker message was quarantined instead of executed."""

    OVERSIZED = "oversized"  # more bytes than the worker accepts in one message
    NOT_JSON = "not_json"  # the transport envelope is not JSON text
    NOT_OBJECT = "not_object"  # the envelope is JSON, but not an object
    BAD_ENVELOPE = "bad_envelope"  # properties, delivery tag or headers missing or mistyped
    BAD_ENCODING = "bad_encoding"  # an unknown body_encoding, or a body that does not decode
    CONTENT_TYPE = "content_type"  # anything but uncompressed application/json
    NOT_TASK = "not_task"  # no task name: a protocol-1 or foreign message
    FOREIGN_TASK = "foreign_task"  # a task name that is not ordercmd's (Celery's own included)
    BAD_BODY = "bad_body"  # the body is not JSON ``[args, kwargs, embed]``
    BAD_ARGUMENTS = "bad_arguments"  # args other than the one command id, or any kwargs
    BAD_HEADERS = "bad_headers"  # task headers of the wrong type (id, retries, time limits)
    WORKFLOW = (
        "workflow"  # callbacks, errbacks, chains, chords or an ETA, which ordercmd never sends
    )
    REFUSED = "refused"  # Celery itself refused it after the screen passed it


class QuarantinedMessage(BaseModel):
    """One quarantined message as the store keeps it.

    ``raw`` holds at most the store's byte limit of what arrived (``raw_truncated`` says when it
    was cut); ``size_bytes`` is the whole message's size. Nothing in it is ever executed. In JSON
    ``raw`` is standard base64, and a string given for it is read as base64.
    """

    model_config = ConfigDict(frozen=True)

    reason: QuarantineReason
    detail: str  # what exactly was wrong, one line
    queue: str  # the broker queue (or fanout exchange) it came from
    received_at: AwareDatetime
    size_bytes: int
    raw: bytes
    raw_truncated: bool = False
    worker: str = ""  # the worker's host name

    @field_validator("raw", mode="before")
    @classmethod
    def _raw_from_base64(cls, value: Any) -> Any:
        return base64.b64decode(value, validate=True) if isinstance(value, str) else value

    @field_serializer("raw", when_used="json")
    def _raw_to_base64(self, raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    def raw_text(self) -> str:
        """The raw bytes as text for a terminal or a page; bytes that are not UTF-8 escaped."""
        return self.raw.decode("utf-8", errors="backslashreplace")
