"""What the worker accepts from the broker: checks that turn a hostile message into a reason.

Two screens, both pure. ``parse_envelope`` reads the Redis transport's JSON envelope, so that
kombu can build a message from it without raising out of the consumer loop. ``check_task``
reads a kombu message on any transport, so that only ordercmd's own task with one command id
reaches Celery's strategy. Anything else raises `Hostile` with the reason for the quarantine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from kombu.utils.json import loads

from schemas.quarantine import QuarantineReason

DETAIL_CHARS = 200
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
WORKFLOW_EMBED = ("callbacks", "errbacks", "chain", "chord")
JSON_TYPE = "application/json"


class Hostile(Exception):
    """A broker message the worker refuses; ``reason`` classifies it, ``detail`` says what."""

    def __init__(self, reason: QuarantineReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail[:DETAIL_CHARS]


def _clip(value: object) -> str:
    return repr(value)[:80]


def parse_envelope(raw: bytes, *, max_bytes: int, codecs: Collection[str]) -> dict[str, Any]:
    """The Redis transport's envelope in ``raw``, decoded as kombu decodes it, and checked.

    Args:
        raw: the bytes popped from the queue's list.
        max_bytes: the largest message accepted.
        codecs: the ``body_encoding`` names the channel can decode (besides utf-8).

    Raises:
        Hostile: too large, not JSON, not an object, or missing what kombu needs.
    """
    if len(raw) > max_bytes:
        raise Hostile(QuarantineReason.OVERSIZED, f"{len(raw)} bytes (at most {max_bytes})")
    try:
        payload = loads(raw.decode("utf-8"))  # type: ignore[no-untyped-call]
    except Exception as exc:  # kombu's object hook raises more than ValueError
        raise Hostile(QuarantineReason.NOT_JSON, f"{type(exc).__name__}: {exc}") from None
    check_envelope(payload, codecs)
    return payload  # type: ignore[no-any-return]


def check_envelope(payload: object, codecs: Collection[str]) -> None:
    """Raise `Hostile` unless ``payload`` has the fields kombu's virtual transport relies on."""
    if not isinstance(payload, dict):
        raise Hostile(
            QuarantineReason.NOT_OBJECT, f"the envelope is a JSON {type(payload).__name__}"
        )
    properties = payload.get("properties")
    if not isinstance(properties, dict):
        raise Hostile(QuarantineReason.BAD_ENVELOPE, f"properties is {_clip(properties)}")
    tag = properties.get("delivery_tag")
    if not isinstance(tag, str) or not 0 < len(tag) <= 128:
        raise Hostile(QuarantineReason.BAD_ENVELOPE, f"delivery_tag is {_clip(tag)}")
    info = properties.get("delivery_info")
    if not isinstance(info, dict) or not all(
        isinstance(info.get(name), str) for name in ("exchange", "routing_key")
    ):
        raise Hostile(QuarantineReason.BAD_ENVELOPE, f"delivery_info is {_clip(info)}")
    _check_fields(payload)
    encoding = properties.get("body_encoding")
    if encoding is not None and (
        not isinstance(encoding, str) or (encoding.lower() != "utf-8" and encoding not in codecs)
    ):
        raise Hostile(QuarantineReason.BAD_ENCODING, f"unknown body_encoding {_clip(encoding)}")


def _check_fields(payload: dict[str, Any]) -> None:
    """Headers an object, body and content fields strings, and no compression."""
    headers = payload.get("headers")
    if headers is not None and not isinstance(headers, dict):
        raise Hostile(QuarantineReason.BAD_ENVELOPE, f"headers is {_clip(headers)}")
    for name in ("body", "content-type", "content-encoding"):
        if payload.get(name) is not None and not isinstance(payload.get(name), str):
            raise Hostile(QuarantineReason.BAD_ENVELOPE, f"{name} is {_clip(payload[name])}")
    if (headers or {}).get("compression") is not None:
        raise Hostile(QuarantineReason.CONTENT_TYPE, "compressed bodies are not accepted")


