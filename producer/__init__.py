"""Producers: the Python API (``submit``, ``submit_many``); bulk files and HTTP intake later."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import structlog

from config.settings import get_settings
from producer.api import CommandInput, Producer, Submission
from redisconn.guard import check_store
from redisconn.urls import store_url
from worker.app import build_store, publish

log = structlog.get_logger("ordercmd.producer")


@lru_cache(maxsize=1)
def default_producer() -> Producer:
    """A producer on the configured Redis and broker, built once, after checking the store.

    Raises:
        ConfigError: the store evicts keys (unless ``allow_evicting_redis``), or is open under
            ``require_secure_redis``.
        redis.RedisError: the store did not answer.
    """
    settings = get_settings()
    store = build_store(settings)
    for warning in check_store(settings, store.client, store_url(settings)):
        log.warning("redis configuration", warning=warning)
    return Producer(settings, store, publish)


def submit(command: CommandInput, *, idempotency_key: str | None = None) -> Submission:
    """Submit one command with the default producer (see ``Producer.submit``)."""
    return default_producer().submit(command, idempotency_key=idempotency_key)


def submit_many(commands: Iterable[CommandInput], *, source: str = "api") -> list[Submission]:
    """Submit many commands in one round trip (see ``Producer.submit_many``)."""
    return default_producer().submit_many(commands, source=source)


__all__ = ["CommandInput", "Producer", "Submission", "default_producer", "submit", "submit_many"]
