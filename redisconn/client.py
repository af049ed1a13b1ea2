"""The one factory for Redis clients, and checks of the servers they connect to."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from redisconn.packing import RespPacker

TIMEOUT_S = 5.0  # the longest one store call may take, retries included (ORDERCMD_STORE_TIMEOUT_S)
RETRIES = 1  # redis-py re-sends a whole command on retry: ours are idempotent, keep it to a blip
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.05, 0.2  # jittered pause before a retry
# A timeout is never retried: redis-py nests its retries (command, connect, health-check PING),
# so a paused server would be waited on 2 x 2 x 2 times. A refused or reset connection fails
# fast and is retried; one timeout (the socket's, this share of the bound) ends the call.
TIMEOUT_SHARE = 0.7
HEALTH_CHECK_INTERVAL_S = 30  # PING a pooled connection idle this long before reusing it
_PING = b"*1\r\n$4\r\nPING\r\n"


def per_try_timeout_s(timeout_s: float, retries: int) -> float:
    """The socket timeout that keeps ``retries + 1`` timed-out tries within ``timeout_s``."""
    return max(0.05, (timeout_s - retries * BACKOFF_CAP_S) / (retries + 1))


def redis_client(url: str, *, timeout_s: float = TIMEOUT_S, retries: int = RETRIES) -> redis.Redis:
    """A Redis client for ``url`` with ordercmd's connection policy.

    RESP2 is explicit (kombu accepts redis-py versions whose default differs), replies are
    decoded to ``str``, dead peers are noticed through timeouts, TCP keepalive and a health
    check, and a refused or dropped connection is retried at most ``retries`` times with
    jittered backoff. A stopped, paused or unreachable server fails a call within
    ``timeout_s``.

    Args:
        url: ``redis://``, ``rediss://`` or ``unix://`` URL.
        timeout_s: how long one call may take; the socket connect and read timeout is
            ``TIMEOUT_SHARE`` of it, the rest is for fast retries.
        retries: retries after a connection error (not after a timeout); 0 for probes.

    Returns:
        A client; connections are opened lazily.
    """
    options: dict[str, object] = {}
    if not url.startswith("unix:"):
        options["socket_keepalive"] = True  # TCP only
    socket_s = timeout_s * TIMEOUT_SHARE if retries else timeout_s
    backoff = ExponentialWithJitterBackoff(base=BACKOFF_BASE_S, cap=BACKOFF_CAP_S)
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        protocol=2,
        socket_timeout=socket_s,
        socket_connect_timeout=socket_s,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        retry=Retry(backoff, retries, supported_errors=(redis.ConnectionError,)),
        command_packer=RespPacker(),
        **options,
    )


def maxmemory_policy(client: redis.Redis) -> str | None:
    """The server's ``maxmemory-policy``; None when neither CONFIG GET nor INFO tells."""
    settings = _read_settings(client)
    return settings[0] if settings else None


def evicted_keys(client: redis.Redis) -> int | None:
    """How many keys the server has evicted since it started (``INFO stats``).

    Returns:
        The count; None when the server refuses ``INFO`` (some managed services).

    Raises:
        redis.ConnectionError: the server did not answer (as redis.TimeoutError too).
    """
    try:
        return int(client.info("stats").get("evicted_keys", 0))
    except redis.ResponseError:
        return None


def check_redis_config(client: redis.Redis) -> list[str]:
    """Warnings about server settings that put commands at risk; empty when all is well.

    Redis must not evict keys (``maxmemory-policy noeviction``) and must persist (AOF, or at
    least RDB snapshots). Servers that refuse ``CONFIG GET`` (managed services) are checked
    through ``INFO`` instead, and a server that refuses both yields one warning saying so.

    Args:
        client: a client of the server to check.

    Returns:
        One human-readable line per problem.
    """
    settings = _read_settings(client)
    if settings is None:
        return [
            "could not read the Redis configuration (CONFIG GET and INFO refused): make sure "
            "it uses maxmemory-policy noeviction and AOF persistence"
        ]
    policy, aof, snapshots = settings
    warnings = []
    if policy and policy != "noeviction":
        warnings.append(
            f"Redis maxmemory-policy is {policy!r}: it may evict commands under memory "
            "pressure; set it to 'noeviction'"
        )
    if not aof and snapshots is False:
        warnings.append(
            "Redis persistence is off (appendonly no, no save points): a restart loses every "
            "command; set 'appendonly yes' and 'appendfsync everysec'"
        )
    elif not aof:
        warnings.append(
            "Redis AOF is off: a crash may lose recent commands; set 'appendonly yes' and "
            "'appendfsync everysec'"
        )
    return warnings


def _read_settings(client: redis.Redis) -> tuple[str, bool, bool | None] | None:
    """``(maxmemory-policy, AOF on, RDB save points set or None if unknown)``, or None."""
    try:
        config = client.config_get("maxmemory-policy", "appendonly", "save")
        return (
            config.get("maxmemory-policy") or "",
            config.get("appendonly") == "yes",
            bool((config.get("save") or "").strip()),
        )
    except redis.ResponseError:
        pass  # managed services disable CONFIG; INFO shows all but the snapshot schedule
    try:
        info: dict[str, object] = client.info("memory") | client.info("persistence")
    except redis.ResponseError:
        return None
    return str(info.get("maxmemory_policy", "")), str(info.get("aof_enabled")) == "1", None


def ping_address(host: str, port: int, *, timeout_s: float = 0.5) -> bool:
    """Whether a Redis server that needs no password answers ``PING`` at ``host:port``.

    A raw socket, not a client: a listener that is not Redis may never answer the client's
    handshake, and this must give up fast.

    Args:
        host: address to connect to.
        port: TCP port.
        timeout_s: connect and read timeout.

    Returns:
        True when the reply is ``+PONG``; False on refusal, timeout or any other reply.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(_PING)
            return sock.recv(7).startswith(b"+PONG")
    except OSError:
        return False


def redact_url(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***`` (for logs and messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}"))
