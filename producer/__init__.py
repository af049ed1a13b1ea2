"""Producers: the Python API (``submit``, ``submit_many``); bulk files and HTTP intake later."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from config.settings import get_settings
from producer.api import CommandInput, Producer, Submission
from worker.app import build_store, publish


@lru_cache(maxsize=1)
def default_producer() -> Producer:
    """A producer on the configured Redis and broker, built once."""
    settings = get_settings()
    return Producer(settings, build_store(settings), publish)


def submit(command: CommandInput, *, idempotency_key: str | None = None) -> Submission:
    """Submit one command with the default producer (see ``Producer.submit``)."""
    return default_producer().submit(command, idempotency_key=idempotency_key)


def submit_many(commands: Iterable[CommandInput], *, source: str = "api") -> list[Submission]:
    """Submit many commands in one round trip (see ``Producer.submit_many``)."""
    return default_producer().submit_many(commands, source=source)


__all__ = ["CommandInput", "Producer", "Submission", "default_producer", "submit", "submit_many"]
