"""Who is asking: operators from settings, checked by argon2 hash, a bounded number at a time."""

from __future__ import annotations

import contextlib
import secrets
import threading
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from config.web import Operator, WebSettings

_hasher = PasswordHasher()
# Each argon2 verification takes 64 MiB for its run: a cap on how many run at once is what
# keeps the web process's memory bounded however many requests bring a secret to check.
_slots = threading.BoundedSemaphore(2)


@dataclass(frozen=True)
class Principal:
    """A signed-in operator; only the ``operator`` role may act, ``viewer`` only looks."""

    name: str
    role: str

    @property
    def can_act(self) -> bool:
        """Whether this principal may replay, edit or discard."""
        return self.role == "operator"


def limit_hashes(concurrent: int) -> None:
    """Let at most ``concurrent`` argon2 verifications run at once in this process."""
    global _slots
    _slots = threading.BoundedSemaphore(concurrent)


def hash_secret(secret: str) -> str:
    """An argon2id hash of ``secret`` for ``password_hash`` / ``token_hash`` settings."""
    return _hasher.hash(secret)


def verify(hashed: str | None, secret: str) -> bool:
    """Whether ``secret`` matches ``hashed`` (a missing or malformed hash never matches)."""
    with _slots:
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
    """The operator ``name`` if ``password`` is theirs (one argon2 verification either way)."""
    operator = web.operators.get(name)
    if not verify(operator.password_hash if operator else None, password) or operator is None:
        return None
    return Principal(name, operator.role)


def principal_named(web: WebSettings, name: object) -> Principal | None:
    """The operator a session names, if still configured (removing one signs them out)."""
    operator: Operator | None = web.operators.get(name) if isinstance(name, str) else None
    return Principal(str(name), operator.role) if operator else None
