"""Who is asking: operators from settings, checked by argon2 hash (password or API token)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from functools import cache
from typing import Any

import redis
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from config.web import Operator, WebSettings
from store import keys

log = structlog.get_logger("ordercmd.web")

SESSION_MAX_AGE_S = 12 * 3600  # a signed-in browser is asked again after a working day
_hasher = PasswordHasher()
_verified_tokens: dict[tuple[str, str], str] = {}  # (token digest, token hash) -> operator


@dataclass(frozen=True)
class Principal:
    """A signed-in operator; only the ``operator`` role may act, ``viewer`` only looks."""

    name: str
    role: str

    @property
    def can_act(self) -> bool:
        """Whether this principal may replay, edit or discard."""
        return self.role == "operator"


def session_options(web: WebSettings) -> dict[str, Any]:
    """Keyword arguments of Starlette's ``SessionMiddleware`` for these settings."""
    secret = web.session_secret.get_secret_value() if web.session_secret else ""
    if not secret:
        log.warning("web.session_secret is not set: using a random one; sign-ins end on restart")
        secret = secrets.token_urlsafe(32)
    return {
        "secret_key": secret,
        "session_cookie": "ordercmd_session",
        "max_age": SESSION_MAX_AGE_S,
        "same_site": "strict",
        "https_only": web.secure_cookies,
    }


def hash_secret(secret: str) -> str:
    """An argon2id hash of ``secret`` for ``password_hash`` / ``token_hash`` settings."""
    return _hasher.hash(secret)


def verify(hashed: str | None, secret: str) -> bool:
    """Whether ``secret`` matches ``hashed`` (a missing or malformed hash never matches)."""
    if not hashed:
        _hasher_work(secret)
        return False
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def _hasher_work(secret: str) -> None:
    """Spend a verification's time on an unknown user, so timing does not tell who exists."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_dummy_hash(), secret)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def check_password(web: WebSettings, name: str, password: str) -> Principal | None:
    """The operator ``name`` if ``password`` is theirs."""
    operator = web.operators.get(name)
    if not verify(operator.password_hash if operator else None, password) or operator is None:
        return None
    return Principal(name, operator.role)


def check_token(web: WebSettings, token: str) -> Principal | None:
    """The operator whose API token this is; a verified token is remembered in memory."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    for name, operator in sorted(web.operators.items()):
        if not operator.token_hash:
            continue
        cached = _verified_tokens.get((digest, operator.token_hash))
        if cached == name or (cached is None and verify(operator.token_hash, token)):
            if len(_verified_tokens) > 1000:
                _verified_tokens.clear()
            _verified_tokens[(digest, operator.token_hash)] = name
            return Principal(name, operator.role)
    return None


def principal_named(web: WebSettings, name: object) -> Principal | None:
    """The operator a session names, if still configured (removing one signs them out)."""
    operator: Operator | None = web.operators.get(name) if isinstance(name, str) else None
    return Principal(str(name), operator.role) if operator else None


def sign_in_key(name: str, address: str) -> str:
    """String: sign-in attempts of one user from one address this minute."""
    digest = hashlib.sha256(f"{name}\n{address}".encode()).hexdigest()[:32]
    return keys.sign_in_attempts(digest)


def sign_in_allowed(client: redis.Redis, name: str, address: str, per_minute: int) -> bool:
    """Count one attempt; False once ``per_minute`` attempts were made within a minute."""
    pipe = client.pipeline(transaction=True)
    pipe.incr(sign_in_key(name, address))
    pipe.expire(sign_in_key(name, address), 60, nx=True)
    attempts, _ = pipe.execute()
    return int(attempts) <= per_minute
