"""The envelope a command travels in: idempotency key, submission time, source, batch, producer."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.commands import CancelOrder, Command, RefundOrder, UpdateOrder

IdempotencyKey = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")]
Source = Annotated[str, Field(pattern=r"^(api|http|replay|stream|bulk:[A-Za-z0-9._-]{1,64})$")]
# a producer's name as the settings give it (web.producers.<name>, webhooks' producer)
ProducerName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class CommandEnvelope(BaseModel):
    """A command plus what ordercmd needs to run it exactly once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: Command
    idempotency_key: IdempotencyKey
    submitted_at: AwareDatetime
    source: Source = "api"
    batch_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] | None = None
    # who submitted it (the API key's producer): its webhooks get the command's outcomes
    producer: ProducerName | None = None

    def fingerprint(self) -> str:
        """Digest of the command's canonical content: same content, same fingerprint."""
        return content_digest(self.command)


# built once: json.dumps with these options would build an encoder per call (admission's hot path)
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def content_digest(command: CancelOrder | UpdateOrder | RefundOrder) -> str:
    """SHA-256 of the command's canonical JSON (sorted keys, no whitespace)."""
    canonical = _CANONICAL_JSON.encode(command.model_dump(mode="json", exclude_none=True))
    return hashlib.sha256(canonical.encode()).hexdigest()


def derived_key(command: CancelOrder | UpdateOrder | RefundOrder) -> str:
    """The idempotency key used when the producer gives none: derived from content."""
    return f"content:{content_digest(command)}"
