"""HTTP for every adapter: the client factory, the status→class mapping and the read retries.

Adapters never build clients or import httpx: they receive a ``Client`` and talk through
``call`` (mutations, with an ``Idempotency-Key``) and ``read`` (``GET`` with in-request retries).
"""

from providers.http.body import MAX_MESSAGE_CHARS, provider_message, redact
from providers.http.client import (
    READ_ATTEMPTS,
    BodyCheck,
    Client,
    Reply,
    Response,
    Sleep,
    build_client,
    call,
    deadline_s,
    is_read_blip,
    read,
    read_retrying,
    transport_error,
)
from providers.http.deadline import Fence, deadline, fence_allows, fenced
from providers.http.status import (
    class_for_status,
    decode_object,
    raise_for_provider_response,
    refusal,
)
from providers.http.transport import DeadlineTransport
from providers.http.wire import (
    RECORD_MARGIN,
    decimal_of,
    fields_match,
    json_number,
    parse_retry_after,
    retry_after_s,
)

__all__ = [
    "MAX_MESSAGE_CHARS",
    "READ_ATTEMPTS",
    "RECORD_MARGIN",
    "BodyCheck",
    "Client",
    "DeadlineTransport",
    "Fence",
    "Reply",
    "Response",
    "Sleep",
    "build_client",
    "call",
    "class_for_status",
    "deadline",
    "deadline_s",
    "decimal_of",
    "decode_object",
    "fence_allows",
    "fenced",
    "fields_match",
    "is_read_blip",
    "json_number",
    "parse_retry_after",
    "provider_message",
    "raise_for_provider_response",
    "read",
    "read_retrying",
    "redact",
    "refusal",
    "retry_after_s",
    "transport_error",
]
