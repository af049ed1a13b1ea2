"""One log format for ordercmd's events and every library's records, with secrets redacted.

Services write one JSON object per line; a terminal gets the same fields as readable
``key=value`` lines. Celery's, kombu's and uvicorn's records go through the same processors as
ordercmd's own structlog events, so a worker's log has one format; ordercmd's events are
written by structlog itself, without a standard-library record. httpx and httpcore log every
request at INFO, URL included: they are kept at WARNING.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import Processor

SECRET_NAMES = re.compile(r"secret|token|password|authorization|api_key|access", re.IGNORECASE)
REDACTED = "[redacted]"
HANDLER_NAME = "ordercmd"  # our one root handler: replaced, never stacked, on a second call
QUIET_LOGGERS = ("httpx", "httpcore")  # per-request lines with the provider's URL
# Celery's "Task ... received" and "... succeeded in" lines: ordercmd writes one line per attempt
# (command id, outcome, reason, HTTP status), so these two only come back at DEBUG.
PER_TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")


def redact_secrets(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Blank every field whose name says it holds a credential, at any depth."""
    for name, value in event.items():
        if _names_a_secret(name):
            event[name] = REDACTED
        elif type(value) not in _SCALARS and isinstance(value, MutableMapping):
            redact_secrets(logger, method, value)
    return event


# most fields: no mapping inside, and cheaper to tell so than an ABC's isinstance (13 a line)
_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.lru_cache(maxsize=1024)
def _names_a_secret(name: object) -> bool:
    # events reuse a few dozen field names: the pattern runs once per name, not per line
    return SECRET_NAMES.search(str(name)) is not None


class LineLogger(structlog.WriteLogger):
    """structlog's writer of rendered lines, named for ``add_logger_name``."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


def configure_logging(
    level: str = "INFO", *, stream: TextIO | None = None, as_json: bool | None = None
) -> None:
    """Route structlog and the standard library's root logger to one renderer on ``stream``.

    Args:
        level: the lowest level written, for ordercmd and the libraries alike.
        stream: where lines go (default: stderr as it is now).
        as_json: JSON lines, or readable ones; by default JSON unless ``stream`` is a terminal.
    """
    stream = stream or sys.stderr
    as_json = not stream.isatty() if as_json is None else as_json
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
        structlog.processors.format_exc_info,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    handler = logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # Python's warnings (Celery's root warning) as records too
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    per_task = root.level if root.level <= logging.DEBUG else max(logging.WARNING, root.level)
    for name in PER_TASK_LOGGERS:
        logging.getLogger(name).setLevel(per_task)
    # ordercmd's own events are rendered by structlog and written at once: the standard
    # library's record, handler and formatter cost as much as a claim per logged attempt
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=lambda name="", *_: LineLogger(stream, name),
        cache_logger_on_first_use=True,
    )
