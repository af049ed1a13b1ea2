"""Turns raw input into envelopes at the door, or refuses it naming each bad field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from config.settings import Settings
from providers.errors import InvalidSubmission
from schemas import COMMAND_ADAPTER, AnyCommand, CommandEnvelope, derived_key


def problems_of(exc: ValidationError, *, skip: int = 0) -> list[tuple[str, str]]:
    """``(field path, reason)`` pairs of a pydantic error, without union-tag noise.

    Args:
        exc: the validation error.
        skip: leading path parts to drop (the union tag pydantic puts first).
    """
    problems = []
    for error in exc.errors():
        parts = [str(p) for p in error["loc"][skip:] if p not in _UNION_TAGS]
        reason = str(error["msg"]).removeprefix("Value error, ")
        problems.append((".".join(parts) or "command", reason))
    return problems


_UNION_TAGS = {"cancel", "update", "refund", "backd", "shoplazza", "fastpod"}


def to_command(data: AnyCommand | Mapping[str, Any]) -> AnyCommand:
    """A command model from a model or a mapping.

    Raises:
        InvalidSubmission: the input is not a valid command.
    """
    if not isinstance(data, Mapping):
        return data
    try:
        return COMMAND_ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        raise InvalidSubmission(problems_of(exc)) from None


def check_account(command: AnyCommand, settings: Settings) -> None:
    """Refuse a command whose account is unknown or belongs to another provider.

    Raises:
        InvalidSubmission: the account does not fit.
    """
    account = settings.accounts.get(command.account)
    if account is None:
        known = ", ".join(sorted(settings.accounts)) or "none configured"
        raise InvalidSubmission([("account", f"{command.account!r} is not configured ({known})")])
    if account.provider != command.provider:
        raise InvalidSubmission(
            [
                (
                    "account",
                    f"{command.account!r} is a {account.provider} account, not {command.provider}",
                )
            ]
        )


def derived_fingerprint(envelope: CommandEnvelope) -> str:
    """The fingerprint of an envelope whose key ``to_envelope`` derived from its content.

    A derived key is ``content:<fingerprint>``: reading it back saves digesting the content twice.
    """
    return envelope.idempotency_key.removeprefix("content:")


def to_envelope(
    command: AnyCommand,
    *,
    idempotency_key: str | None,
    submitted_at: datetime,
    source: str,
    batch_id: str | None = None,
    producer: str | None = None,
) -> CommandEnvelope:
    """The envelope for ``command``; the key is derived from content when none is given.

    Raises:
        InvalidSubmission: the key, source or batch id is malformed.
    """
    try:
        return CommandEnvelope(
            command=command,
            idempotency_key=derived_key(command) if idempotency_key is None else idempotency_key,
            submitted_at=submitted_at,
            source=source,
            batch_id=batch_id,
            producer=producer,
        )
    except ValidationError as exc:
        raise InvalidSubmission(problems_of(exc)) from None
