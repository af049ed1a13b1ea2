"""Settings of the web app: operators and their roles, producers' API keys, sessions, limits.

Secrets are stored only as argon2 hashes (``ordercmd hash-secret`` makes them). API tokens and
producer keys read ``oc_<key id>_<secret>``; their stored form is the public key id, then the
hash, so a request is checked against one hash only::

    [web.operators.alice]
    role = "operator"
    password_hash = "$argon2id$..."
    token_hash = "oc_3f9a1c2b7d4e5f60$argon2id$..."

    [web.producers.shop-events]
    key_hash = "oc_8e1d0a7c6b5f4e3d$argon2id$..."
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

KEY_PREFIX = "oc"  # tokens and keys read oc_<key id>_<secret>
KEY_ID = re.compile(r"[0-9a-f]{16}")  # the public part: 8 random bytes in hex
KEY = re.compile(rf"{KEY_PREFIX}_(?P<key_id>{KEY_ID.pattern})_[A-Za-z0-9_-]{{16,256}}")
STORED_KEY = re.compile(rf"{KEY_PREFIX}_(?P<key_id>{KEY_ID.pattern})(?P<hash>\$argon2.+)")
NO_KEY_ID = (
    "must be the key id then the hash (oc_<key id>$argon2id$...); keys without a key id are no "
    "longer accepted: make a new key with `ordercmd hash-secret --generate`"
)


def new_key() -> str:
    """A fresh random key: ``oc_``, a public key id, ``_``, 32 random bytes."""
    return f"{KEY_PREFIX}_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"


def stored_form(key: str, hashed: str) -> str:
    """What settings hold for ``key``: its key id, then its argon2 hash."""
    found = KEY.fullmatch(key)
    if found is None:
        raise ValueError("not a key of the form oc_<16 hex digits>_<secret>")
    return f"{KEY_PREFIX}_{found['key_id']}{hashed}"


def key_id_of(stored: str) -> str:
    """The public key id of a stored key (``oc_<key id>$argon2id$...``)."""
    found = STORED_KEY.fullmatch(stored)
    if found is None:
        raise ValueError(NO_KEY_ID)
    return found["key_id"]


def hash_of(stored: str) -> str:
    """The argon2 hash of a stored key, without its key id."""
    found = STORED_KEY.fullmatch(stored)
    if found is None:
        raise ValueError(NO_KEY_ID)
    return found["hash"]


def _stored_key(value: str | None) -> str | None:
    if value is not None:
        key_id_of(value)
    return value


class Operator(BaseModel):
    """Someone who signs in to the dashboard (password) or calls the operator API (token)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["viewer", "operator"] = "viewer"
    password_hash: str | None = None
    token_hash: str | None = None  # oc_<key id>$argon2id$...

    _check_token = field_validator("token_hash")(_stored_key)


class ProducerKey(BaseModel):
    """A producer allowed to submit commands over HTTP."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_hash: str  # oc_<key id>$argon2id$...

    _check_key = field_validator("key_hash")(_stored_key)


class SessionLimits(BaseModel):
    """How long a dashboard session lives (OWASP: idle and absolute timeouts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    idle_s: int = Field(default=30 * 60, gt=0)  # signed out after 30 min without a request
    absolute_s: int = Field(default=8 * 3600, gt=0)  # and after 8 h whatever happens
    anonymous_idle_s: int = Field(default=15 * 60, gt=0)  # a sign-in form's session (its CSRF)
    anonymous_per_address: int = Field(default=100, gt=0)  # new ones per anonymous_idle_s


class SignInLimits(BaseModel):
    """Failed sign-ins: a growing delay, then a lockout of the account; a cap per address."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lockout_after: int = Field(default=5, gt=0)  # failures within window_s that lock the name
    window_s: int = Field(default=15 * 60, gt=0)
    lockout_s: int = Field(default=15 * 60, gt=0)
    first_delay_s: float = Field(default=1.0, ge=0)  # doubles with each failure
    max_delay_s: float = Field(default=30.0, ge=0)
    failures_per_address: int = Field(default=20, gt=0)  # per window_s, any names


class KeyLimits(BaseModel):
    """Wrong API tokens and producer keys: caps per address and per key id, and hash work."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    failures_per_address: int = Field(default=20, gt=0)  # per window_s
    failures_per_key_id: int = Field(default=10, gt=0)  # per window_s; a verified key still works
    window_s: int = Field(default=5 * 60, gt=0)
    concurrent_hashes: int = Field(default=2, gt=0)  # argon2 runs at once (64 MiB each)


class BulkUploads(BaseModel):
    """Bulk files uploaded on the dashboard: their size limit, and where they wait for a start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_bytes: int = Field(default=50 * 1024 * 1024, gt=0)  # bigger uploads are refused (413)
    drafts_dir: Path | None = None  # None: ordercmd-bulk-drafts in the system's temp directory
    draft_max_age_s: int = Field(default=24 * 3600, gt=0)  # uploads never started are removed


class WebSettings(BaseModel):
    """Everything ``ordercmd serve`` needs beyond the store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    session_secret: SecretStr | None = None  # unused: sessions live in Redis (kept so files load)
    secure_cookies: bool = True  # False only for plain-HTTP local use (the demo)
    operators: dict[str, Operator] = Field(default_factory=dict)
    producers: dict[str, ProducerKey] = Field(default_factory=dict)
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    session: SessionLimits = Field(default_factory=SessionLimits)
    sign_in: SignInLimits = Field(default_factory=SignInLimits)
    keys: KeyLimits = Field(default_factory=KeyLimits)
    bulk: BulkUploads = Field(default_factory=BulkUploads)

    @model_validator(mode="after")
    def _key_ids_are_unique(self) -> WebSettings:
        stored = [o.token_hash for o in self.operators.values() if o.token_hash]
        stored += [p.key_hash for p in self.producers.values()]
        ids = [key_id_of(value) for value in stored]
        if len(set(ids)) != len(ids):
            raise ValueError("two API tokens or keys share a key id: generate one of them anew")
        return self
