"""Celery's consumer with a screen before its task strategies, on every transport.

Celery runs any registered task a message names, its own built-ins (``celery.backend_cleanup``,
``celery.chord_unlock``, ...) included, and answers a malformed message with a log line. This
consumer (``worker_consumer``) checks each task message with `worker.message_screen.check_task`
first: only ordercmd's own task with one command id goes on to Celery; the rest, and whatever
Celery itself refuses or raises on, is quarantined and acked so it does not come round again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from celery.utils.log import get_logger
from celery.worker.consumer import Consumer
from kombu.message import Message
from vine import promise  # type: ignore[import-untyped]

from schemas.quarantine import QuarantineReason
from worker.folded_acks import DELIVERY_TAG_HEADER
from worker.message_screen import Hostile, check_task
from worker.quarantining import LOG_ONLY, MessageScreen

logger = get_logger(__name__)
RAW_BODY_BYTES = 64 * 1024  # of a message's body rendered for the quarantine (it keeps less)


def raw_bytes(message: Message) -> bytes:
    """The message as it arrived: the Redis envelope itself, else headers, properties and body."""
    raw = getattr(message, "_raw", None)
    if isinstance(raw, dict):
        return json.dumps(raw, default=repr).encode()
    body = message.body or b""
    text = body[:RAW_BODY_BYTES]
    rendered = {
        "headers": message.headers,
        "properties": message.properties,
        "content-type": message.content_type,
        "content-encoding": message.content_encoding,
        "body": text.decode("utf-8", "backslashreplace") if isinstance(text, bytes) else text,
    }
    return json.dumps(rendered, default=repr).encode()


class GuardedConsumer(Consumer):  # type: ignore[misc]
    """Screens task messages; the screen comes from Celery's ``ordercmd_screen`` setting."""

    @property
    def screen(self) -> MessageScreen:
        """The screen Celery's config carries (a log-only one that accepts no task, if none)."""
        screen = self.app.conf.get("ordercmd_screen")
        return screen if isinstance(screen, MessageScreen) else LOG_ONLY

    def create_task_handler(self, promise: Any = promise) -> Callable[[Message], Any]:
        """Celery's handler behind the screen; what Celery raises on is quarantined too."""
        handle = super().create_task_handler(promise)
        screen = self.screen

        def on_task_received(message: Message) -> Any:
            try:
                check_task(
                    message.headers,
                    message.body,
                    (message.content_type, message.content_encoding),
                    tasks=screen.tasks,
                    max_bytes=screen.max_message_bytes,
                )
            except Hostile as hostile:
                return self.quarantine(hostile, message)
            if isinstance(message.headers, dict):  # the tag kombu acks, whatever it said
                message.headers[DELIVERY_TAG_HEADER] = message.delivery_tag
            try:
                return handle(message)
            except self.connection_errors:
                raise
            except Exception as exc:
                detail = f"{type(exc).__name__}: {exc}"
                return self.quarantine(Hostile(QuarantineReason.REFUSED, detail), message)

        return on_task_received

    def quarantine(self, hostile: Hostile, message: Message) -> None:
        """Record ``message`` in the quarantine, then ack it (it is never executed)."""
        queue = (message.delivery_info or {}).get("routing_key") or ""
        self.screen.refuse(hostile, raw_bytes(message), queue=str(queue), worker=self.hostname)
        if not message.acknowledged:
            message.ack_log_error(logger, self.connection_errors)  # type: ignore[no-untyped-call]

    def on_unknown_message(self, body: Any, message: Message) -> None:
        """A message with no task name got past the screen: quarantine it."""
        self.quarantine(Hostile(QuarantineReason.NOT_TASK, "not a task message"), message)

    def on_unknown_task(self, body: Any, message: Message, exc: Exception) -> None:
        """A task name with no strategy got past the screen: quarantine it."""
        self.quarantine(Hostile(QuarantineReason.FOREIGN_TASK, f"unknown task: {exc}"), message)

    def on_invalid_task(self, body: Any, message: Message, exc: Exception) -> None:
        """Celery refused the message (bad ETA, content not accepted): quarantine it."""
        detail = f"{type(exc).__name__}: {exc}"
        self.quarantine(Hostile(QuarantineReason.REFUSED, detail), message)

    def on_decode_error(self, message: Message, exc: Exception) -> None:
        """The body did not decode (or decompress): quarantine it."""
        detail = f"{type(exc).__name__}: {exc}"
        self.quarantine(Hostile(QuarantineReason.BAD_BODY, detail), message)
