"""Provider adapters behind one ``Protocol``: what other packages may import from ``providers``.

Build a client with ``build_client(account)`` and an adapter with ``build_provider(account,
client)``; the classes of ``providers.errors`` say whether a failure retries or dead-letters.
"""

from providers.accounts import Account, BackdAccount, FastpodAccount, ShoplazzaAccount
from providers.base import OrderProvider
from providers.errors import (
    AuthFailed,
    ConfigError,
    FenceClosed,
    IdempotencyConflict,
    InvalidCommand,
    InvalidSubmission,
    NotAllowed,
    OrderCmdError,
    OrderNotFound,
    PermanentError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StoreUnavailable,
    TransientError,
    Unprocessable,
    Unsupported,
)
from providers.http import (
    Client,
    build_client,
    parse_retry_after,
    provider_message,
    raise_for_provider_response,
    read_retrying,
)
from providers.registry import PROVIDERS, build_provider

__all__ = [
    "PROVIDERS",
    "Account",
    "AuthFailed",
    "BackdAccount",
    "Client",
    "ConfigError",
    "FastpodAccount",
    "FenceClosed",
    "IdempotencyConflict",
    "InvalidCommand",
    "InvalidSubmission",
    "NotAllowed",
    "OrderCmdError",
    "OrderNotFound",
    "OrderProvider",
    "PermanentError",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "ShoplazzaAccount",
    "StoreUnavailable",
    "TransientError",
    "Unprocessable",
    "Unsupported",
    "build_client",
    "build_provider",
    "parse_retry_after",
    "provider_message",
    "raise_for_provider_response",
    "read_retrying",
]
