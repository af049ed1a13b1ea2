"""Redis Streams intake: a consumer group turns order events into admitted commands.

An event is a stream entry with a ``command`` field (the command as JSON) and optionally an
``idempotency_key`` (else its ``event_id`` field, else ``stream:<stream>:<entry id>``). An entry
is acknowledged only after its command is admitted, so a consumer killed at any point loses
nothing: on restart it first re-reads its own pending entries (``XREADGROUP`` from ``0``),
and every consumer claims entries left pending by dead ones (``XAUTOCLAIM``). Admission is
idempotent by key, so an entry handled twice is one command. An event that cannot become a
command is acknowledged and recorded, with the reason, in a dead-event stream: a bad event
never stops the stream.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import structlog
from pydantic import TypeAdapter, ValidationError

from producer.api import Producer
from producer.validation import problems_of
from providers.errors import InvalidSubmission
from schemas import CommandEnvelope
from store import keys
from store.clock import utcnow
from store.command_store import Admitted

log = structlog.get_logger("ordercmd.streams")

_JSON_OBJECT: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])
Entry = tuple[str, dict[str, str] | None]  # (entry id, fields); fields None: entry deleted
RETRY_AFTER_ERROR_S = 1.0  # pause after a Redis error before reading again


@dataclass(frozen=True)
class StreamConfig:
    """Which stream and group to read, as whom, and how."""

    stream: str = field(default_factory=keys.event_stream)
    group: str = "ordercmd"
    consumer: str = "intake-1"  # keep it stable across restarts: pending entries are per name
    count: int = 100  # entries per read
    block_ms: int = 1000
    claim_idle_ms: int = 60_000  # a pending entry idle this long belongs to a dead consumer
    dead_maxlen: int = 100_000  # dead events kept (approximately)

    @property
    def dead_stream(self) -> str:
        """Where refused events go."""
        return keys.dead_events(self.stream)


@dataclass
class IntakeStats:
    """What a consumer did so far."""

    read: int = 0
    new: int = 0
    existing: int = 0
    dead: int = 0
    claimed: int = 0


class StreamIntake:
    """One consumer of the group; run several (distinct names) to share the stream."""

    def __init__(self, producer: Producer, client: redis.Redis, config: StreamConfig) -> None:
        self.producer = producer
        self.client = client
        self.config = config
        self.stats = IntakeStats()
        self._claim_due = 0.0

    def ensure_group(self) -> None:
        """Create the stream and the group (from the stream's start) when missing."""
        try:
            self.client.xgroup_create(self.config.stream, self.config.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def run(self, stop: threading.Event) -> IntakeStats:
        """Consume until ``stop`` is set; Redis errors are logged and retried, never fatal."""
        self.ensure_group()
        pending_first = True
        while not stop.is_set():
            try:
                if pending_first:
                    self.drain_own_pending()
                    pending_first = False
                self.step()
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                log.warning("stream intake: Redis error, retrying", error=type(exc).__name__)
                pending_first = True  # what was read may be unacknowledged: read it again
                stop.wait(RETRY_AFTER_ERROR_S)
        return self.stats

    def step(self) -> int:
        """Claim stale entries when due, then read (and block for) new ones.

        Returns:
            How many entries were handled.
        """
        handled = 0
        if time.monotonic() >= self._claim_due:
            handled += self.claim_stale()
            self._claim_due = time.monotonic() + max(self.config.claim_idle_ms / 2000, 1.0)
        return handled + self._read(">", block_ms=self.config.block_ms)

    def drain_own_pending(self) -> int:
        """Handle this consumer's entries read before and never acknowledged (a crash)."""
        handled, start = 0, "0"
        while entries := self._read_group(start, block_ms=None):
            self.handle(entries)
            handled += len(entries)
            start = entries[-1][0]
        return handled

    def claim_stale(self) -> int:
        """Take over and handle entries other consumers left pending past ``claim_idle_ms``."""
        handled, start = 0, "0-0"
        while True:
            reply: Any = self.client.xautoclaim(
                self.config.stream,
                self.config.group,
                self.config.consumer,
                self.config.claim_idle_ms,
                start_id=start,
                count=self.config.count,
            )
            start, entries = str(reply[0]), list(reply[1])  # [next start, [(id, fields)], ...]
            if entries:
                self.stats.claimed += len(entries)
                self.handle(entries)
                handled += len(entries)
            if start == "0-0":
                return handled

    def _read(self, start: str, *, block_ms: int | None) -> int:
        entries = self._read_group(start, block_ms=block_ms)
        if entries:
            self.handle(entries)
        return len(entries)

    def _read_group(self, start: str, *, block_ms: int | None) -> list[Entry]:
        reply: Any = self.client.xreadgroup(
            self.config.group,
            self.config.consumer,
            {self.config.stream: start},
            count=self.config.count,
            block=block_ms,
        )
        return list(reply[0][1]) if reply else []  # RESP2: [[stream, [(id, fields), ...]]]

    def handle(self, entries: Sequence[Entry]) -> None:
        """Admit what can be admitted, dead-letter the rest, then acknowledge them all."""
        self.stats.read += len(entries)
        accepted: list[tuple[str, dict[str, str], CommandEnvelope]] = []
        refused: list[tuple[str, dict[str, str], str]] = []
        for entry_id, fields in entries:
            if fields is None:  # deleted from the stream while pending: nothing to admit
                continue
            try:
                accepted.append((entry_id, fields, self.envelope(entry_id, fields)))
            except InvalidSubmission as exc:
                refused.append((entry_id, fields, str(exc)))
            except Exception as exc:  # one odd event must not stop the stream
                refused.append((entry_id, fields, f"cannot read the event: {exc!r}"))
        submissions = self.producer.admit([envelope for _, _, envelope in accepted])
        for (entry_id, fields, envelope), submission in zip(accepted, submissions, strict=True):
            if submission.admitted is Admitted.CONFLICT:
                reason = (
                    f"idempotency_key: {envelope.idempotency_key!r} was used before for a "
                    f"different command ({submission.command_id})"
                )
                refused.append((entry_id, fields, reason))
            elif submission.admitted is Admitted.NEW:
                self.stats.new += 1
            else:
                self.stats.existing += 1
        self._acknowledge([entry_id for entry_id, _ in entries], refused)

    def envelope(self, entry_id: str, fields: dict[str, str]) -> CommandEnvelope:
        """The envelope of one event.

        Raises:
            InvalidSubmission: the event is not a valid command (the error names the field).
        """
        text = fields.get("command")
        if text is None:
            raise InvalidSubmission([("command", "missing: the event has no 'command' field")])
        try:
            data = _JSON_OBJECT.validate_json(text)
        except ValidationError as exc:
            reason = "; ".join(r for _, r in problems_of(exc))
            raise InvalidSubmission([("command", f"not a JSON object: {reason}")]) from None
        key = (
            fields.get("idempotency_key")
            or fields.get("event_id")
            or f"stream:{self.config.stream}:{entry_id}"
        )
        return self.producer.envelope(data, idempotency_key=key, source="stream")

    def _acknowledge(self, ids: list[str], refused: list[tuple[str, dict[str, str], str]]) -> None:
        pipe = self.client.pipeline(transaction=True)  # dead records and acks land together
        for entry_id, fields, reason in refused:
            pipe.xadd(
                self.config.dead_stream,
                {
                    "entry_id": entry_id,
                    "stream": self.config.stream,
                    "reason": reason[:1000],
                    "fields": json.dumps(fields, ensure_ascii=False)[:10_000],
                    "at": utcnow().isoformat(),
                },
                maxlen=self.config.dead_maxlen,
                approximate=True,
            )
        pipe.xack(self.config.stream, self.config.group, *ids)
        pipe.execute()
        self.stats.dead += len(refused)
        for entry_id, _, reason in refused:
            log.warning("stream intake: event refused", entry_id=entry_id, reason=reason)
