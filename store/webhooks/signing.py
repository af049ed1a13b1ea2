"""Standard Webhooks signing and verification (the ``standardwebhooks`` library), with rotation.

A delivery is signed with every secret the subscription has now: during a rotation's overlap
the ``webhook-signature`` header carries two signatures, and a receiver holding either secret
verifies it. ``webhook-id`` is the outcome event's, the same on every retry and replay.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = [
    "WebhookVerificationError",
    "new_secret",
    "payload",
    "sign",
    "verify",
    "webhook_id",
]

SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret, ``whsec_<base64 of 32 random bytes>``."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def webhook_id(event_id: str) -> str:
    """The ``webhook-id`` of an outcome event: stable across retries, replays and endpoints."""
    return f"msg_{event_id}"


def payload(event: Mapping[str, Any]) -> bytes:
    """The body of a delivery: ``{"type": "command.<event>", "timestamp", "data"}`` as JSON."""
    at = datetime.fromtimestamp(int(event["at_ms"]) / 1000, tz=UTC)
    body = {
        "type": f"command.{event['event']}",
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "data": {k: v for k, v in event.items() if k != "event_id"},
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def sign(
    event_id: str, body: bytes, signing_secrets: Sequence[str], *, at: datetime
) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt made at ``at``.

    Raises:
        ValueError: no secret to sign with.
    """
    if not signing_secrets:
        raise ValueError("a delivery needs at least one signing secret")
    msg_id = webhook_id(event_id)
    signatures = " ".join(Webhook(s).sign(msg_id, at, body) for s in signing_secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


def verify(body: bytes, headers: Mapping[str, str], signing_secrets: Sequence[str]) -> Any:
    """The delivery's JSON body, once its signature verifies with one of ``signing_secrets``.

    Pass the raw body bytes as received. The timestamp must be within 5 minutes of now (the
    library's tolerance), which stops replays of captured deliveries.

    Raises:
        WebhookVerificationError: missing headers, a stale or future timestamp, or no secret
            whose signature matches (tampered body, wrong secret).
    """
    plain = dict(headers.items())
    error: WebhookVerificationError | None = None
    for secret in signing_secrets:
        try:
            return Webhook(secret).verify(body, plain)
        except WebhookVerificationError as exc:
            error = exc
    raise error or WebhookVerificationError("no secret to verify with")
