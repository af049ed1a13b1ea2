"""Structured JSON logs with secrets redacted, one line per event."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SECRET_NAMES = re.compile(r"secret|token|password|authorization|api_key|access", re.IGNORECASE)
REDACTED = "[redacted]"


def redact_secrets(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Blank every field whose name says it holds a credential, at any depth."""
    for name, value in event.items():
        if SECRET_NAMES.search(str(name)):
            event[name] = REDACTED
        elif isinstance(value, MutableMapping):
            redact_secrets(logger, method, value)
    return event


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr: timestamp, level, logger, event and its fields."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
