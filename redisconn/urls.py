"""Which Redis the store uses and which broker Celery uses, resolved once per process."""

from __future__ import annotations

from functools import lru_cache

from config.settings import Settings
from redisconn.embedded import resolve_redis_url


@lru_cache(maxsize=1)
def _unconfigured_redis_url() -> str:
    return resolve_redis_url(None).url


def store_url(settings: Settings) -> str:
    """``ORDERCMD_REDIS_URL``; else a Redis on the default port; else the embedded server."""
    return settings.redis_url or _unconfigured_redis_url()


def broker_url(settings: Settings) -> str:
    """``ORDERCMD_BROKER_URL`` (RabbitMQ, another Redis), else the store's Redis."""
    return settings.broker_url or store_url(settings)
