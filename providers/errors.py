"""The exception tree: the class of an error decides whether a command retries or dead-letters.

::

    OrderCmdError                    root; never raised directly
    ├── ConfigError                  bad or missing settings; fail at startup
    ├── InvalidSubmission            a command refused at the door; names each bad field
    ├── IdempotencyConflict          the key was admitted before with other content
    ├── StoreUnavailable             Redis did not answer in time; may_have_been_admitted says
    │                                whether a retry must reuse the idempotency key
    └── ProviderError                provider, status_code, provider_code, raw_message
        ├── TransientError           retry later
        │   ├── ProviderUnavailable  5xx, 408, connect/read timeout, connection reset
        │   ├── RateLimited          429; carries retry_after_s; spends no attempt
        │   ├── FenceClosed          the claim's lease cannot cover the request; it was not sent
        │   └── Unprocessable        422 / 409 / 423: read the order first, then retry or give up
        └── PermanentError           retrying cannot help; dead-letters after one read of the
            │                        order (an HTTP refusal may mean "already done"), at once
            │                        for auth, not-found and what was ruled out before sending
            ├── InvalidCommand       400 and other 4xx the provider uses for bad input
            ├── OrderNotFound        404
            ├── NotAllowed           the order's state forbids it (shipped, confirmed, refunded)
            ├── Unsupported          the provider has no such operation (FastPOD refund)
            └── AuthFailed           401 / 403; an operator must fix credentials, then replay
"""

from __future__ import annotations

from schemas import DeadReason


class OrderCmdError(Exception):
    """Something went wrong in ordercmd."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(OrderCmdError):
    """The settings are missing or malformed."""


class InvalidSubmission(OrderCmdError):
    """The command was refused at the door."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems  # (field path, reason)
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))


class IdempotencyConflict(OrderCmdError):
    """The idempotency key was already used for a different command."""

    def __init__(self, key: str, command_id: str) -> None:
        self.key = key
        self.command_id = command_id
        super().__init__(
            f"idempotency_key: {key!r} was already used for a different command ({command_id})"
        )


class StoreUnavailable(OrderCmdError):
    """The command store did not answer in time."""

    def __init__(
        self, message: str = "", *, may_have_been_admitted: bool, retry_after_s: float = 5.0
    ) -> None:
        super().__init__(message)
        self.may_have_been_admitted = may_have_been_admitted
        self.retry_after_s = retry_after_s


class ProviderError(OrderCmdError):
    """A provider call failed."""

    def __init__(
        self,
        message: str = "",
        *,
        provider: str,
        status_code: int | None = None,
        provider_code: str | None = None,
        raw_message: str = "",
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status_code = status_code
        self.provider_code = provider_code
        self.raw_message = raw_message[:500]


class TransientError(ProviderError):
    """The provider could not complete the call now; a later attempt may succeed."""

    ambiguous = False  # True when the mutation may have reached the provider


class ProviderUnavailable(TransientError):
    """The provider is unavailable (5xx, timeout, connection error)."""

    def __init__(self, message: str = "", *, ambiguous: bool = True, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.ambiguous = ambiguous


class FenceClosed(TransientError):
    """The claim's lease cannot cover the request: it was not sent."""


class RateLimited(TransientError):
    """The provider's rate limit was hit (429)."""

    def __init__(self, message: str = "", *, retry_after_s: float | None = None, **kwargs: object):
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after_s = retry_after_s


class Unprocessable(TransientError):
    """The provider could not process the call in the order's current state (422/409/423)."""


class PermanentError(ProviderError):
    """Retrying cannot help; the command goes to the dead-letter queue."""

    reason = DeadReason.REJECTED


class InvalidCommand(PermanentError):
    """The provider refused the request as invalid."""

    reason = DeadReason.INVALID


class OrderNotFound(PermanentError):
    """The provider does not know this order."""

    reason = DeadReason.NOT_FOUND


class NotAllowed(PermanentError):
    """The order's state forbids this operation."""

    reason = DeadReason.REJECTED


class Unsupported(PermanentError):
    """The provider has no such operation for this order."""

    reason = DeadReason.UNSUPPORTED


class AuthFailed(PermanentError):
    """The provider refused the credentials (401/403)."""

    reason = DeadReason.AUTH
