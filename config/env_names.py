"""Which ``ORDERCMD_*`` environment variables are settings: a misspelt one is an error, not a no-op.

A name is walked down the settings model one ``__`` part at a time (``ORDERCMD_WEB__OPERATORS__
ALICE__ROLE``: field ``web``, field ``operators``, any key ``alice``, field ``role``); the first
part that names nothing is reported with the nearest valid name (difflib).
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

PREFIX = "ORDERCMD_"
DELIMITER = "__"
# Variables ordercmd reads that are not fields of Settings: the TOML file's path, the embedded
# Redis's data directory, `ordercmd bulk --max-bytes`, examples/publish_events.py's API key.
NOT_SETTINGS = frozenset({"CONFIG", "DATA_DIR", "BULK_MAX_BYTES", "API_KEY"})


def unknown_variables(environ: Mapping[str, str], model: type[BaseModel]) -> list[str]:
    """One message per ``ORDERCMD_*`` variable of ``environ`` that is not a setting of ``model``.

    Args:
        environ: the environment (names compared case-insensitively, as pydantic-settings does).
        model: the settings class.

    Returns:
        ``"ORDERCMD_REDIS_ULR is not a setting: did you mean ORDERCMD_REDIS_URL?"`` lines.
    """
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper.removeprefix(PREFIX) in NOT_SETTINGS:
            continue
        parts = upper.removeprefix(PREFIX).lower().split(DELIMITER)
        problem = _walk(parts, _fields(model) or {}, [])
        if problem:
            problems.append(f"{name} is not a setting: {problem}")
    return problems


def _walk(parts: list[str], fields: dict[str, Any], done: list[str]) -> str | None:
    """Why ``parts`` names no setting below ``done`` (whose fields are ``fields``), or None."""
    head, rest = parts[0], parts[1:]
    if head not in fields:
        extra = NOT_SETTINGS if not done else ()
        return _nearest([*done, head], [*(_name([*done, f]) for f in fields), *extra])
    if not rest:
        return None  # a value, or a whole model / dict as JSON
    annotation = fields[head]
    sub = _fields(annotation)
    if sub is not None:
        return _walk(rest, sub, [*done, head])
    value = _dict_value(annotation)
    if value is None:
        return f"{_name([*done, head])} takes no sub-settings"
    if len(rest) == 1:
        return None  # one entry as JSON
    entry = _fields(value)
    if entry is None:
        return f"{_name([*done, head, rest[0]])} takes no sub-settings"
    return _walk(rest[1:], entry, [*done, head, rest[0]])


def _nearest(given: list[str], candidates: Iterable[str]) -> str:
    """``did you mean <name>?``, compared without the shared ``ORDERCMD_`` prefix."""
    names = {c.removeprefix(PREFIX): c if c.startswith(PREFIX) else PREFIX + c for c in candidates}
    wanted = _name(given).removeprefix(PREFIX)
    match = difflib.get_close_matches(wanted, sorted(names), n=1, cutoff=0.6)
    if match:
        return f"did you mean {names[match[0]]}?"
    return "known here: " + ", ".join(sorted(names.values()))


def _name(parts: list[str]) -> str:
    return PREFIX + DELIMITER.join(parts).upper()


def _unwrap(annotation: Any) -> list[Any]:
    """The members of an annotation: ``Annotated`` stripped, unions and ``None`` split."""
    if get_origin(annotation) is Annotated:
        return _unwrap(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _unwrap(arg)]
    return [] if annotation is type(None) else [annotation]


def _fields(annotation: Any) -> dict[str, Any] | None:
    """The fields of a model (or of a union of models, merged); None when it is no model."""
    models = [m for m in _unwrap(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
    if not models:
        return None
    return {name: f.annotation for m in models for name, f in m.model_fields.items()}


def _dict_value(annotation: Any) -> Any | None:
    """The value type of a ``dict[str, V]`` annotation; None when it is no dict."""
    for member in _unwrap(annotation):
        if get_origin(member) is dict:
            return get_args(member)[1]
    return None
