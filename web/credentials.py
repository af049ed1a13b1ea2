"""API tokens and producer keys, ``oc_<key id>_<secret>``: found by key id, verified once.

A request costs at most one argon2 verification: the key id names the one hash to check, and an
unknown or malformed key is refused with no hash work. A key verified once is remembered by its
SHA-256 (one entry per configured key), so its holder's next requests cost no argon2 at all.
Wrong keys are counted per address and per key id; past either limit, a key is refused
unverified for the rest of the window (a remembered key still passes).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

import redis
import structlog

from config.web import KEY, WebSettings, hash_of, key_id_of
from store import keys
from web.auth import verify
from web.throttle import digest, give_back, take

log = structlog.get_logger("ordercmd.web")

Kind = Literal["operator", "producer"]

_verified: dict[tuple[str, str], str] = {}  # (key id, stored hash) -> SHA-256 of the key


@dataclass(frozen=True)
class Holder:
    """Whose key it is: an operator's API token or a producer's key."""

    kind: Kind
    name: str
    stored: str  # oc_<key id>$argon2id$...


class KeyRefused(Exception):
    """A key that is not accepted: 401 (wrong or unknown) or 429 (too many wrong ones)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def holder_of(web: WebSettings, key_id: str, kinds: set[Kind]) -> Holder | None:
    """The operator or producer whose key has this id (no hash work)."""
    if "operator" in kinds:
        for name, operator in web.operators.items():
            if operator.token_hash and key_id_of(operator.token_hash) == key_id:
                return Holder("operator", name, operator.token_hash)
    if "producer" in kinds:
        for name, producer in web.producers.items():
            if key_id_of(producer.key_hash) == key_id:
                return Holder("producer", name, producer.key_hash)
    return None


def authenticate(
    client: redis.Redis, web: WebSettings, key: str, address: str, kinds: set[Kind]
) -> Holder:
    """The holder of ``key`` among ``kinds``.

    Raises:
        KeyRefused: 401 for a malformed, unknown or wrong key; 429 past a failure limit.
    """
    limits = web.keys
    by_address = keys.limit_counter("key-addr", digest(address))
    found = KEY.fullmatch(key)
    holder = holder_of(web, found["key_id"], kinds) if found else None
    if found is None or holder is None:
        within = take(client, by_address, limits.failures_per_address, limits.window_s)
        raise _refused(address, None, "unknown key", 401 if within else 429)
    key_id = found["key_id"]
    key_digest = hashlib.sha256(key.encode()).hexdigest()
    if hmac.compare_digest(_verified.get((key_id, holder.stored), ""), key_digest):
        return holder
    if not take(client, by_address, limits.failures_per_address, limits.window_s):
        raise _refused(address, key_id, "too many wrong keys from this address", 429)
    by_id = keys.limit_counter("key-id", digest(key_id))
    if not take(client, by_id, limits.failures_per_key_id, limits.window_s):
        raise _refused(address, key_id, "too many wrong keys with this key id", 429)
    if not verify(hash_of(holder.stored), key):
        raise _refused(address, key_id, "wrong key", 401)
    give_back(client, by_address)
    give_back(client, by_id)
    _verified[(key_id, holder.stored)] = key_digest
    return holder


def _refused(address: str, key_id: str | None, reason: str, status: int) -> KeyRefused:
    """Log a refused key (never the key itself) and make its exception."""
    log.warning("key_refused", key_id=key_id, address=address, reason=reason)
    if status == 429:
        return KeyRefused(429, "too many wrong keys: wait and try again")
    return KeyRefused(401, "a valid key is needed")
