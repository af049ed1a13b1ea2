"""What every entry point checks of its Redis before it starts: it must not evict, nor be open.

An evicting ``maxmemory-policy`` drops admitted commands silently under memory pressure, so it
is refused unless ``allow_evicting_redis`` says otherwise. A Redis reached over the network
without TLS and a password is warned about at every start, and refused under
``require_secure_redis``.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import redis

from config.settings import Settings
from providers.errors import ConfigError
from redisconn.client import check_redis_config, maxmemory_policy, redact_url

NO_EVICTION = "noeviction"
LOCAL_HOSTS = frozenset({"localhost"})


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a safe way to reach Redis, or None (loopback, unix, or TLS + password).

    Args:
        url: a Redis URL (``redis://``, ``rediss://``, ``unix://``).

    Returns:
        A sentence naming the URL (password hidden) and what it lacks.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or _is_loopback(parts.hostname or ""):
        return None
    missing = [
        *(["TLS (rediss://)"] if parts.scheme != "rediss" else []),
        *(["password"] if not parts.password else []),
    ]
    if not missing:
        return None
    return (
        f"Redis at {redact_url(url)} is not on this machine and has no {' and no '.join(missing)}: "
        "anyone on the network path can read or forge commands; use rediss:// with a password "
        "(or an ACL user)"
    )


def _is_loopback(host: str) -> bool:
    if host.lower() in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def eviction_refusal(policy: str) -> str:
    """The error naming the evicting ``policy`` and both ways out."""
    return (
        f"Redis maxmemory-policy is {policy!r}: under memory pressure it deletes keys, and an "
        "admitted command whose record is evicted is lost. Run `redis-cli CONFIG SET "
        "maxmemory-policy noeviction` (and put `maxmemory-policy noeviction` in redis.conf), or "
        "set ORDERCMD_ALLOW_EVICTING_REDIS=true to run on it anyway"
    )


def check_store(settings: Settings, client: redis.Redis, url: str) -> list[str]:
    """Refuse a store that would lose or expose commands; the lesser problems as warnings.

    Args:
        settings: the deployment's settings (``allow_evicting_redis``, ``require_secure_redis``).
        client: a client of the store.
        url: the store's URL (and the broker's, if it is another Redis, is checked too).

    Returns:
        One line per warning (persistence off, an insecure URL, an allowed evicting policy).

    Raises:
        ConfigError: an evicting policy not allowed, or an insecure URL under
            ``require_secure_redis``.
        redis.RedisError: the store did not answer.
    """
    urls = [url] + ([settings.broker_url] if settings.broker_url else [])
    insecure = [problem for u in urls if (problem := url_problem(u))]
    if insecure and settings.require_secure_redis:
        raise ConfigError(insecure[0] + " (refused: require_secure_redis is set)")
    policy = maxmemory_policy(client)
    if policy and policy != NO_EVICTION and not settings.allow_evicting_redis:
        raise ConfigError(eviction_refusal(policy))
    return [*insecure, *check_redis_config(client)]
