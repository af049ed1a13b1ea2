"""Producers' API keys: ``Authorization: Bearer <key>`` or ``X-API-Key``, ``oc_<key id>_<secret>``.

The key id names the one hash to check (``web.credentials``): an unknown key costs no argon2,
and a verified key is remembered, so a producer's requests cost one verification per process.
"""

from __future__ import annotations

from typing import Annotated

import redis
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from providers.errors import StoreUnavailable
from web.credentials import KeyRefused, authenticate
from web.guards import client_address
from web.intake_errors import IntakeError
from web.state import AppState, app_state

KEY_DESCRIPTION = (
    "A producer's API key, oc_<key id>_<secret>; its stored form is web.producers.<name>.key_hash."
)
bearer = HTTPBearer(auto_error=False, scheme_name="ProducerBearer", description=KEY_DESCRIPTION)
api_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="ProducerApiKey", description=KEY_DESCRIPTION
)


def producer_name(
    request: Request,
    state: Annotated[AppState, Depends(app_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    header_key: Annotated[str | None, Security(api_key)],
) -> str:
    """FastAPI dependency: the calling producer's name.

    Raises:
        IntakeError: 401 when no key is sent or the key is not a configured producer's; 429
            when its address or key id is past the limit of wrong keys.
        StoreUnavailable: the store did not answer (answered 503: nothing admitted).
    """
    key = credentials.credentials if credentials else header_key
    if not key:
        raise IntakeError(
            401, [("authorization", "send an API key: Authorization: Bearer <key>, or X-API-Key")]
        )
    try:
        holder = authenticate(state.store.client, state.settings.web, key,
                              client_address(request), {"producer"})  # fmt: skip
    except KeyRefused as exc:
        reason = "unknown API key" if exc.status == 401 else exc.reason
        raise IntakeError(exc.status, [("authorization", reason)]) from None
    except redis.RedisError as exc:  # checking the key's limits comes before any admission
        raise StoreUnavailable(
            f"the command store did not answer ({type(exc).__name__}) while checking the API "
            "key: the command was not admitted; retry later",
            may_have_been_admitted=False,
        ) from None
    return holder.name
