"""Settings of the web app: operators and their roles, producers' API keys, cookies, limits.

Secrets are stored only as argon2 hashes (``ordercmd hash-secret`` makes one)::

    [web.operators.alice]
    role = "operator"
    password_hash = "$argon2id$..."

    [web.producers.shop-events]
    key_hash = "$argon2id$..."
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Operator(BaseModel):
    """Someone who signs in to the dashboard (password) or calls the operator API (token)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["viewer", "operator"] = "viewer"
    password_hash: str | None = None
    token_hash: str | None = None


class ProducerKey(BaseModel):
    """A producer allowed to submit commands over HTTP."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_hash: str


class WebSettings(BaseModel):
    """Everything ``ordercmd serve`` needs beyond the store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    session_secret: SecretStr | None = None  # None: a random one per process (sign-ins reset)
    secure_cookies: bool = True  # False only for plain-HTTP local use (the demo)
    operators: dict[str, Operator] = Field(default_factory=dict)
    producers: dict[str, ProducerKey] = Field(default_factory=dict)
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    sign_in_attempts_per_minute: int = Field(default=5, gt=0)
