"""For receivers of ordercmd's webhooks: verify a delivery's Standard Webhooks signature.

    from producer.webhooks import WebhookVerificationError, verify_delivery

    event = verify_delivery(request_body_bytes, request_headers, ["whsec_..."])
    # event["type"] == "command.succeeded", event["data"]["command_id"], ...

Pass the raw body bytes as received, and every secret that may sign now (two during a
rotation's overlap). Deliveries come at least once: keep the ``webhook-id`` header of those
you handled and skip repeats. Any Standard Webhooks library verifies them as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from store.webhooks.signing import WebhookVerificationError, verify

__all__ = ["WebhookVerificationError", "verify_delivery"]


def verify_delivery(
    body: bytes, headers: Mapping[str, str], secrets: str | Sequence[str]
) -> dict[str, Any]:
    """The delivery's JSON body (``type``, ``timestamp``, ``data``) once its signature verifies.

    Args:
        body: the request body exactly as received.
        headers: the request headers (``webhook-id``, ``webhook-timestamp``,
            ``webhook-signature``; any case).
        secrets: the subscription's secret, or each secret that may sign now.

    Raises:
        WebhookVerificationError: missing headers, a timestamp more than 5 minutes off, or no
            secret whose signature matches (a tampered body, a wrong secret).
    """
    signing = [secrets] if isinstance(secrets, str) else list(secrets)
    event: dict[str, Any] = verify(body, headers, signing)
    return event
