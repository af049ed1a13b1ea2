"""Producers' API keys: ``Authorization: Bearer <key>`` or ``X-API-Key``, checked by argon2.

A verified key is remembered in memory by its SHA-256, so a producer's requests cost one argon2
verification per process, not one each.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from config.web import ProducerKey
from web.auth import verify
from web.intake_errors import IntakeError
from web.state import AppState, app_state

KEY_DESCRIPTION = "A producer's API key; its argon2 hash is web.producers.<name>.key_hash."
bearer = HTTPBearer(auto_error=False, scheme_name="ProducerBearer", description=KEY_DESCRIPTION)
api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="ProducerApiKey", description=KEY_DESCRIPTION
)
MAX_REMEMBERED = 1000  # verified keys kept; only configured keys verify, so this is never hit

_verified: dict[tuple[str, str], str] = {}  # (key digest, key hash) -> producer name
_lock = threading.Lock()


def producer_for(producers: dict[str, ProducerKey], key: str) -> str | None:
    """The producer whose key this is, or ``None``."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    for name, producer in sorted(producers.items()):
        if _verified.get((digest, producer.key_hash)) == name:
            return name
    for name, producer in sorted(producers.items()):
        if verify(producer.key_hash, key):
            with _lock:
                if len(_verified) >= MAX_REMEMBERED:
                    _verified.clear()
                _verified[(digest, producer.key_hash)] = name
            return name
    return None


def producer_name(
    state: Annotated[AppState, Depends(app_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    header_key: Annotated[str | None, Security(api_key)],
) -> str:
    """FastAPI dependency: the calling producer's name.

    Raises:
        IntakeError: 401 when no key is sent or the key is not a configured producer's.
    """
    key = credentials.credentials if credentials else header_key
    if not key:
        raise IntakeError(
            401, [("authorization", "send an API key: Authorization: Bearer <key>, or X-API-Key")]
        )
    name = producer_for(state.settings.web.producers, key)
    if name is None:
        raise IntakeError(401, [("authorization", "unknown API key")])
    return name