def check_task(
    headers: object,
    body: bytes | str | None,
    content: tuple[str | None, str | None],
    *,
    tasks: Collection[str],
    max_bytes: int,
) -> None:
    """Raise `Hostile` unless this is one of ``tasks`` called with one command id, and no more.

    Args:
        headers: the message's headers (Celery task protocol 2).
        body: the message's body as it arrived (after the transport's body decoding).
        content: the message's content type and content encoding.
        tasks: the task names that may execute.
        max_bytes: the largest body accepted.
    """
    if not isinstance(headers, Mapping):
        raise Hostile(QuarantineReason.BAD_ENVELOPE, f"headers is {_clip(headers)}")
    name = headers.get("task")
    if name is None:
        raise Hostile(QuarantineReason.NOT_TASK, "no task header (task protocol 1, or not a task)")
    if not isinstance(name, str) or name not in tasks:
        raise Hostile(QuarantineReason.FOREIGN_TASK, f"task {_clip(name)} is not ordercmd's")
    content_type, encoding = content
    if content_type != JSON_TYPE or (encoding or "utf-8").lower() != "utf-8":
        raise Hostile(QuarantineReason.CONTENT_TYPE, f"content {_clip(content_type)} {encoding}")
    if headers.get("compression") is not None:
        raise Hostile(QuarantineReason.CONTENT_TYPE, "compressed bodies are not accepted")
    size = len(body or b"")
    if size > max_bytes:
        raise Hostile(QuarantineReason.OVERSIZED, f"body of {size} bytes (at most {max_bytes})")
    check_headers(headers)
    check_body(body, str(headers["id"]))


def check_headers(headers: Mapping[str, Any]) -> None:
    """Raise `Hostile` for task headers Celery would choke on or ordercmd never sends."""
    task_id = headers.get("id")
    if not isinstance(task_id, str) or not ID_PATTERN.fullmatch(task_id):
        raise Hostile(QuarantineReason.BAD_HEADERS, f"id is {_clip(task_id)}")
    for name in ("eta", "expires", "group", "chord"):
        if headers.get(name) is not None:
            raise Hostile(QuarantineReason.WORKFLOW, f"{name} is set ({_clip(headers[name])})")
    retries = headers.get("retries")
    if retries is not None and (type(retries) is not int or retries < 0):
        raise Hostile(QuarantineReason.BAD_HEADERS, f"retries is {_clip(retries)}")
    limits = headers.get("timelimit")
    if limits is not None and not (
        isinstance(limits, list | tuple)
        and len(limits) == 2
        and all(v is None or (type(v) in (int, float) and v > 0) for v in limits)
    ):
        raise Hostile(QuarantineReason.BAD_HEADERS, f"timelimit is {_clip(limits)}")
    for name in ("shadow", "root_id", "parent_id", "argsrepr", "kwargsrepr", "origin"):
        if headers.get(name) is not None and not isinstance(headers[name], str):
            raise Hostile(QuarantineReason.BAD_HEADERS, f"{name} is {_clip(headers[name])}")


def check_body(body: bytes | str | None, task_id: str) -> None:
    """Raise `Hostile` unless ``body`` is ``[[task_id], {}, embed]`` with no workflow in embed."""
    try:
        decoded = json.loads(body or b"")
    except (ValueError, RecursionError) as exc:
        raise Hostile(QuarantineReason.BAD_BODY, f"{type(exc).__name__}: {exc}") from None
    if not (isinstance(decoded, list) and len(decoded) == 3):
        raise Hostile(QuarantineReason.BAD_BODY, "the body is not [args, kwargs, embed]")
    args, kwargs, embed = decoded
    if args != [task_id]:
        raise Hostile(QuarantineReason.BAD_ARGUMENTS, f"args {_clip(args)}, not [task id]")
    if kwargs != {}:
        raise Hostile(QuarantineReason.BAD_ARGUMENTS, f"kwargs {_clip(kwargs)}, not {{}}")
    if embed is not None and not isinstance(embed, dict):
        raise Hostile(QuarantineReason.BAD_BODY, f"embed is {_clip(embed)}")
    for name in WORKFLOW_EMBED:
        if (embed or {}).get(name):
            raise Hostile(QuarantineReason.WORKFLOW, f"{name} is set")
