"""A broker message the worker refused: why, where from, when, and its raw bytes (cut short)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict


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
    was cut); ``size_bytes`` is the whole message's size. Nothing in it is ever executed.
    """

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    reason: QuarantineReason
    detail: str  # what exactly was wrong, one line
    queue: str  # the broker queue (or fanout exchange) it came from
    received_at: AwareDatetime
    size_bytes: int
    raw: bytes
    raw_truncated: bool = False
    worker: str = ""  # the worker's host name

    def raw_text(self) -> str:
        """The raw bytes as text for a terminal or a page; bytes that are not UTF-8 escaped."""
        return self.raw.decode("utf-8", errors="backslashreplace")
