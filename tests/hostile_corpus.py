"""Hostile broker messages: raw bytes for the ``ordercmd`` Redis list, each with its reason.

Every message carries a marker (``case:<name>:end``) where it can, so its quarantine entry is
found again; the rest are matched by their raw bytes. ``victim`` is the id of a real command:
many cases would execute it (or something else) if a worker accepted them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from schemas.quarantine import QuarantineReason as R
from worker.app import EXECUTE_TASK

PICKLE = "application/x-python-serialize"


@dataclass(frozen=True)
class Case:
    """One hostile message and the reason it must be quarantined with."""

    name: str
    raw: bytes
    reason: R

    @property
    def marker(self) -> str:
        return marker(self.name)


def marker(name: str) -> str:
    return f"case:{name}:end"


def envelope(name: str, body: Any, *, task: Any = EXECUTE_TASK, task_id: Any, **over: Any) -> Any:
    """A kombu Redis envelope as Celery's task protocol 2 writes it; ``over`` replaces fields."""
    headers = {"lang": "py", "task": task, "id": task_id, "retries": 0, "root_id": task_id}
    headers |= over.pop("headers", {})
    text = body if isinstance(body, str) else json.dumps(body)
    payload: dict[str, Any] = {
        "properties": {
            "delivery_tag": marker(name),
            "delivery_info": {"exchange": "", "routing_key": "ordercmd"},
            "body_encoding": "base64",
            "delivery_mode": 2,
            "priority": 0,
        },
        "headers": headers,
        "content-type": "application/json",
        "content-encoding": "utf-8",
        "body": base64.b64encode(text.encode()).decode(),
    }
    payload["properties"] |= over.pop("properties", {})
    return payload | over


def call(args: Any, kwargs: Any = None, embed: Any = None) -> list[Any]:
    """A protocol-2 body: ``[args, kwargs, embed]``."""
    return [args, {} if kwargs is None else kwargs, embed or {}]


def dumped(value: Any) -> bytes:
    return json.dumps(value).encode()


def transport_cases(victim: str) -> list[Case]:
    """Envelopes kombu's Redis transport cannot decode (the first three crash Celery 5.7)."""
    good = envelope("x", call([victim]), task_id=victim)

    def bad(name: str, reason: R, **over: Any) -> Case:
        properties = good["properties"] | {"delivery_tag": marker(name)} | over.pop("props", {})
        payload = {**good, "properties": properties, **over}
        return Case(name, dumped({k: v for k, v in payload.items() if v is not ...}), reason)

    gzip = {"task": EXECUTE_TASK, "compression": "application/x-gzip"}
    huge = envelope("oversized", call([victim, "x" * 100_000]), task_id=victim)
    return [
        bad("unknown-encoding", R.BAD_ENCODING, props={"body_encoding": "rot13"}),
        Case("not-json", b"case:not-json:end {this is not json", R.NOT_JSON),
        Case("json-list", dumped([marker("json-list"), 1, 2]), R.NOT_OBJECT),
        Case("binary", b"\xff\xfe\x00case:binary:end\x80\x81", R.NOT_JSON),
        Case("json-string", dumped(marker("json-string")), R.NOT_OBJECT),
        Case("json-null", b"null", R.NOT_OBJECT),
        Case("deep-nesting", b"[" * 50_000, R.NOT_JSON),
        bad("bad-base64", R.BAD_ENCODING, body="abcde"),
        bad("body-not-string", R.BAD_ENVELOPE, body=[1, 2]),
        bad("no-properties", R.BAD_ENVELOPE, properties=..., tag=marker("no-properties")),
        bad("no-delivery-tag", R.BAD_ENVELOPE, props={"delivery_tag": None}, tag=marker("no-tag")),
        bad("no-delivery-info", R.BAD_ENVELOPE, props={"delivery_info": None}),
        bad("headers-list", R.BAD_ENVELOPE, headers=[EXECUTE_TASK, victim]),
        bad("compressed", R.CONTENT_TYPE, headers=gzip),
        Case("oversized", dumped(huge), R.OVERSIZED),
    ]


def task_cases(victim: str) -> list[Case]:
    """Decodable envelopes that name the wrong task, or ordercmd's task the wrong way."""
    v = victim

    def case(name: str, reason: R, body: Any, **over: Any) -> Case:
        over.setdefault("task_id", v)
        return Case(name, dumped(envelope(name, body, **over)), reason)

    cleanup = {"task": "celery.backend_cleanup", "args": [], "kwargs": {}, "options": {}}
    builtin = [
        ("backend_cleanup", call([])),
        ("chord_unlock", call(["g1", []])),
        ("accumulate", call([1, 2])),
        ("map", call([cleanup, [[1]]])),
        ("starmap", call([cleanup, [[1]]])),
        ("group", call([[cleanup], "g2"])),
    ]
    return [
        *(
            case(f"celery-{name}", R.FOREIGN_TASK, body, task=f"celery.{name}", task_id=f"t-{name}")
            for name, body in builtin
        ),
        case("unknown-name", R.FOREIGN_TASK, call([v]), task="ordercmd.drop_tables"),
        case("task-not-string", R.FOREIGN_TASK, call([v]), task=["ordercmd.execute_command"]),
        case("protocol-1", R.NOT_TASK, {"task": EXECUTE_TASK, "id": v, "args": [v], "kwargs": {}},
             headers={"task": None}),
        case("pickle", R.CONTENT_TYPE, call([v]), **{"content-type": PICKLE}),
        case("yaml", R.CONTENT_TYPE, call([v]), **{"content-type": "application/x-yaml"}),
        case("no-args", R.BAD_ARGUMENTS, call([])),
        case("extra-args", R.BAD_ARGUMENTS, call([v, "again"])),
        case("kwargs", R.BAD_ARGUMENTS, call([], {"command_id": v})),
        case("extra-kwargs", R.BAD_ARGUMENTS, call([v], {"force": True})),
        case("args-wrong-type", R.BAD_ARGUMENTS, call([{"id": v}])),
        case("id-mismatch", R.BAD_ARGUMENTS, call([v]), task_id="0" * 32),
        case("body-not-json", R.BAD_BODY, "not json at all"),
        case("body-object", R.BAD_BODY, {"args": [v]}),
        case("eta", R.WORKFLOW, call([v]), headers={"eta": "2020-01-01T00:00:00+00:00"}),
        case("expires-garbage", R.WORKFLOW, call([v]), headers={"expires": "whenever"}),
        case("callbacks", R.WORKFLOW, call([v], embed={"callbacks": [cleanup]})),
        case("chain", R.WORKFLOW, call([v], embed={"chain": [cleanup]})),
        case("id-not-string", R.BAD_HEADERS, call([v]), task_id=42),
        case("timelimit-garbage", R.BAD_HEADERS, call([v]), headers={"timelimit": ["soon", 1]}),
        case("retries-garbage", R.BAD_HEADERS, call([v]), headers={"retries": "many"}),
    ]  # fmt: skip


def corpus(victim: str) -> list[Case]:
    """Every hostile case; names are unique."""
    cases = transport_cases(victim) + task_cases(victim)
    assert len({c.name for c in cases}) == len(cases)
    return cases
