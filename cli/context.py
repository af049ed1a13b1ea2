"""What every CLI command needs: settings, the resolved Redis, the store; errors made readable."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import click
import redis

from config.settings import Settings, get_settings, load_settings
from providers.errors import OrderCmdError, StoreUnavailable
from redisconn.client import redact_url, redis_client
from redisconn.embedded import RedisSource, resolve_redis_url
from redisconn.guard import check_store
from store.command_store import CommandStore

P = ParamSpec("P")
R = TypeVar("R")


def readable_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn ordercmd's errors into a one-line CLI error (exit 1) instead of a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except OrderCmdError as exc:
            raise click.ClickException(str(exc)) from None
        except redis.RedisError as exc:
            raise click.ClickException(f"Redis: {type(exc).__name__}: {exc}") from None

    return wrapper


def settings_with_redis() -> Settings:
    """The settings, with the Redis URL resolved (a local or embedded server when unset).

    The resolved URL is put in ``ORDERCMD_REDIS_URL`` so worker processes started from here,
    and Celery's own configuration, use the same server.
    """
    settings = load_settings()
    if not settings.redis_url:
        resolved = resolve_redis_url(None)
        if resolved.source is RedisSource.EMBEDDED:
            click.secho(resolved.message, err=True, dim=True)
        os.environ["ORDERCMD_REDIS_URL"] = resolved.url
        get_settings.cache_clear()
        settings = get_settings()
    checked_store(settings)
    return settings


def checked_store(settings: Settings) -> None:
    """Refuse a store that evicts or, under ``require_secure_redis``, is open; print warnings.

    Raises:
        ConfigError: the store must not be used (the message names the fix).
        StoreUnavailable: the store did not answer (nothing was admitted).
    """
    assert settings.redis_url is not None
    client = redis_client(settings.redis_url, timeout_s=settings.store_timeout_s)
    try:
        warnings = check_store(settings, client, settings.redis_url)
    except redis.RedisError as exc:
        raise StoreUnavailable(
            f"the command store (Redis at {redact_url(settings.redis_url)}) did not answer within "
            f"{settings.store_timeout_s:g} s ({type(exc).__name__}): nothing was sent to it "
            "(nothing admitted); try again when it is back",
            may_have_been_admitted=False,
        ) from None
    finally:
        client.close()
    for warning in warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)


@contextmanager
def opened_store() -> Iterator[tuple[Settings, CommandStore]]:
    """The settings and the command store, closed afterwards."""
    from worker.app import build_store  # Celery loads when a command runs, not for --help

    settings = settings_with_redis()
    store = build_store(settings)
    try:
        yield settings, store
    finally:
        store.client.close()
