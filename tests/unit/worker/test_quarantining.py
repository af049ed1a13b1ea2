"""Sending a refused message to the quarantine: it never raises, and what it keeps of a message."""

from __future__ import annotations

import json

import fakeredis
from kombu.message import Message

from schemas.quarantine import QuarantineReason
from store.quarantine import Quarantine, QuarantineLimits
from worker.broker_consumer import raw_bytes
from worker.message_screen import Hostile
from worker.quarantining import MessageScreen, StoreSink

HOSTILE = Hostile(QuarantineReason.FOREIGN_TASK, "task 'celery.backend_cleanup' is not ordercmd's")


def test_the_store_sink_keeps_the_message_with_its_reason():
    server = fakeredis.FakeServer()
    sink = StoreSink("redis://fake", QuarantineLimits(max_raw_bytes=100), lambda _: fake(server))
    screen = MessageScreen(frozenset({"ordercmd.execute_command"}), 1024, sink)
    screen.refuse(HOSTILE, b"x" * 500, queue="ordercmd", worker="w1@host")
    (entry,) = Quarantine(fake(server)).page()
    assert (entry.reason, entry.queue, entry.worker) == ("foreign_task", "ordercmd", "w1@host")
    assert (entry.size_bytes, len(entry.raw), entry.raw_truncated) == (500, 100, True)


def test_a_failing_sink_is_logged_and_never_raises(capsys):
    def broken(_):
        raise ConnectionError("store down")

    MessageScreen(frozenset(), 1024, broken).refuse(HOSTILE, b"raw", queue="ordercmd")
    logged = capsys.readouterr()
    assert "broker message dropped without quarantine" in logged.out + logged.err


def test_a_messages_raw_bytes_are_its_headers_properties_and_body():
    message = Message(
        body=b'[["a"], {}, {}]', content_type="application/json", content_encoding="utf-8",
        headers={"task": "celery.backend_cleanup"}, properties={"delivery_tag": 1},
    )  # fmt: skip
    raw = json.loads(raw_bytes(message))
    assert raw["headers"] == {"task": "celery.backend_cleanup"}
    assert raw["body"] == '[["a"], {}, {}]'


def fake(server: fakeredis.FakeServer) -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=server, decode_responses=True)
